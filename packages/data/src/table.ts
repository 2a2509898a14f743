/**
 * Small Arrow tables for run directories and analysis results (CONTRACTS.md §3): a typed helper
 * over apache-arrow so analysis, report and dashboard code stays short. Whole tables are held
 * in memory; activation datasets use openDataset instead.
 */
import * as fs from 'node:fs';
import {
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  makeData,
  Table,
  Type,
  Utf8,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { checkIpcBytes, oneLine, typeName } from './_ipc.js';
import { InputError, VsaeError } from './errors.js';
import type { ColumnType, ColumnValue, TableColumnInput, TableData } from './types.js';

const ARROW_TYPE: Record<ColumnType, () => DataType> = {
  int32: () => new Int32(),
  int64: () => new Int64(),
  float32: () => new Float32(),
  float64: () => new Float64(),
  bool: () => new Bool(),
  utf8: () => new Utf8(),
  'list<int32>': () => new List(new Field('item', new Int32(), true)),
  'list<float32>': () => new List(new Field('item', new Float32(), true)),
  'list<utf8>': () => new List(new Field('item', new Utf8(), true)),
};

function toVector(name: string, col: TableColumnInput): Vector {
  // Typed arrays without nulls become vectors over the same memory.
  if (col instanceof Int32Array || col instanceof Float32Array || col instanceof Float64Array || col instanceof BigInt64Array) return makeVector(col);
  const { type, values } = col as { type: ColumnType; values: ArrayLike<unknown> };
  const make = ARROW_TYPE[type];
  if (!make) throw new VsaeError(`cannot write column "${name}": unknown type ${JSON.stringify(type)} (use one of ${Object.keys(ARROW_TYPE).join(', ')})`);
  let vals: unknown[] = Array.from(values);
  if (type === 'int64') vals = vals.map((v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? v : BigInt(v as number)));
  if (type.startsWith('list<')) vals = vals.map((v) => (v === null || v === undefined ? null : Array.from(v as ArrayLike<unknown>)));
  return vectorFromArray(vals, make());
}

/** Builds an Arrow table from named columns (all the same length) and schema metadata. */
export function makeTable(columns: Record<string, TableColumnInput>, metadata: Record<string, string> = {}): Table {
  const entries = Object.entries(columns).map(([name, col]) => [name, toVector(name, col)] as const);
  const lengths = new Set(entries.map(([, v]) => v.length));
  if (lengths.size > 1) {
    throw new VsaeError(`cannot write a table whose columns differ in length (${entries.map(([n, v]) => `${n}: ${v.length}`).join(', ')})`);
  }
  const t = new Table(Object.fromEntries(entries));
  const schema = new Schema(t.schema.fields.map((f) => new Field(f.name, f.type, true)), new Map(Object.entries(metadata)));
  const batches = t.batches.map(
    (b) => new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: b.numRows, nullCount: 0, children: b.data.children })),
  );
  return new Table(schema, batches);
}

/** Writes a small Arrow IPC file atomically. */
export async function writeTable(file: string, columns: Record<string, TableColumnInput>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(file, tableToIPC(makeTable(columns, metadata), 'file'));
}

export function writeTableSync(file: string, columns: Record<string, TableColumnInput>, metadata?: Record<string, string>): void {
  writeFileAtomicSync(file, tableToIPC(makeTable(columns, metadata), 'file'));
}

/** The ColumnType of an Arrow type, or its Arrow name when it is not one of ours. */
function columnTypeOf(t: DataType): string {
  switch (t.typeId) {
    case Type.Int: { const bits = (t as unknown as { bitWidth: number }).bitWidth; return bits === 64 ? 'int64' : bits === 32 ? 'int32' : typeName(t); }
    case Type.Float: return (t as Float32).precision === 2 ? 'float64' : (t as Float32).precision === 1 ? 'float32' : typeName(t);
    case Type.Bool: return 'bool';
    case Type.Utf8: case Type.LargeUtf8: return 'utf8';
    case Type.List: {
      const child = (t as List).children[0];
      if (!child) return typeName(t);
      const inner = columnTypeOf(child.type);
      return `list<${inner}>`;
    }
    case Type.Dictionary: return columnTypeOf((t as unknown as { dictionary: DataType }).dictionary);
    default: return typeName(t);
  }
}

function jsValue(v: unknown): ColumnValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v && typeof (v as Vector).toArray === 'function') return Array.from((v as Vector).toArray() as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? Number(x) : x)) as number[] | string[];
  return String(v) as ColumnValue;
}

/** The child values a list column holds (undefined for other columns). */
function listValues(v: Vector): number | undefined {
  return v.type.typeId === Type.List ? v.data.reduce((a, d) => a + (d.children[0]?.length ?? 0), 0) : undefined;
}

class TableDataImpl implements TableData {
  readonly numRows: number;
  readonly metadata: Record<string, string>;
  readonly fields: TableData['fields'];
  constructor(readonly path: string, readonly table: Table) {
    this.numRows = table.numRows;
    this.metadata = Object.fromEntries(table.schema.metadata);
    this.fields = table.schema.fields.map((f) => ({ name: f.name, type: columnTypeOf(f.type), nullable: f.nullable }));
  }

  has(name: string): boolean {
    return this.table.schema.fields.some((f) => f.name === name);
  }

  /** Runs a read over a column; values that apache-arrow cannot decode become an InputError. */
  private guard<T>(name: string, read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(this.path, `column "${name}" cannot be decoded (${oneLine(e)}); the file is damaged, regenerate it`, { cause: e });
    }
  }

  private vector(name: string): Vector {
    const v = this.guard(name, () => this.table.getChild(name));
    if (!v) throw new InputError(this.path, `has no column "${name}" (it has: ${this.fields.map((f) => f.name).join(', ') || 'none'}); regenerate it with this version of vsae`);
    return v;
  }

  column(name: string): ColumnValue[] {
    const v = this.vector(name);
    return this.guard(name, () => {
      const values = listValues(v);
      const out: ColumnValue[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = this.checkedValue(name, v, i, values);
      return out;
    });
  }

  cell(name: string, row: number): ColumnValue {
    const v = this.vector(name);
    if (!(Number.isInteger(row) && row >= 0 && row < v.length)) throw new RangeError(`${this.path}: row ${row} is outside the table's ${v.length} rows`);
    return this.guard(name, () => this.checkedValue(name, v, row, listValues(v)));
  }

  /**
   * Row i of v as a JS value. A list row is a slice of the child values between two offsets read
   * from the file; a damaged offset could claim billions of values, so each slice is checked
   * against `values`, the values the column holds.
   */
  private checkedValue(name: string, v: Vector, i: number, values: number | undefined): ColumnValue {
    const x = v.get(i) as unknown;
    const n = (x as { length?: unknown } | null)?.length;
    if (values !== undefined && typeof n === 'number' && !(n >= 0 && n <= values)) {
      throw new InputError(this.path, `column "${name}" row ${i} claims a list of ${n} values but the column holds ${values}; the file is damaged, regenerate it`);
    }
    return jsValue(x);
  }

  numbers(name: string): Float64Array {
    const v = this.vector(name);
    const kind = columnTypeOf(v.type);
    if (!['int32', 'int64', 'float32', 'float64', 'bool'].includes(kind)) throw new InputError(this.path, `column "${name}" is ${kind}, not numeric`);
    return this.guard(name, () => {
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = v.get(i) as number | bigint | boolean | null;
        out[i] = x === null ? NaN : Number(x);
      }
      return out;
    });
  }

  strings(name: string): Array<string | null> {
    const v = this.vector(name);
    return this.guard(name, () => {
      const out: Array<string | null> = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = v.get(i) as unknown;
        out[i] = x === null || x === undefined ? null : String(x);
      }
      return out;
    });
  }

  rows(): Array<Record<string, ColumnValue>> {
    const cols = this.fields.map((f) => [f.name, this.column(f.name)] as const);
    return Array.from({ length: this.numRows }, (_, i) => Object.fromEntries(cols.map(([n, c]) => [n, c[i]!])));
  }
}

/** Reads a small Arrow IPC file (or stream) whole. */
export function readTable(file: string): TableData {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file; check the path (was the analysis run?)' : `cannot read it (${(e as Error).message})`, { cause: e });
  }
  checkIpcBytes(file, bytes);
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new InputError(file, `is not a readable Arrow IPC file (${oneLine(e)}); regenerate it`, { cause: e });
  }
  if (table.schema.fields.length === 0 && bytes.byteLength > 0) {
    throw new InputError(file, 'is not an Arrow IPC file (no schema found); regenerate it');
  }
  try {
    return new TableDataImpl(file, table);
  } catch (e) {
    throw new InputError(file, `has a schema that cannot be decoded (${oneLine(e)}); the file is damaged, regenerate it`, { cause: e });
  }
}

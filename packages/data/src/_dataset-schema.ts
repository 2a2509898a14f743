/**
 * The activation-dataset schema (CONTRACTS.md §1): building it for writers, checking it for
 * readers, and mapping `vsae:` schema metadata to and from DatasetMeta.
 */
import * as path from 'node:path';
import { Field, FixedSizeList, Float32, Int32, Int64, Schema, Type, type DataType } from 'apache-arrow';
import { InputError, VsaeError } from './errors.js';
import { typeName } from './_ipc.js';
import type { DatasetMeta, DatasetWriterOptions } from './types.js';

export const FORMAT_VERSION = '1';
export type ColumnName = 'act' | 'seq' | 'pos' | 'token' | 'features';
export const OPTIONAL_COLUMNS = ['seq', 'pos', 'token', 'features'] as const;

/** Where each contract column sits in a schema, and its widths. */
export interface DatasetLayout {
  dIn: number;
  nFeatures: number | undefined;
  /** Top-level field index of each column present. */
  index: Partial<Record<ColumnName, number>>;
  /** List columns stored as float64 (NumPy's default), converted to float32 as they are read. */
  float64: { act: boolean; features: boolean };
}

const isF32List = (t: DataType): t is FixedSizeList<Float32> =>
  t.typeId === Type.FixedSizeList && (t as FixedSizeList).children[0]?.type.typeId === Type.Float &&
  ((t as FixedSizeList).children[0]!.type as Float32).precision === 1;
/** FixedSizeList<Float64>: accepted for act and features, and read as float32. */
const isF64List = (t: DataType): t is FixedSizeList =>
  t.typeId === Type.FixedSizeList && (t as FixedSizeList).children[0]?.type.typeId === Type.Float &&
  ((t as FixedSizeList).children[0]!.type as Float32).precision === 2;
const isFloatList = (t: DataType): t is FixedSizeList => isF32List(t) || isF64List(t);

/** Files already told about (one note per file, not per shard read or per pass). */
const noted = new Set<string>();
function noteFloat64(file: string, cols: string[]): void {
  if (cols.length === 0 || noted.has(file)) return;
  noted.add(file);
  process.stderr.write(`vsae: note: ${file === '-' ? 'stdin' : file}: ${cols.map((c) => `"${c}"`).join(' and ')} ${cols.length > 1 ? 'are' : 'is'} float64; converted to float32 as it is read (write float32 to halve the file and skip the conversion)\n`);
}

const isInt = (t: DataType, bits: number): boolean =>
  t.typeId === Type.Int && (t as Int32).bitWidth === bits && (t as Int32).isSigned;

/** Checks a schema against the contract; `file` names the file in errors. */
export function checkDatasetSchema(file: string, schema: Schema): DatasetLayout {
  const index: Partial<Record<ColumnName, number>> = {};
  schema.fields.forEach((f, i) => {
    if ((['act', ...OPTIONAL_COLUMNS] as string[]).includes(f.name) && index[f.name as ColumnName] === undefined) index[f.name as ColumnName] = i;
  });
  const actI = index.act;
  if (actI === undefined) {
    const names = schema.fields.map((f) => f.name).join(', ') || 'none';
    throw new InputError(file, `has no "act" column (its columns: ${names}); an activation dataset needs act as FixedSizeList<Float32>[d_in]`);
  }
  const act = schema.fields[actI]!.type;
  if (!isFloatList(act)) {
    throw new InputError(file, `column "act" is ${typeName(act)}, but it must be FixedSizeList<Float32>[d_in] (one fixed-width float32 vector per row; float64 is converted)`);
  }
  const dIn = act.listSize;
  if (!Number.isSafeInteger(dIn) || dIn <= 0) throw new InputError(file, `column "act" has vectors of width ${dIn}; the width must be a positive integer, the file is damaged`);
  const declared = schema.metadata.get('vsae:d_in');
  if (declared !== undefined && Number(declared) !== dIn) {
    throw new InputError(file, `says vsae:d_in=${declared} in its metadata but its act vectors have ${dIn} values; the file is inconsistent, regenerate it`);
  }
  const want: Record<(typeof OPTIONAL_COLUMNS)[number], [string, (t: DataType) => boolean]> = {
    seq: ['Int64', (t) => isInt(t, 64)],
    pos: ['Int32', (t) => isInt(t, 32)],
    token: ['Int32', (t) => isInt(t, 32)],
    features: ['FixedSizeList<Float32>', isFloatList],
  };
  for (const name of OPTIONAL_COLUMNS) {
    const i = index[name];
    if (i === undefined) continue;
    const t = schema.fields[i]!.type;
    if (!want[name][1](t)) throw new InputError(file, `column "${name}" is ${typeName(t)}, but it must be ${want[name][0]} (see the dataset contract)`);
  }
  const feat = index.features === undefined ? undefined : (schema.fields[index.features]!.type as FixedSizeList).listSize;
  if (feat !== undefined && (!Number.isSafeInteger(feat) || feat <= 0)) throw new InputError(file, `column "features" has vectors of width ${feat}; the width must be a positive integer, the file is damaged`);
  const float64 = { act: isF64List(act), features: index.features !== undefined && isF64List(schema.fields[index.features]!.type) };
  noteFloat64(file, (['act', 'features'] as const).filter((c) => float64[c]));
  return { dIn, nFeatures: feat, index, float64 };
}

/** True when two dataset schemas have the same columns with the same types (metadata aside). */
export function sameColumns(a: Schema, b: Schema): boolean {
  if (a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => {
    const g = b.fields[i]!;
    return f.name === g.name && typeName(f.type) === typeName(g.type);
  });
}

export const describeColumns = (s: Schema): string => s.fields.map((f) => `${f.name}: ${typeName(f.type)}`).join(', ');

function parseIntMeta(file: string, raw: Record<string, string>, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InputError(file, `metadata ${key}=${JSON.stringify(v)} is not an integer; the file is corrupt`);
  return n;
}

/** Decodes schema metadata; `baseDir` is where a relative vsae:ground_truth is resolved from. */
export function metaFromSchema(file: string, schema: Schema, dIn: number, baseDir: string | undefined): DatasetMeta {
  const raw: Record<string, string> = Object.fromEntries(schema.metadata);
  let config: Record<string, unknown> | undefined;
  if (raw['vsae:config'] !== undefined && raw['vsae:config'] !== '') {
    try {
      config = JSON.parse(raw['vsae:config']) as Record<string, unknown>;
    } catch (e) {
      throw new InputError(file, `metadata vsae:config is not valid JSON (${(e as Error).message}); the file is corrupt`, { cause: e });
    }
  }
  const gt = raw['vsae:ground_truth'];
  return {
    source: raw['vsae:source'] ?? 'unknown',
    dIn,
    model: raw['vsae:model'],
    hook: raw['vsae:hook'],
    context: parseIntMeta(file, raw, 'vsae:context'),
    tokenizer: raw['vsae:tokenizer'],
    bos: parseIntMeta(file, raw, 'vsae:bos'),
    config,
    groundTruth: gt === undefined || gt === '' ? undefined : baseDir === undefined || path.isAbsolute(gt) ? gt : path.join(baseDir, gt),
    raw,
  };
}

/**
 * Encodes DatasetMeta as schema metadata. `baseDir` (the dataset's directory, or undefined for
 * stdout) makes vsae:ground_truth relative to the dataset, as the contract asks.
 */
export function metaToSchema(meta: DatasetWriterOptions['meta'], baseDir: string | undefined): Map<string, string> {
  const m = new Map<string, string>(Object.entries(meta.raw ?? {}));
  const set = (k: string, v: string | number | undefined) => {
    if (v !== undefined) m.set(k, String(v));
  };
  m.set('vsae:version', FORMAT_VERSION);
  set('vsae:source', meta.source);
  set('vsae:d_in', meta.dIn);
  set('vsae:model', meta.model);
  set('vsae:hook', meta.hook);
  set('vsae:context', meta.context);
  set('vsae:tokenizer', meta.tokenizer);
  set('vsae:bos', meta.bos);
  if (meta.config !== undefined) m.set('vsae:config', JSON.stringify(meta.config));
  if (meta.groundTruth !== undefined) {
    m.set('vsae:ground_truth', baseDir === undefined ? meta.groundTruth : path.relative(baseDir, path.resolve(meta.groundTruth)) || '.');
  }
  return m;
}

export interface WriterColumns { seq: boolean; pos: boolean; token: boolean; features: boolean }

/** The schema a writer produces. */
export function buildSchema(dIn: number, nFeatures: number | undefined, cols: WriterColumns, metadata: Map<string, string>): Schema {
  if (!Number.isSafeInteger(dIn) || dIn <= 0) throw new VsaeError(`cannot write a dataset with d_in=${dIn}: it must be a positive integer`);
  const fields: Field[] = [new Field('act', new FixedSizeList(dIn, new Field('item', new Float32(), false)), false)];
  if (cols.seq) fields.push(new Field('seq', new Int64(), false));
  if (cols.pos) fields.push(new Field('pos', new Int32(), false));
  if (cols.token) fields.push(new Field('token', new Int32(), false));
  if (cols.features) {
    if (nFeatures === undefined || !Number.isSafeInteger(nFeatures) || nFeatures <= 0) {
      throw new VsaeError('cannot write a features column without nFeatures (a positive integer) in the writer options');
    }
    fields.push(new Field('features', new FixedSizeList(nFeatures, new Field('item', new Float32(), false)), false));
  }
  return new Schema(fields, metadata);
}

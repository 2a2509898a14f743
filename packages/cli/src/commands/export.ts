import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, UsageError, checkArrowIpc } from '@vsae/data';
import type { CommandSpec } from '../args.js';
import { getters } from '../args.js';

/**
 * `vsae export`: any Arrow table or dataset (an analysis table, a dataset file or sharded
 * directory, metrics.arrows, a stream on stdin) as CSV or JSON Lines on stdout, one record batch
 * at a time, for spreadsheets and other tools. List and vector cells become JSON arrays.
 */
export const command: CommandSpec = {
  name: 'export',
  summary: 'an Arrow table or dataset as CSV or JSON Lines (for spreadsheets and other tools)',
  usage: 'vsae export PATH|- [--csv | --json] [--columns A,B] [--limit N] > out.csv',
  positionals: { names: 'PATH (an .arrow file or stream, a sharded dataset directory, or - for stdin)', min: 1, max: 1 },
  options: {
    csv: { type: 'boolean', help: 'CSV with a header row (the default); list cells hold JSON arrays' },
    json: { type: 'boolean', help: 'JSON Lines: one object per row' },
    columns: { type: 'list', help: 'only these columns, in this order', value: 'A,B' },
    limit: { type: 'int', help: 'stop after N rows', min: 0, value: 'N' },
  },
  examples: [
    'vsae export runs/sae/analysis/features.arrow > features.csv',
    'vsae export runs/sae/metrics.arrows --json --columns step,loss,l0',
    'vsae export toy.arrow --columns act,features --limit 100 > first100.csv',
  ],
  async run(args) {
    const g = getters(args);
    if (g.bool('csv') && g.bool('json')) throw new UsageError('give --csv or --json, not both');
    const file = args.positionals[0]!;
    if (file === '-' && process.stdin.isTTY) throw new UsageError('- reads an Arrow stream from stdin, which is a terminal here: pipe one in (vsae toy -o - --truth toy.truth.safetensors | vsae export -) or give a file');
    const writer = g.bool('json') ? jsonLines() : csv();
    const limit = g.num('limit') ?? Infinity;
    const wanted = g.list('columns');
    let header: string[] | undefined;
    let rows = 0;
    for (const part of parts(file)) {
      for await (const batch of readBatches(part)) {
        const names = batch.schema.fields.map((f) => f.name);
        if (header === undefined) {
          const missing = wanted.filter((c) => !names.includes(c));
          if (missing.length) throw new UsageError(`${file} has no column ${missing.map((c) => `"${c}"`).join(', ')}; its columns are ${names.join(', ')}`);
          header = wanted.length ? wanted : names;
          await out(writer.header(header));
        } else if (header.some((c) => !names.includes(c))) {
          throw new InputError(part, `has columns ${names.join(', ')}, unlike the first part of ${file}`);
        }
        const cols = header.map((c) => {
          const f = batch.schema.fields.find((x) => x.name === c)!;
          return { name: c, get: batch.getChild(c)!, conv: converter(f.type) };
        });
        const lines: string[] = [];
        for (let i = 0; i < batch.numRows && rows < limit; i++, rows++) lines.push(writer.row(cols.map((c) => [c.name, c.conv(c.get.get(i))])));
        if (lines.length) await out(lines.join(''));
        if (rows >= limit) return 0;
      }
    }
    if (header === undefined) throw new InputError(file, 'holds no record batch, so there is nothing to export');
    return 0;
  },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Writes to stdout, waiting when the pipe is full (memory stays at one batch). */
function out(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

/** The files to read: one, or a sharded directory's shards in order. */
function parts(file: string): string[] {
  if (file === '-' || !fs.existsSync(file) || !fs.statSync(file).isDirectory()) return [file];
  const listed = path.join(file, '_dataset.json');
  if (fs.existsSync(listed)) {
    const info = JSON.parse(fs.readFileSync(listed, 'utf8')) as { shards?: Array<{ file: string }> };
    return (info.shards ?? []).map((s) => path.join(file, s.file));
  }
  const names = fs.readdirSync(file).filter((n) => n.endsWith('.arrow') && !n.startsWith('_') && !n.startsWith('.')).sort();
  if (!names.length) throw new InputError(file, 'is a directory without _dataset.json or .arrow files; give an Arrow file');
  return names.map((n) => path.join(file, n));
}

interface Batch {
  numRows: number;
  schema: { fields: Array<{ name: string; type: ArrowType }> };
  getChild(name: string): { get(i: number): unknown } | null;
}
interface ArrowType {
  typeId: number;
  precision?: number;
  children?: Array<{ name: string; type: ArrowType }>;
}

/** Record batches of an Arrow file or stream, checked against the file before apache-arrow reads it. */
async function* readBatches(file: string): AsyncGenerator<Batch> {
  const { RecordBatchReader } = await import('apache-arrow');
  let fh: fs.promises.FileHandle | undefined;
  try {
    let reader;
    if (file === '-') reader = await RecordBatchReader.from(process.stdin as unknown as AsyncIterable<Uint8Array>);
    else {
      await checkArrowIpc(file);
      fh = await fs.promises.open(file, 'r');
      reader = await RecordBatchReader.from(fh);
    }
    await reader.open();
    for await (const b of reader as AsyncIterable<Batch>) yield b;
  } catch (e) {
    if (e instanceof InputError || e instanceof UsageError) throw e;
    throw new InputError(file, `could not be read as Arrow (${(e as Error).message.split('\n')[0]}); give an Arrow IPC file or stream`, { cause: e });
  } finally {
    await fh?.close();
  }
}

// apache-arrow's Type ids (stable in the Arrow format).
const T = { Int: 2, Float: 3, Bool: 6, List: 12, Struct: 13, FixedSizeList: 16, LargeList: 21 } as const;

/** The shortest decimal that reads back as the same float32 (0.1, not 0.10000000149011612). */
function float32Text(v: number): number {
  for (let p = 6; p < 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return s;
  }
  return Number(v.toPrecision(9));
}

/** A function turning apache-arrow's value of `type` into plain JSON. */
function converter(type: ArrowType): (v: unknown) => Json {
  const kids = type.children ?? [];
  switch (type.typeId) {
    case T.Float: {
      const single = type.precision === 1;
      return (v) => (v === null || v === undefined ? null : !Number.isFinite(v as number) ? String(v) : single ? float32Text(v as number) : (v as number));
    }
    case T.Int:
      return (v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : (v as number));
    case T.Bool:
      return (v) => (v === null || v === undefined ? null : Boolean(v));
    case T.List:
    case T.LargeList:
    case T.FixedSizeList: {
      const item = converter(kids[0]!.type);
      return (v) => (v === null || v === undefined ? null : Array.from(v as Iterable<unknown>, item));
    }
    case T.Struct: {
      const fields = kids.map((k) => [k.name, converter(k.type)] as const);
      return (v) => (v === null || v === undefined ? null : Object.fromEntries(fields.map(([n, c]) => [n, c((v as Record<string, unknown>)[n])])));
    }
    default:
      return (v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? v.toString() : typeof v === 'object' ? JSON.stringify(v) : (v as string | number));
  }
}

interface RowWriter {
  header(names: string[]): string;
  row(cells: Array<[string, Json]>): string;
}

function jsonLines(): RowWriter {
  // JSON has no NaN or Infinity: those floats were turned into strings above.
  return { header: () => '', row: (cells) => `${JSON.stringify(Object.fromEntries(cells))}\n` };
}

/**
 * RFC 4180 CSV. A text cell that starts with = + - @ or a tab gets a leading ' so that a
 * spreadsheet shows it rather than running it as a formula (token strings come from anywhere).
 */
function csv(): RowWriter {
  const quote = (s: string): string => (/[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cell = (v: Json): string => {
    if (v === null) return '';
    // "-1.5" or "-Infinity" is a number to a spreadsheet, not a formula: left as it is.
    if (typeof v === 'string') return quote(/^[=+\-@\t\r]/.test(v) && Number.isNaN(Number(v)) ? `'${v}` : v);
    if (typeof v === 'object') return quote(JSON.stringify(v));
    return String(v);
  };
  return {
    header: (names) => `${names.map((n) => quote(n)).join(',')}\n`,
    row: (cells) => `${cells.map(([, v]) => cell(v)).join(',')}\n`,
  };
}

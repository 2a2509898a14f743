/**
 * Token sources for extraction, read as streams so memory does not grow with the corpus:
 *   plain text (one document; '-' for stdin), JSONL with a `text` field (a document per line),
 *   or an Arrow file/stream with a `text` (Utf8) or `tokens` (List<Int32>) column (a document
 *   per row).
 * Plain text is tokenized in pieces of about 256 KB, cut only between two ASCII letters around
 * a single space ("abc| def"): the GPT-2/NeoX pre-tokenizers split there anyway (" def" is its
 * own pre-token), so the tokens equal those of the whole text in one call.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import { RecordBatchReader } from 'apache-arrow';
import type { RecordBatch } from 'apache-arrow';
import { InputError, checkArrowIpc } from '@vsae/data';
import type { TextTokenizer } from '@vsae/transformer';

/** A run of tokens; `startsDoc` marks the first piece of a new document. */
export interface Piece {
  tokens: Int32Array;
  startsDoc: boolean;
}

export interface TokenSource {
  path: string;
  /** `text`, `jsonl`, `arrow-text` or `arrow-tokens`. */
  kind: string;
  pieces(): AsyncGenerator<Piece>;
  /** Share of the input read so far, when it can be known. */
  fraction(): number | undefined;
}

const PIECE_CHARS = 256 * 1024;
const MAX_CARRY = 16 * 1024 * 1024;

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Last index i with buf[i-1], buf[i+1] ASCII letters and buf[i] a space, or -1. */
function lastSafeCut(buf: string): number {
  for (let i = buf.length - 2; i > 0; i--) {
    if (buf.charCodeAt(i) === 32 && isLetter(buf.charCodeAt(i - 1)) && isLetter(buf.charCodeAt(i + 1))) return i;
  }
  return -1;
}

function openStream(file: string, given?: NodeJS.ReadableStream): NodeJS.ReadableStream & { bytesRead?: number } {
  if (given) return given;
  if (file === '-') return process.stdin;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new InputError(file, 'is not a file; pass a text, JSONL or Arrow file');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, 'no such file; check the path', { cause: e });
  }
  return fs.createReadStream(file, { highWaterMark: 1 << 20 });
}

function sizeOf(file: string): number | undefined {
  return file === '-' ? undefined : fs.statSync(file).size;
}

/** `input`: the stream to read instead of opening `file` (stdin after its first bytes were looked at). */
export function textSource(file: string, tok: TextTokenizer, input?: NodeJS.ReadableStream): TokenSource {
  const size = sizeOf(file);
  let stream: (NodeJS.ReadableStream & { bytesRead?: number }) | undefined;
  return {
    path: file,
    kind: 'text',
    fraction: () => (size && stream?.bytesRead !== undefined ? Math.min(1, stream.bytesRead / size) : undefined),
    async *pieces() {
      stream = openStream(file, input);
      stream.setEncoding('utf8');
      let buf = '';
      let first = true;
      for await (const chunk of stream as AsyncIterable<string>) {
        buf += chunk;
        while (buf.length >= PIECE_CHARS) {
          let cut = lastSafeCut(buf);
          if (cut <= 0) {
            if (buf.length < MAX_CARRY) break; // wait for more text
            cut = buf.length; // a 16 MB run without a plain "word word": cut anyway
          }
          yield { tokens: tok.encode(buf.slice(0, cut)), startsDoc: first };
          first = false;
          buf = buf.slice(cut);
        }
      }
      if (buf.length > 0) yield { tokens: tok.encode(buf), startsDoc: first };
    },
  };
}

export function jsonlSource(file: string, tok: TextTokenizer, input?: NodeJS.ReadableStream): TokenSource {
  const size = sizeOf(file);
  let stream: (NodeJS.ReadableStream & { bytesRead?: number }) | undefined;
  return {
    path: file,
    kind: 'jsonl',
    fraction: () => (size && stream?.bytesRead !== undefined ? Math.min(1, stream.bytesRead / size) : undefined),
    async *pieces() {
      stream = openStream(file, input);
      const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
      let n = 0;
      for await (const line of lines) {
        n++;
        if (line.trim() === '') continue;
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch (e) {
          throw new InputError(file, `line ${n} is not valid JSON (${(e as Error).message}); each line must be an object with a "text" field`, { cause: e });
        }
        const text = obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>).text : undefined;
        if (typeof text !== 'string') throw new InputError(file, `line ${n} has no "text" string field`);
        yield { tokens: tok.encode(text), startsDoc: true };
      }
    },
  };
}

/** An Arrow IPC file or stream with a `text` or `tokens` column. */
export async function arrowSource(file: string, tok: TextTokenizer | undefined, input?: NodeJS.ReadableStream): Promise<TokenSource> {
  let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
  let handle: fs.promises.FileHandle | undefined;
  try {
    if (file === '-') {
      reader = await RecordBatchReader.from((input ?? process.stdin) as unknown as AsyncIterable<Uint8Array>);
    } else {
      if (!fs.existsSync(file)) throw new InputError(file, 'no such file; check the path');
      // apache-arrow trusts the file's sizes (a lying row count or footer block makes it loop
      // forever): check them against the file first.
      await checkArrowIpc(file);
      handle = await fs.promises.open(file, 'r');
      reader = await RecordBatchReader.from(handle);
    }
    await reader.open();
  } catch (e) {
    await handle?.close();
    if (e instanceof InputError) throw e;
    throw new InputError(file, `is not a readable Arrow IPC file or stream (${(e as Error).message})`, { cause: e });
  }
  const fields = reader.schema.fields;
  const textField = fields.find((f) => f.name === 'text');
  const tokField = fields.find((f) => f.name === 'tokens');
  let kind: 'arrow-text' | 'arrow-tokens';
  if (tokField) {
    const t = tokField.type as { typeId: number; children?: Array<{ type: { typeId: number; bitWidth?: number; isSigned?: boolean } }> };
    const child = t.children?.[0]?.type;
    // Type.List = 12, Type.Int = 2
    if (t.typeId !== 12 || !child || child.typeId !== 2 || child.bitWidth !== 32) {
      throw new InputError(file, `column "tokens" is ${String(tokField.type)}; it must be List<Int32> (one document's token ids per row)`);
    }
    kind = 'arrow-tokens';
  } else if (textField) {
    // Utf8, LargeUtf8, or dictionary-encoded strings (what tableFromArrays makes of strings).
    if (!/Utf8>?$/.test(String(textField.type))) throw new InputError(file, `column "text" is ${String(textField.type)}; it must be Utf8`);
    if (!tok) throw new InputError(file, 'has a text column but no tokenizer was loaded');
    kind = 'arrow-text';
  } else {
    throw new InputError(file, `has no "text" (Utf8) or "tokens" (List<Int32>) column; its columns are ${fields.map((f) => f.name).join(', ') || 'none'}`);
  }
  const total = (reader as unknown as { numRecordBatches?: number }).numRecordBatches;
  let done = 0;
  return {
    path: file,
    kind,
    fraction: () => (total ? done / total : undefined),
    async *pieces() {
      try {
        for await (const batch of reader as AsyncIterable<RecordBatch>) {
          const col = batch.getChild(kind === 'arrow-tokens' ? 'tokens' : 'text')!;
          // A stream (stdin) is not checked beforehand: its row count must fit the column's buffers.
          const d = col.data[0] as { valueOffsets?: ArrayLike<number>; values?: ArrayLike<unknown>; dictionary?: unknown } | undefined;
          const room = d?.valueOffsets ? d.valueOffsets.length - 1 : d?.values ? d.values.length : 0;
          if (batch.numRows > room) throw new InputError(file, `has a record batch of ${batch.numRows} rows whose "${col.type}" column holds ${room}; the file is damaged`);
          for (let i = 0; i < batch.numRows; i++) {
            const v = col.get(i) as unknown;
            if (v === null || v === undefined) continue;
            if (kind === 'arrow-text') yield { tokens: tok!.encode(v as string), startsDoc: true };
            else yield { tokens: Int32Array.from((v as { toArray(): Int32Array }).toArray()), startsDoc: true };
          }
          done++;
        }
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw new InputError(file, `could not be read to the end (${(e as Error).message}); the file is truncated or corrupt`, { cause: e });
      } finally {
        await handle?.close();
      }
    },
  };
}


// --- which format a corpus is in ----------------------------------------------------------------

export type CorpusFormat = 'text' | 'jsonl' | 'arrow';

/** Bytes looked at to tell the format: enough for a first JSONL line of ordinary length. */
const SNIFF_BYTES = 64 * 1024;

const FORMAT_HINT = 'give --format text|jsonl|arrow to say which it is';

/**
 * The format of a corpus from its first bytes: Arrow by its magic (`ARROW1`, or a stream's
 * 0xFFFFFFFF continuation marker), JSONL when the first non-blank line is a JSON object, plain
 * text otherwise. What is none of these (Parquet, other binary data, one JSON document) is
 * refused with a hint to --format rather than tokenized as bytes.
 */
export function sniffFormat(file: string, head: Uint8Array): CorpusFormat {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.subarray(0, 6).toString('latin1') === 'ARROW1') return 'arrow';
  if (b.length >= 8 && b.readUInt32LE(0) === 0xffffffff && b.readInt32LE(4) > 0) return 'arrow';
  if (b.subarray(0, 4).toString('latin1') === 'PAR1') {
    throw new InputError(file, 'is a Parquet file; write the corpus as Arrow (e.g. pyarrow.feather.write_feather(table, "corpus.arrow", compression="uncompressed")), JSONL or plain text');
  }
  if (b.includes(0)) throw new InputError(file, `holds binary data, not plain text, JSONL or an Arrow file; ${FORMAT_HINT}`);
  const text = b.toString('utf8');
  const first = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  // JSON-looking: `{"…`, `{` alone, `[{`, `["` (plain text may well start with "[Applause]" or "{curly}").
  if (/^\{\s*($|["}])/.test(first) || /^\[\s*($|[{["\]])/.test(first)) {
    const complete = text.includes('\n') || b.length < SNIFF_BYTES;
    let v: unknown;
    try {
      v = JSON.parse(first);
    } catch {
      if (!complete) return 'jsonl'; // a first line longer than what was looked at: its reader says if it is not JSON
      throw new InputError(file, `starts like JSON but its first line is not a JSON object on its own (JSONL holds one object with a "text" field per line); convert it, or ${FORMAT_HINT}`);
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if (typeof (v as Record<string, unknown>).text !== 'string') throw new InputError(file, `is JSONL whose first line has no "text" string field (it has ${Object.keys(v).slice(0, 5).map((k) => `"${k}"`).join(', ') || 'no fields'}); add one, or ${FORMAT_HINT}`);
      return 'jsonl';
    }
    throw new InputError(file, `starts with a JSON array, not JSONL (one object with a "text" field per line); convert it, or ${FORMAT_HINT}`);
  }
  return 'text';
}

/** The first bytes of stdin, and a stream that gives them again followed by the rest. */
async function peekStdin(stdin: NodeJS.ReadableStream): Promise<{ head: Uint8Array; stream: Readable }> {
  const it = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let n = 0;
  let ended = false;
  while (n < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(c);
    n += c.length;
    if (n >= 16 && c.includes(10)) break; // a first line (and any magic) is in
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

function readHead(file: string): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new InputError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file; check the path' : `cannot read it (${(e as Error).message})`, { cause: e });
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new InputError(file, 'is not a file; pass a text, JSONL or Arrow file');
    const buf = Buffer.alloc(SNIFF_BYTES);
    return buf.subarray(0, fs.readSync(fd, buf, 0, SNIFF_BYTES, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The token source of a corpus given as --text: in `format`, or the format its first bytes
 * show (sniffFormat); a .jsonl / .ndjson name is JSONL. '-' is stdin.
 */
export async function corpusSource(file: string, format: CorpusFormat | undefined, tok: TextTokenizer | undefined, stdin: NodeJS.ReadableStream = process.stdin): Promise<TokenSource> {
  let input: NodeJS.ReadableStream | undefined;
  let fmt = format;
  if (fmt === undefined) {
    if (file !== '-' && /\.(jsonl|ndjson)$/i.test(file)) fmt = 'jsonl';
    else if (file === '-') {
      const p = await peekStdin(stdin);
      input = p.stream;
      fmt = sniffFormat(file, p.head);
    } else fmt = sniffFormat(file, readHead(file));
  } else if (file === '-') input = stdin;
  if (fmt === 'arrow') return arrowSource(file, tok, input);
  if (!tok) throw new InputError(file, 'is text, but no tokenizer was loaded; put tokenizer.json in the model directory or pass --tokenizer FILE');
  return fmt === 'jsonl' ? jsonlSource(file, tok, input) : textSource(file, tok, input);
}

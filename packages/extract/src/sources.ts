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

function openStream(file: string): NodeJS.ReadableStream & { bytesRead?: number } {
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

export function textSource(file: string, tok: TextTokenizer): TokenSource {
  const size = sizeOf(file);
  let stream: (NodeJS.ReadableStream & { bytesRead?: number }) | undefined;
  return {
    path: file,
    kind: 'text',
    fraction: () => (size && stream?.bytesRead !== undefined ? Math.min(1, stream.bytesRead / size) : undefined),
    async *pieces() {
      stream = openStream(file);
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

export function jsonlSource(file: string, tok: TextTokenizer): TokenSource {
  const size = sizeOf(file);
  let stream: (NodeJS.ReadableStream & { bytesRead?: number }) | undefined;
  return {
    path: file,
    kind: 'jsonl',
    fraction: () => (size && stream?.bytesRead !== undefined ? Math.min(1, stream.bytesRead / size) : undefined),
    async *pieces() {
      stream = openStream(file);
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
export async function arrowSource(file: string, tok: TextTokenizer | undefined): Promise<TokenSource> {
  let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
  let handle: fs.promises.FileHandle | undefined;
  try {
    if (file === '-') {
      reader = await RecordBatchReader.from(process.stdin as unknown as AsyncIterable<Uint8Array>);
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


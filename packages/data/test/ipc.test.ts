/**
 * IPC corner cases other writers produce: buffers at misaligned offsets inside a body (copied
 * into aligned memory), and legacy pre-0.15 framing (4-byte length prefix, no continuation).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Field, FixedSizeList, Float32, Message, Schema } from 'apache-arrow';
import { BufferRegion, FieldNode, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { afterAll, describe, expect, it } from 'vitest';
import { EOS, encodeSchemaMessage, frame, parsePrefix } from '../src/_ipc.js';
import { createDatasetWriter, openDataset, type ActivationBatch } from '../src/index.js';
import { expectAllClose, randomFloats, tempDir } from './_helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

async function collect(it: AsyncIterable<ActivationBatch>) {
  const out: ActivationBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('IPC corner cases', () => {
  it('copies a float buffer that a producer placed at a misaligned offset, and only that one', async () => {
    const values = Float32Array.of(1.5, -2, 3.25, 4, 5e-3, -6);
    const type = new FixedSizeList(2, new Field('item', new Float32(), false));
    const schema = new Schema([new Field('act', type, false)]);
    // Body: one stray byte, then the 24 value bytes (offset 1: not 4-byte aligned), padded to 32.
    const body = new Uint8Array(32);
    body.set(new Uint8Array(values.buffer), 1);
    const header = new RecordBatchHeader(3, [new FieldNode(3, 0), new FieldNode(6, 0)], [new BufferRegion(0, 0), new BufferRegion(0, 0), new BufferRegion(1, 24)], null);
    const meta = frame(Message.encode(Message.from(header, 32)));
    const f = path.join(tmp.dir, 'misaligned.arrows');
    fs.writeFileSync(f, Buffer.concat([encodeSchemaMessage(schema), meta, body, EOS]));
    const [b] = await collect((await openDataset(f)).batches());
    expect(b!.act.byteOffset % 4).toBe(0);
    expectAllClose(b!.act, values, {}, 'act');
  });

  it('reads legacy streams framed with a 4-byte length and no continuation marker', async () => {
    const n = 40;
    const act = randomFloats(n * 3, 21);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = await createDatasetWriter('-', { meta: { source: 'toy', dIn: 3 }, batchRows: 16, stdout: out });
    await w.write({ numRows: n, act });
    await w.close();
    const modern = Buffer.concat(chunks);
    // Re-frame every message: [len][flatbuffer][body] instead of [0xFFFFFFFF][len][flatbuffer][body].
    const legacy: Uint8Array[] = [];
    let pos = 0;
    for (;;) {
      const p = parsePrefix(modern.subarray(pos, pos + 8));
      if (p === 'eos' || p === 'short') break;
      const fb = modern.subarray(pos + 8, pos + 8 + p.len);
      const bodyLength = Message.decode(fb).bodyLength;
      legacy.push(modern.subarray(pos + 4, pos + 8 + p.len + bodyLength));
      pos += 8 + p.len + bodyLength;
    }
    legacy.push(new Uint8Array(4)); // legacy end of stream: a zero length
    const bytes = Buffer.concat(legacy);
    const fromStdin = await collect((await openDataset('-', { stdin: Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]) })).batches());
    const f = path.join(tmp.dir, 'legacy.arrows');
    fs.writeFileSync(f, bytes);
    const ds = await openDataset(f);
    expect(ds.numRows).toBe(n);
    const fromFile = await collect(ds.batches({ fromRow: 5 }));
    for (const [got, from] of [[fromStdin, 0], [fromFile, 5]] as const) {
      const all = new Float32Array(got.reduce((a, b) => a + b.act.length, 0));
      let at = 0;
      for (const b of got) {
        expect(b.act.byteOffset % 4).toBe(0);
        all.set(b.act, at);
        at += b.act.length;
      }
      expectAllClose(all, act.subarray(from * 3), {}, `legacy from row ${from}`);
    }
  });
});

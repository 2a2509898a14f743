/**
 * Cuts a stream of token pieces into context windows, as in the design: documents are
 * concatenated (with a separator token between them, TransformerLens's
 * `tokenize_and_concatenate` uses EOS) and cut into consecutive windows of `context` tokens;
 * with a BOS, each window is BOS followed by context − 1 corpus tokens. A last partial window
 * is dropped. Memory holds at most one piece plus one window.
 */
import type { Piece } from './sources.js';

export interface WindowOptions {
  context: number;
  /** Prepended to every window when set. */
  bos?: number | undefined;
  /** Inserted between documents when set. */
  separator?: number | undefined;
}

export async function* windows(pieces: AsyncIterable<Piece>, opts: WindowOptions): AsyncGenerator<Int32Array> {
  const lead = opts.bos === undefined ? 0 : 1;
  const need = opts.context - lead;
  if (need < 1) throw new RangeError('a window must hold at least one corpus token');
  let pending = new Int32Array(Math.max(need * 2, 1024));
  let head = 0;
  let tail = 0;
  let docs = 0;
  const push = (t: ArrayLike<number>): void => {
    if (tail + t.length > pending.length) {
      const live = tail - head;
      if (live + t.length > pending.length) {
        const next = new Int32Array(Math.max(pending.length * 2, live + t.length));
        next.set(pending.subarray(head, tail), 0);
        pending = next;
      } else {
        pending.copyWithin(0, head, tail);
      }
      head = 0;
      tail = live;
    }
    pending.set(t, tail);
    tail += t.length;
  };
  for await (const p of pieces) {
    if (p.startsDoc) {
      if (docs > 0 && opts.separator !== undefined) push([opts.separator]);
      docs++;
    }
    push(p.tokens);
    while (tail - head >= need) {
      const w = new Int32Array(opts.context);
      if (lead) w[0] = opts.bos!;
      w.set(pending.subarray(head, head + need), lead);
      head += need;
      yield w;
    }
  }
}

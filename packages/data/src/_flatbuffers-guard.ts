/**
 * A bounds check for flatbuffer vectors, installed once on the `flatbuffers` ByteBuffer that
 * apache-arrow decodes IPC metadata with. The generated readers trust a vector's length field
 * and read out-of-range bytes as zeros, so one lying length (a record batch claiming 4 billion
 * field nodes, a footer claiming 2^31 blocks) makes the decoder loop and allocate for
 * billions of elements. Every element of a vector takes at least one byte of the buffer, so a
 * vector whose length runs past the end cannot be valid: it throws a RangeError, which the
 * IPC readers turn into an InputError naming the file. Valid buffers are never affected.
 */
import { ByteBuffer } from 'flatbuffers';

const GUARD = Symbol.for('vsae.flatbuffers.vector-guard');

interface GuardedByteBuffer {
  __vector(offset: number): number;
  __vector_len(offset: number): number;
  capacity(): number;
  [GUARD]?: true;
}

const proto = ByteBuffer.prototype as unknown as GuardedByteBuffer;
if (!proto[GUARD]) {
  const vectorLen = proto.__vector_len;
  proto.__vector_len = function (this: GuardedByteBuffer, offset: number): number {
    const n = vectorLen.call(this, offset);
    const start = this.__vector(offset);
    if (n < 0 || start < 0 || start + n > this.capacity()) {
      throw new RangeError(`a flatbuffer vector claims ${n >>> 0} elements at byte ${start} of a ${this.capacity()}-byte buffer`);
    }
    return n;
  };
  proto[GUARD] = true;
}

import type { SafeDtype } from '@vsae/data';

let halfTable: Float32Array | undefined;
/** IEEE half → float for all 65536 bit patterns (built on first use). */
function half(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    halfTable[h] = e === 0 ? sign * f * 2 ** -24 : e === 31 ? (f ? NaN : sign * Infinity) : sign * (1 + f / 1024) * 2 ** (e - 15);
  }
  return halfTable;
}

/** Little-endian raw bytes of `dtype` → a fresh Float32Array. */
export function toFloat32(dtype: SafeDtype, bytes: Uint8Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(bytes.byteLength / 8);
      for (let i = 0; i < out.length; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const t = half();
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = t[dv.getUint16(i * 2, true)]!;
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(bytes.byteLength / 2);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Float32Array(bytes.byteLength / 8);
      for (let i = 0; i < out.length; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      return out;
    }
    case 'I32': {
      const out = new Float32Array(bytes.byteLength / 4);
      for (let i = 0; i < out.length; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'I16': {
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    }
    case 'I8': {
      const out = new Float32Array(bytes.byteLength);
      for (let i = 0; i < out.length; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
  }
}

/**
 * A seeded pseudo-random generator in plain JavaScript, so the same seed gives the same
 * numbers on every tensor backend (tfjs's own random ops differ between backends and cannot
 * save their state). xoshiro128** (Blackman & Vigna) seeded through splitmix32; normals by
 * Box–Muller. The whole state is four 32-bit words plus the cached second normal of a
 * Box–Muller pair, so a checkpoint can save it and a resumed run continues the same stream.
 */

/** Saved generator state: JSON-friendly (numbers only). */
export interface RngState {
  /** The four xoshiro128** words, as unsigned 32-bit integers. */
  s: [number, number, number, number];
  /** The unused second value of the last Box–Muller pair, or null. */
  spare: number | null;
}

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 1 / 4294967296;
const INV_2_53 = 1 / 9007199254740992;

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Folds a seed (number, bigint or string) into 32 bits; different strings give different seeds. */
function seedToUint32(seed: number | bigint | string): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // Mix both halves of a large integer so 2^32 + 1 and 1 differ.
    const hi = Math.floor(Math.abs(seed) / 4294967296);
    return ((seed >>> 0) ^ Math.imul(hi >>> 0, 0x9e3779b1) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0;
  }
  const text = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed: number | bigint | string = 0) {
    const sm = splitmix32(seedToUint32(seed));
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    // xoshiro must not start from the all-zero state.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** A copy of the state, to save in a checkpoint. */
  getState(): RngState {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.spare };
  }

  setState(state: RngState): void {
    const s = state.s;
    if (!Array.isArray(s) || s.length !== 4 || s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError('RNG state must hold four unsigned 32-bit integers');
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) throw new RangeError('RNG state must not be all zeros');
    [this.s0, this.s1, this.s2, this.s3] = s;
    this.spare = typeof state.spare === 'number' && Number.isFinite(state.spare) ? state.spare : null;
  }

  /** Next raw 32-bit output (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * INV_2_53;
  }

  /** Uniform integer in [0, n) (n ≤ 2^32), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new RangeError(`int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal draw (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const [a, b] = this.pair();
    this.spare = b;
    return a;
  }

  /** Fills `out` with uniform values in [lo, hi). */
  fillUniform<T extends Float32Array | Float64Array>(out: T, lo = 0, hi = 1): T {
    const w = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + w * (this.nextUint32() * INV_2_32);
    return out;
  }

  /** Fills `out` with normal values N(mean, std²). Consumes the cached spare first, like normal(). */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    let i = 0;
    const n = out.length;
    if (n > 0 && this.spare !== null) {
      out[i++] = mean + std * this.spare;
      this.spare = null;
    }
    for (; i + 1 < n; i += 2) {
      const u1 = 1 - this.nextUint32() * INV_2_32; // (0, 1]
      const u2 = this.nextUint32() * INV_2_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      const t = TWO_PI * u2;
      out[i] = mean + std * r * Math.cos(t);
      out[i + 1] = mean + std * r * Math.sin(t);
    }
    if (i < n) {
      const [a, b] = this.pair();
      out[i] = mean + std * a;
      this.spare = b;
    }
    return out;
  }

  /**
   * Fills `out` with normal values by the ziggurat method (Marsaglia & Tsang 2000, 128 layers),
   * ~10× faster than Box–Muller in JS: 99% of draws take one 32-bit output, a compare and a
   * multiply. Same guarantees as fillNormal (plain JS, same seed ⇒ same numbers on every
   * backend, state saved by getState) but a different stream. The layer index comes from the
   * low 7 bits and the value from the other 25, so the two are independent (the original
   * RNOR reused bits, a known defect). Used for the VSAE noise, millions of draws per step.
   */
  fillNormalZiggurat<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    const { kn, wn, fn } = ziggurat();
    // xoshiro128** inlined with the state in locals (a method call per draw is several times slower).
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const n = out.length;
    for (let i = 0; i < n; i++) {
      const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const iz = r & 127;
      const hz = r >> 7; // signed, 25 bits, independent of iz
      if ((hz < 0 ? -hz : hz) < kn[iz]!) {
        out[i] = mean + std * (hz * wn[iz]!);
        continue;
      }
      // Rare (~1%): the tail or a wedge. Hand the state back and take the slow path.
      this.s0 = s0;
      this.s1 = s1;
      this.s2 = s2;
      this.s3 = s3;
      out[i] = mean + std * this.zigSlow(hz, iz, kn, wn, fn);
      s0 = this.s0;
      s1 = this.s1;
      s2 = this.s2;
      s3 = this.s3;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }

  private zigSlow(hz: number, iz: number, kn: Int32Array, wn: Float64Array, fn: Float64Array): number {
    const uni = () => (this.nextUint32() + 0.5) * INV_2_32; // (0, 1)
    for (;;) {
      let x = hz * wn[iz]!;
      if (iz === 0) {
        // The tail beyond R.
        let y: number;
        do {
          x = -Math.log(uni()) / ZIG_R;
          y = -Math.log(uni());
        } while (y + y < x * x);
        return hz > 0 ? ZIG_R + x : -ZIG_R - x;
      }
      // The wedge of layer iz.
      if (fn[iz]! + uni() * (fn[iz - 1]! - fn[iz]!) < Math.exp(-0.5 * x * x)) return x;
      const r = this.nextUint32() | 0;
      iz = r & 127;
      hz = r >> 7;
      if ((hz < 0 ? -hz : hz) < kn[iz]!) return hz * wn[iz]!;
    }
  }

  /** A random permutation of 0..n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** An independent generator derived from this one's next outputs (this one advances). */
  fork(): Rng {
    const r = new Rng(0);
    r.setState({ s: [this.nextUint32(), this.nextUint32(), this.nextUint32(), (this.nextUint32() | 1) >>> 0], spare: null });
    return r;
  }

  private pair(): [number, number] {
    const u1 = 1 - this.nextUint32() * INV_2_32;
    const u2 = this.nextUint32() * INV_2_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    const t = TWO_PI * u2;
    return [r * Math.cos(t), r * Math.sin(t)];
  }
}

const ZIG_R = 3.442619855899;
let zigTables: { kn: Int32Array; wn: Float64Array; fn: Float64Array } | undefined;
/** Ziggurat tables for 128 layers (Marsaglia & Tsang's zigset, with 25-bit values). */
function ziggurat(): { kn: Int32Array; wn: Float64Array; fn: Float64Array } {
  if (zigTables) return zigTables;
  const m1 = 2 ** 24;
  const vn = 9.91256303526217e-3;
  const kn = new Int32Array(128);
  const wn = new Float64Array(128);
  const fn = new Float64Array(128);
  let dn = ZIG_R;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * m1);
  kn[1] = 0;
  wn[0] = q / m1;
  wn[127] = dn / m1;
  fn[0] = 1;
  fn[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / m1;
  }
  zigTables = { kn, wn, fn };
  return zigTables;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

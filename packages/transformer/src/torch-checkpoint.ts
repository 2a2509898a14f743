/**
 * Reads PyTorch checkpoints written by `torch.save` (the zip format of torch ≥ 1.6): a zip
 * archive holding `<root>/data.pkl` (a pickled state dict whose tensors refer to storages by
 * persistent id) and one `<root>/data/<key>` entry per storage. The zip is read with fflate and
 * the pickle with pickleparser, through its hooks: a name resolver that admits only the few
 * globals a state dict needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
 * `torch._utils._rebuild_parameter`, the `torch.*Storage` types) and a persistent-id resolver
 * for storages. Tensors are decoded lazily, one at a time, from their storage with its dtype,
 * offset, size and strides.
 *
 * Hostile files: every size the archive or the pickle claims is checked against the file
 * before anything is allocated; anything unexpected is an InputError naming the file.
 */
import * as fs from 'node:fs';
import { unzipSync } from 'fflate';
import type { UnzipFileInfo } from 'fflate';
import pickleparser from 'pickleparser';
import { bytesToFloat32, InputError, SAFE_DTYPE_SIZE } from '@vsae/data';
import type { SafeDtype } from '@vsae/data';

const { Parser, BufferReader } = pickleparser;

/** The pickle of a state dict is small (names and shapes); refuse absurd ones. */
const MAX_PICKLE_BYTES = 256 * 2 ** 20;
/** Largest checkpoint read into memory at once. */
const MAX_FILE_BYTES = 8 * 2 ** 30;

const STORAGE_DTYPES: Record<string, SafeDtype> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  UntypedStorage: 'U8',
};
const ITEM_SIZE = SAFE_DTYPE_SIZE;

class StorageType {
  constructor(readonly dtype: SafeDtype) {}
}
class StorageRef {
  constructor(readonly key: string, readonly dtype: SafeDtype, readonly numel: number) {}
}
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

export interface TorchTensorInfo {
  dtype: SafeDtype;
  shape: number[];
}

/** A state dict read from a `.pth` / `.bin` file written by torch.save. */
export interface TorchStateDict {
  path: string;
  /** Tensor names, in the order of the file. */
  keys(): string[];
  info(name: string): TorchTensorInfo | undefined;
  /** The tensor as Float32 (other float and integer dtypes converted); InputError if absent. */
  getFloat32(name: string): { data: Float32Array; shape: number[] };
}

/** pickleparser's reader, refusing to move backwards (a negative length would loop forever). */
class CheckedReader extends BufferReader {
  override skip(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`a length field holds ${offset}`);
    super.skip(offset);
  }
  override uint64(): number {
    const b = this.bytes(8);
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    const v = dv.getUint32(0, true) + 2 ** 32 * dv.getUint32(4, true);
    if (!Number.isSafeInteger(v)) throw new Error('a 64-bit length field is too large');
    return v;
  }
}

function isSafeDim(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A name from the file, quoted and escaped so that a message stays one line. */
function q(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/** Strips control characters (a corrupt pickle's strings may hold newlines) from a message part. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function badPickle(file: string, what: string): InputError {
  return new InputError(file, `is not a PyTorch state dict vsae can read (${oneLine(what)}); re-download it, or save it again with torch.save(model.state_dict(), PATH)`);
}

/** Unpickles data.pkl with only the globals a state dict needs. */
function unpickle(file: string, pkl: Uint8Array): unknown {
  const nameResolver = {
    resolve(module: string, name: string): (...args: unknown[]) => unknown {
      const full = `${module}.${name}`;
      if (full === 'collections.OrderedDict' || full === 'builtins.dict') {
        return function OrderedDict() {
          return new Map();
        } as unknown as (...args: unknown[]) => unknown;
      }
      if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
        return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => {
          if (!(storage instanceof StorageRef)) throw new Error('a tensor without a storage');
          if (!isSafeDim(offset) || !Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length) {
            throw new Error('a tensor with a malformed offset, size or stride');
          }
          if (!size.every(isSafeDim) || !stride.every(isSafeDim)) throw new Error('a tensor with a negative or non-integer size or stride');
          return new TensorRef(storage, offset, [...(size as number[])], [...(stride as number[])]);
        };
      }
      if (full === 'torch._utils._rebuild_parameter' || full === 'torch._utils._rebuild_parameter_with_state') {
        return (data: unknown) => data;
      }
      if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) {
        const dtype = STORAGE_DTYPES[name]!;
        return function storageType() {
          return new StorageType(dtype);
        } as unknown as (...args: unknown[]) => unknown;
      }
      throw new Error(`it refers to ${full}, which a plain state dict does not use`);
    },
  };
  const persistentResolver = {
    resolve(pid: unknown): StorageRef {
      // ('storage', storage_type, key, location, numel)
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new Error('a persistent id that is not a storage');
      const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
      const dtype = typeof type === 'function' ? (type as () => StorageType)().dtype : type instanceof StorageType ? type.dtype : undefined;
      if (dtype === undefined) throw new Error('a storage of unknown type');
      if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key)) throw new Error('a storage with a malformed key');
      if (!isSafeDim(numel)) throw new Error('a storage with a malformed size');
      return new StorageRef(key, dtype, numel);
    },
  };
  const parser = new Parser({ nameResolver, persistentResolver: persistentResolver as never, unpicklingTypeOfDictionary: 'Map' });
  try {
    return parser.read(new CheckedReader(pkl));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw badPickle(file, `its pickle is unreadable: ${(e as Error).message}`);
  }
}

/** Finds the state dict in what was unpickled: the top object, or its `state_dict` / `model` entry. */
function findStateDict(file: string, top: unknown): Map<string, TensorRef> {
  const asDict = (v: unknown): Map<string, TensorRef> | undefined => {
    if (!(v instanceof Map) || v.size === 0) return undefined;
    const out = new Map<string, TensorRef>();
    for (const [k, t] of v) {
      if (typeof k !== 'string' || !(t instanceof TensorRef)) return undefined;
      out.set(k, t);
    }
    return out;
  };
  const direct = asDict(top);
  if (direct) return direct;
  if (top instanceof Map) {
    for (const k of ['state_dict', 'model', 'model_state_dict']) {
      const inner = asDict(top.get(k));
      if (inner) return inner;
    }
  }
  throw badPickle(file, 'its top-level object is not a dict of tensors');
}

function readWhole(file: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new InputError(file, 'no such file; check the path', { cause: e });
  }
  if (!st.isFile()) throw new InputError(file, 'is not a file');
  if (st.size > MAX_FILE_BYTES) throw new InputError(file, `is ${st.size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit for a .pth file; convert it to safetensors`);
  return fs.readFileSync(file);
}

/**
 * Opens a torch.save checkpoint. The archive's directory and the pickle are read and checked
 * now; tensor data is decoded when asked for.
 */
export function readTorchCheckpoint(file: string): TorchStateDict {
  return parseTorchCheckpoint(readWhole(file), file);
}

/** The same, for a checkpoint already in memory; `file` names it in errors. */
export function parseTorchCheckpoint(data: Uint8Array, file = 'checkpoint'): TorchStateDict {
  if (data.byteLength < 22 || data[0] !== 0x50 || data[1] !== 0x4b) {
    const legacy = data.byteLength > 2 && data[0] === 0x80;
    throw new InputError(
      file,
      legacy
        ? 'is a legacy (pre-1.6) torch.save file, which vsae cannot read; load it in Python and save it again with a current torch (zip format) or as safetensors'
        : 'is not a PyTorch checkpoint (not a zip archive); the file is truncated or of another kind',
    );
  }
  // List the entries without extracting anything; stop on an absurd entry count.
  const entries = new Map<string, UnzipFileInfo>();
  const maxEntries = Math.floor(data.byteLength / 46) + 1;
  let seen = 0;
  try {
    unzipSync(data, {
      filter(f) {
        // Each central-directory entry takes ≥ 46 bytes: a larger count is a lie (and would loop for long).
        if (++seen > maxEntries) throw new Error('the archive claims more entries than fit in the file');
        entries.set(f.name, { ...f });
        return false;
      },
    });
  } catch (e) {
    throw new InputError(file, `is not a readable zip archive (${oneLine((e as Error).message)}); the file is truncated or corrupt`, { cause: e });
  }
  const pklName = [...entries.keys()].find((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
  if (pklName === undefined) throw new InputError(file, 'has no data.pkl inside; it is a zip archive but not a torch.save checkpoint');
  const root = pklName.slice(0, pklName.length - 'data.pkl'.length);

  const extract = (name: string, expectBytes: number | undefined, limit: number): Uint8Array => {
    const info = entries.get(name);
    if (!info) throw new InputError(file, `is missing ${q(name)}; the file is truncated or corrupt`);
    const size = info.compression === 0 ? info.size : info.originalSize;
    if (!isSafeDim(size) || size > limit || (info.compression === 0 && info.size > data.byteLength)) {
      throw new InputError(file, `entry ${q(name)} claims ${size} bytes, more than the file can hold; the file is corrupt`);
    }
    if (expectBytes !== undefined && size < expectBytes) {
      throw new InputError(file, `entry ${q(name)} holds ${size} bytes but the state dict needs ${expectBytes}; the file is truncated or corrupt`);
    }
    let out: Uint8Array | undefined;
    try {
      out = unzipSync(data, { filter: (f) => f.name === name })[name];
    } catch (e) {
      throw new InputError(file, `cannot extract ${q(name)} (${oneLine((e as Error).message)}); the file is truncated or corrupt`, { cause: e });
    }
    if (!out || out.byteLength < (expectBytes ?? 0) || out.byteLength !== size) {
      throw new InputError(file, `entry ${q(name)} is shorter than its header says; the file is truncated`);
    }
    return out;
  };

  const pkl = extract(pklName, undefined, Math.min(MAX_PICKLE_BYTES, data.byteLength * 64));
  const dict = findStateDict(file, unpickle(file, pkl));

  // Check every tensor against its storage before any data is decoded.
  for (const [name, t] of dict) {
    const entry = entries.get(`${root}data/${t.storage.key}`);
    if (!entry) throw new InputError(file, `tensor ${q(name)} refers to storage ${q(t.storage.key)}, which is not in the archive; the file is truncated or corrupt`);
    let numel = 1;
    let last = t.offset;
    for (let i = 0; i < t.shape.length; i++) {
      numel *= t.shape[i]!;
      if (t.shape[i]! > 0) last += (t.shape[i]! - 1) * t.stride[i]!;
    }
    if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(last)) throw new InputError(file, `tensor ${q(name)} has an impossible shape; the file is corrupt`);
    if (numel > 0 && last >= t.storage.numel) {
      throw new InputError(file, `tensor ${q(name)} [${t.shape.join(', ')}] reaches element ${last} of a ${t.storage.numel}-element storage; the file is corrupt`);
    }
    const need = t.storage.numel * ITEM_SIZE[t.storage.dtype];
    const have = entry.compression === 0 ? entry.size : entry.originalSize;
    if (have < need) {
      throw new InputError(file, `storage ${q(t.storage.key)} of tensor ${q(name)} holds ${have} bytes but needs ${need}; the file is truncated or corrupt`);
    }
  }

  return {
    path: file,
    keys: () => [...dict.keys()],
    info: (name) => {
      const t = dict.get(name);
      return t && { dtype: t.storage.dtype, shape: [...t.shape] };
    },
    getFloat32(name) {
      const t = dict.get(name);
      if (!t) throw new InputError(file, `has no tensor ${q(name)}`);
      const itemSize = ITEM_SIZE[t.storage.dtype];
      const bytes = extract(`${root}data/${t.storage.key}`, t.storage.numel * itemSize, t.storage.numel * itemSize + 64);
      const all = bytesToFloat32(t.storage.dtype, bytes.subarray(0, t.storage.numel * itemSize));
      return { data: gather(all, t), shape: [...t.shape] };
    },
  };
}

/** Reads a strided view out of a storage, row-major. */
function gather(storage: Float32Array, t: TensorRef): Float32Array {
  const { shape, stride, offset } = t;
  const numel = shape.reduce((p, d) => p * d, 1);
  let contiguous = true;
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    if (shape[i]! > 1 && stride[i] !== s) contiguous = false;
    s *= shape[i]!;
  }
  if (contiguous) return storage.slice(offset, offset + numel);
  const out = new Float32Array(numel);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let n = 0; n < numel; n++) {
    out[n] = storage[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Tokenizers from a Hugging Face `tokenizer.json`, through @huggingface/tokenizers (a maintained
 * pure-JS implementation of the `tokenizers` pipeline: normalizer, pre-tokenizer, BPE model,
 * decoder). BOS and EOS come from the tokenizer's own files (tokenizer_config.json or
 * special_tokens_map.json beside tokenizer.json, else its `<|endoftext|>`-style added token),
 * never from a model's config.json (tiny-random-gpt2's config says 98, its tokenizer 0).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '@vsae/data';

/** tokenizer.json files are a few MB; refuse what cannot be one. */
const MAX_TOKENIZER_BYTES = 512 * 2 ** 20;
const BOS_CANDIDATES = ['<|endoftext|>', '<s>', '<|begin_of_text|>', '<bos>', '[CLS]'];
const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>', '[SEP]'];

type Json = Record<string, unknown>;

/** Escapes control characters so that a message built from file contents stays one line. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function readJsonFile(file: string, what: string, limit: number): Json {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new InputError(file, `no such file; ${what}`, { cause: e });
  }
  if (!st.isFile()) throw new InputError(file, 'is not a file');
  if (st.size > limit) throw new InputError(file, `is ${st.size} bytes, too large to be a ${path.basename(file)}`);
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `is not valid JSON (${(e as Error).message}); the file is truncated or corrupt`, { cause: e });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InputError(file, 'is not a JSON object');
  return v as Json;
}

/** `"<|endoftext|>"` or `{ "content": "<|endoftext|>", … }` as tokenizer configs write them. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

export class TextTokenizer {
  /** The tokenizer.json read. */
  readonly path: string;
  /** BOS token id, when the tokenizer defines one. */
  readonly bos: number | undefined;
  /** EOS token id, when the tokenizer defines one. */
  readonly eos: number | undefined;
  /** One more than the largest token id. */
  readonly vocabSize: number;
  private readonly tok: Tokenizer;

  private constructor(file: string, tok: Tokenizer, bos: number | undefined, eos: number | undefined, vocabSize: number) {
    this.path = file;
    this.tok = tok;
    this.bos = bos;
    this.eos = eos;
    this.vocabSize = vocabSize;
  }

  /** Loads `tokenizer.json` (a file, or a directory holding one). */
  static load(fileOrDir: string): TextTokenizer {
    let file = fileOrDir;
    try {
      if (fs.statSync(fileOrDir).isDirectory()) file = path.join(fileOrDir, 'tokenizer.json');
    } catch {
      /* reported below */
    }
    const json = readJsonFile(file, 'pass the tokenizer.json of the model', MAX_TOKENIZER_BYTES);
    const dir = path.dirname(file);
    const side = (name: string): Json => {
      const f = path.join(dir, name);
      return fs.existsSync(f) ? readJsonFile(f, '', 16 * 2 ** 20) : {};
    };
    return TextTokenizer.fromJSON(json, file, side('tokenizer_config.json'), side('special_tokens_map.json'));
  }

  /** A tokenizer from parsed tokenizer.json (and optional tokenizer_config / special_tokens_map); `file` names it in errors. */
  static fromJSON(json: unknown, file: string, config: Json = {}, specials: Json = {}): TextTokenizer {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InputError(file, 'is not a JSON object');
    if (!(json as Json).model || typeof (json as Json).model !== 'object') {
      throw new InputError(file, 'has no "model" section; it is not a Hugging Face tokenizer.json');
    }
    try {
      const tok = new Tokenizer(json as Json, config);
      tok.encode('a', { add_special_tokens: false });
      let vocabSize = 0;
      for (const id of tok.get_vocab(true).values()) if (Number.isSafeInteger(id) && id + 1 > vocabSize) vocabSize = id + 1;
      const added = new Map<string, number>();
      for (const [id, t] of tok.get_added_tokens_decoder()) added.set(t.content, id);
      const find = (key: 'bos_token' | 'eos_token', fallbacks: string[]): number | undefined => {
        const named = tokenName(config[key]) ?? tokenName(specials[key]);
        if (named !== undefined) {
          const id = tok.token_to_id(named);
          if (id === undefined || !Number.isSafeInteger(id) || id < 0) throw new InputError(file, `the ${key} ${JSON.stringify(named)} named beside it is not in its vocabulary`);
          return id;
        }
        for (const c of fallbacks) {
          const id = added.get(c);
          if (id !== undefined && Number.isSafeInteger(id) && id >= 0) return id;
        }
        return undefined;
      };
      return new TextTokenizer(file, tok, find('bos_token', BOS_CANDIDATES), find('eos_token', EOS_CANDIDATES), vocabSize);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(file, `is not a tokenizer.json that can be used (${oneLine(String((e as Error)?.message ?? e))}); re-download the model's tokenizer.json`, { cause: e });
    }
  }

  /** Token ids of `text`, without any special tokens added. */
  encode(text: string): Int32Array {
    let ids: number[];
    try {
      ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    } catch (e) {
      throw new InputError(this.path, `could not tokenize the text (${oneLine(String((e as Error)?.message ?? e))})`, { cause: e });
    }
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new InputError(this.path, `has no token for part of the text near ${JSON.stringify(text.slice(0, 40))}; the tokenizer's vocabulary lacks some of its characters`);
      }
      out[i] = id;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return this.tok.decode(Array.from(ids), { skip_special_tokens: false });
  }

  /** The vocabulary string of one token (e.g. `Ġthe`), or undefined. */
  tokenString(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}

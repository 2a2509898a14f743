#!/usr/bin/python3
"""Golden files for @vsae/transformer, from an independent PyTorch reference.

Run with Debian's torch:  /usr/bin/python3 tools/reference/transformer_golden.py

It writes, under packages/transformer/test/fixtures/:

  gpt2-tiny/     a small random GPT-2 as a Hugging Face directory: model.safetensors (keys with
                 the `transformer.` prefix, Conv1D layout [in, out]), config.json, tokenizer.json
                 (+ tokenizer_config.json) copied from hf-internal-testing/tiny-random-gpt2
  gelu1l-tiny/   a small random GELU-1L in TransformerLens layout written with torch.save
                 (model_final.pth), a TransformerLens config.json, and a small NeoX-style
                 byte-level BPE tokenizer.json (digits split individually, as in
                 NeelNanda/gpt-neox-tokenizer-digits) trained here on the sample corpus
  gpt2-tiny.golden.safetensors, gelu1l-tiny.golden.safetensors
                 the token batch, every hook's activation, the logits, the per-window
                 next-token cross-entropy, and the same with blocks.0.mlp.hook_post
                 zero-ablated (CE per window, and the logits at each window's last position)
  tokenizer.golden.json
                 token ids of a few strings for both tokenizers, from a reference byte-level
                 BPE written below (GPT-2's published algorithm), not from the JS library

The forward passes below are written from the published GPT-2 / TransformerLens math in plain
PyTorch, in float64 from the float32 weights, independently of the TypeScript code.
No `transformers`, `tokenizers` or `safetensors` module is needed (safetensors is written with
struct + json).
"""
import collections
import json
import math
import os
import shutil
import struct
import sys
import unicodedata

import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'packages', 'transformer', 'test', 'fixtures')
SHARED_TOK = os.path.join(ROOT, '..', 'shared', 'fixtures', 'tiny-random-gpt2')
CORPUS = os.path.join(ROOT, 'datasets', 'sotu-1790-1809.txt')

torch.manual_seed(20261126)


# ---------------------------------------------------------------- safetensors (struct + json)

def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    off = 0
    dt = {torch.float32: 'F32', torch.int32: 'I32', torch.float16: 'F16', torch.int64: 'I64'}
    for name, t in tensors.items():
        t = t.contiguous()
        b = t.numpy().tobytes()
        header[name] = {'dtype': dt[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        assert e['dtype'] == 'F32', e
        b, en = e['data_offsets']
        out[name] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + en]), dtype=torch.float32).reshape(e['shape'])
    return out


# ---------------------------------------------------------------- reference byte-level BPE

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode map (openai/gpt-2 encoder.py)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENC = bytes_to_unicode()


def cat(ch):
    c = unicodedata.category(ch)
    if c.startswith('L'):
        return 'L'
    if c.startswith('N'):
        return 'N'
    if ch.isspace():
        return 'S'
    return 'O'


def gpt2_pretokenize(text):
    """The GPT-2 split pattern, written out by hand:
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    out = []
    i, n = 0, len(text)
    while i < n:
        for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if text.startswith(c, i):
                out.append(c)
                i += len(c)
                break
        else:
            ch = text[i]
            k = cat(ch)
            if k != 'S' or (ch == ' ' and i + 1 < n and cat(text[i + 1]) != 'S'):
                j = i + 1 if (ch == ' ' and k == 'S') else i
                kind = cat(text[j])
                e = j
                while e < n and cat(text[e]) == kind:
                    e += 1
                out.append(text[i:e])
                i = e
            else:
                e = i
                while e < n and cat(text[e]) == 'S':
                    e += 1
                if e < n and e - i >= 2:
                    e -= 1  # \s+(?!\S): leave the last space for the next token
                out.append(text[i:e])
                i = e
    return out


def digits_split(text):
    """HF `Digits(individual_digits=True)`: every digit is its own piece."""
    pieces, cur = [], ''
    for ch in text:
        if ch.isnumeric():
            if cur:
                pieces.append(cur)
                cur = ''
            pieces.append(ch)
        else:
            cur += ch
    if cur:
        pieces.append(cur)
    return pieces


def bpe_word(word, ranks):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
        r, i = min(pairs)
        if r == 1 << 30:
            break
        a, b = parts[i], parts[i + 1]
        merged = []
        k = 0
        while k < len(parts):
            if k < len(parts) - 1 and parts[k] == a and parts[k + 1] == b:
                merged.append(a + b)
                k += 2
            else:
                merged.append(parts[k])
                k += 1
        parts = merged
    return parts


def reference_encode(text, vocab, merges, digits, nfc):
    ranks = {tuple(m.split(' ')): i for i, m in enumerate(merges)}
    if nfc:
        text = unicodedata.normalize('NFC', text)
    pieces = digits_split(text) if digits else [text]
    ids = []
    for p in pieces:
        for tok in gpt2_pretokenize(p):
            word = ''.join(BYTE_ENC[b] for b in tok.encode('utf-8'))
            for sub in bpe_word(word, ranks):
                ids.append(vocab[sub])
    return ids


def train_bpe(text, n_merges):
    """A tiny byte-level BPE trainer for the GELU-1L fixture tokenizer."""
    words = collections.Counter()
    for p in digits_split(unicodedata.normalize('NFC', text)):
        for tok in gpt2_pretokenize(p):
            words[tuple(BYTE_ENC[b] for b in tok.encode('utf-8'))] += 1
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f'{a} {b}')
        nw = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] += c
        words = nw
    return merges


def neox_tokenizer(n_merges=300):
    text = open(CORPUS, encoding='utf-8').read()[:60000]
    merges = train_bpe(text, n_merges)
    vocab = {'<|endoftext|>': 0, '<|padding|>': 1}
    for b in range(256):
        vocab[BYTE_ENC[b]] = len(vocab)
    for m in merges:
        a, b = m.split(' ')
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    special = lambda i, c: {'id': i, 'content': c, 'single_word': False, 'lstrip': False, 'rstrip': False,
                            'normalized': False, 'special': True}
    bl = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    tok = {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [special(0, '<|endoftext|>'), special(1, '<|padding|>')],
        'normalizer': {'type': 'NFC'},
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [{'type': 'Digits', 'individual_digits': True}, bl]},
        'post_processor': bl,
        'decoder': bl,
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False,
                  'vocab': vocab, 'merges': merges},
    }
    return tok


# ---------------------------------------------------------------- reference forward passes

def layer_norm(x, w, b, eps, hooks, name):
    x = x - x.mean(-1, keepdim=True)
    scale = (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()
    hooks[f'{name}.hook_scale'] = scale
    out = x / scale * w + b
    hooks[f'{name}.hook_normalized'] = out
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def attention(q, k, v, hooks, L):
    """q, k, v: [batch, pos, head, d_head] -> z [batch, pos, head, d_head]."""
    hooks[f'blocks.{L}.attn.hook_q'] = q
    hooks[f'blocks.{L}.attn.hook_k'] = k
    hooks[f'blocks.{L}.attn.hook_v'] = v
    d_head = q.shape[-1]
    scores = torch.einsum('bqhd,bkhd->bhqk', q, k) / math.sqrt(d_head)
    T = q.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float('-inf'))
    hooks[f'blocks.{L}.attn.hook_attn_scores'] = scores
    pattern = torch.softmax(scores, dim=-1)
    hooks[f'blocks.{L}.attn.hook_pattern'] = pattern
    z = torch.einsum('bhqk,bkhd->bqhd', pattern, v)
    hooks[f'blocks.{L}.attn.hook_z'] = z
    return z


def gpt2_forward(W, cfg, tokens, ablate=None):
    """HF GPT-2 (Conv1D: y = x W + b), with TransformerLens hook names."""
    W = {k: v.double() for k, v in W.items()}
    hooks = {}
    B, T = tokens.shape
    d, H = cfg['n_embd'], cfg['n_head']
    dh = d // H
    eps = cfg['layer_norm_epsilon']
    emb = W['transformer.wte.weight'][tokens]
    pos = W['transformer.wpe.weight'][:T].unsqueeze(0).expand(B, T, d)
    hooks['hook_embed'] = emb
    hooks['hook_pos_embed'] = pos
    x = emb + pos
    for L in range(cfg['n_layer']):
        p = f'transformer.h.{L}.'
        hooks[f'blocks.{L}.hook_resid_pre'] = x
        n1 = layer_norm(x, W[p + 'ln_1.weight'], W[p + 'ln_1.bias'], eps, hooks, f'blocks.{L}.ln1')
        qkv = n1 @ W[p + 'attn.c_attn.weight'] + W[p + 'attn.c_attn.bias']
        q, k, v = qkv.split(d, dim=-1)
        z = attention(q.reshape(B, T, H, dh), k.reshape(B, T, H, dh), v.reshape(B, T, H, dh), hooks, L)
        attn_out = z.reshape(B, T, d) @ W[p + 'attn.c_proj.weight'] + W[p + 'attn.c_proj.bias']
        hooks[f'blocks.{L}.hook_attn_out'] = attn_out
        x = x + attn_out
        hooks[f'blocks.{L}.hook_resid_mid'] = x
        n2 = layer_norm(x, W[p + 'ln_2.weight'], W[p + 'ln_2.bias'], eps, hooks, f'blocks.{L}.ln2')
        pre = n2 @ W[p + 'mlp.c_fc.weight'] + W[p + 'mlp.c_fc.bias']
        hooks[f'blocks.{L}.mlp.hook_pre'] = pre
        post = gelu_new(pre)
        if ablate == f'blocks.{L}.mlp.hook_post':
            post = torch.zeros_like(post)
        hooks[f'blocks.{L}.mlp.hook_post'] = post
        mlp_out = post @ W[p + 'mlp.c_proj.weight'] + W[p + 'mlp.c_proj.bias']
        hooks[f'blocks.{L}.hook_mlp_out'] = mlp_out
        x = x + mlp_out
        hooks[f'blocks.{L}.hook_resid_post'] = x
    nf = layer_norm(x, W['transformer.ln_f.weight'], W['transformer.ln_f.bias'], eps, hooks, 'ln_final')
    logits = nf @ W['transformer.wte.weight'].T  # tied unembedding, no bias
    return hooks, logits


def tl_forward(W, cfg, tokens, ablate=None):
    """TransformerLens HookedTransformer (LN, standard positions, erf GELU) from its own state dict."""
    W = {k: v.double() for k, v in W.items()}
    hooks = {}
    B, T = tokens.shape
    d = cfg['d_model']
    eps = 1e-5
    emb = W['embed.W_E'][tokens]
    pos = W['pos_embed.W_pos'][:T].unsqueeze(0).expand(B, T, d)
    hooks['hook_embed'] = emb
    hooks['hook_pos_embed'] = pos
    x = emb + pos
    for L in range(cfg['n_layers']):
        p = f'blocks.{L}.'
        hooks[p + 'hook_resid_pre'] = x
        n1 = layer_norm(x, W[p + 'ln1.w'], W[p + 'ln1.b'], eps, hooks, p + 'ln1')
        q = torch.einsum('bpm,hmd->bphd', n1, W[p + 'attn.W_Q']) + W[p + 'attn.b_Q']
        k = torch.einsum('bpm,hmd->bphd', n1, W[p + 'attn.W_K']) + W[p + 'attn.b_K']
        v = torch.einsum('bpm,hmd->bphd', n1, W[p + 'attn.W_V']) + W[p + 'attn.b_V']
        z = attention(q, k, v, hooks, L)
        attn_out = torch.einsum('bphd,hdm->bpm', z, W[p + 'attn.W_O']) + W[p + 'attn.b_O']
        hooks[p + 'hook_attn_out'] = attn_out
        x = x + attn_out
        hooks[p + 'hook_resid_mid'] = x
        n2 = layer_norm(x, W[p + 'ln2.w'], W[p + 'ln2.b'], eps, hooks, p + 'ln2')
        pre = n2 @ W[p + 'mlp.W_in'] + W[p + 'mlp.b_in']
        hooks[p + 'mlp.hook_pre'] = pre
        post = gelu_erf(pre)
        if ablate == p + 'mlp.hook_post':
            post = torch.zeros_like(post)
        hooks[p + 'mlp.hook_post'] = post
        mlp_out = post @ W[p + 'mlp.W_out'] + W[p + 'mlp.b_out']
        hooks[p + 'hook_mlp_out'] = mlp_out
        x = x + mlp_out
        hooks[p + 'hook_resid_post'] = x
    nf = layer_norm(x, W['ln_final.w'], W['ln_final.b'], eps, hooks, 'ln_final')
    b_U = W.get('unembed.b_U', torch.zeros(W['unembed.W_U'].shape[1], dtype=torch.float64))
    logits = nf @ W['unembed.W_U'] + b_U
    return hooks, logits


def ce_per_window(logits, tokens):
    lp = torch.log_softmax(logits[:, :-1], dim=-1)
    nll = -lp.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
    return nll.mean(-1)


def golden(path, tokens, hooks, logits, ce, logits_abl, ce_abl):
    t = {'tokens': tokens.to(torch.int32)}
    for k, v in hooks.items():
        t[k] = v.float()
    t['logits'] = logits.float()
    t['ce'] = ce.float()
    t['ablated.logits_last'] = logits_abl[:, -1].float()  # [batch, vocab]: last position only, to stay small
    t['ablated.ce'] = ce_abl.float()
    write_safetensors(path, t, {'ablated': 'blocks.0.mlp.hook_post'})


def rnd(*shape, std=0.4):
    return torch.randn(*shape) * std


def main():
    os.makedirs(OUT, exist_ok=True)

    # ---- tokenizers
    gtok_dir = os.path.join(OUT, 'gpt2-tiny')
    os.makedirs(gtok_dir, exist_ok=True)
    if not os.path.exists(os.path.join(SHARED_TOK, 'tokenizer.json')):
        sys.exit(f'{SHARED_TOK}/tokenizer.json is missing: the GPT-2 fixture reuses its (Apache-2.0) tokenizer')
    shutil.copy(os.path.join(SHARED_TOK, 'tokenizer.json'), gtok_dir)
    shutil.copy(os.path.join(SHARED_TOK, 'tokenizer_config.json'), gtok_dir)
    gtok = json.load(open(os.path.join(gtok_dir, 'tokenizer.json')))
    ntok = neox_tokenizer()
    ldir = os.path.join(OUT, 'gelu1l-tiny')
    os.makedirs(ldir, exist_ok=True)
    with open(os.path.join(ldir, 'tokenizer.json'), 'w') as f:
        json.dump(ntok, f, ensure_ascii=False)

    texts = [
        'Fellow-Citizens of the Senate and House of Representatives:',
        "The year 1790 saw 13 states; it's the people's Congress, isn't it?",
        'Double  spaces,\n\nnew lines,\n  indented and trailing space ',
        'Numbers: 3.14159, 2,500 dollars, and 42nd street.',
        'Café, naïve, résumé — Œuvre!',
    ]
    tok_golden = {'texts': texts, 'gpt2': [], 'gelu1l': []}
    for t in texts:
        tok_golden['gpt2'].append(reference_encode(t, gtok['model']['vocab'], gtok['model']['merges'], False, False))
        tok_golden['gelu1l'].append(reference_encode(t, ntok['model']['vocab'], ntok['model']['merges'], True, True))
    with open(os.path.join(OUT, 'tokenizer.golden.json'), 'w') as f:
        json.dump(tok_golden, f, ensure_ascii=False, indent=1)

    # ---- GPT-2 tiny (Hugging Face directory)
    V = len(gtok['model']['vocab'])
    cfg = {'activation_function': 'gelu_new', 'architectures': ['GPT2LMHeadModel'], 'bos_token_id': V - 1,
           'eos_token_id': V - 1, 'layer_norm_epsilon': 1e-5, 'model_type': 'gpt2', 'n_ctx': 32,
           'n_embd': 16, 'n_head': 4, 'n_inner': None, 'n_layer': 2, 'n_positions': 32,
           'scale_attn_by_inverse_layer_idx': False, 'vocab_size': V}
    d = cfg['n_embd']
    W = {'transformer.wte.weight': rnd(V, d), 'transformer.wpe.weight': rnd(cfg['n_positions'], d, std=0.2)}
    for L in range(cfg['n_layer']):
        p = f'transformer.h.{L}.'
        W[p + 'ln_1.weight'] = 1 + rnd(d, std=0.2)
        W[p + 'ln_1.bias'] = rnd(d, std=0.1)
        W[p + 'attn.c_attn.weight'] = rnd(d, 3 * d)
        W[p + 'attn.c_attn.bias'] = rnd(3 * d, std=0.1)
        W[p + 'attn.c_proj.weight'] = rnd(d, d)
        W[p + 'attn.c_proj.bias'] = rnd(d, std=0.1)
        W[p + 'ln_2.weight'] = 1 + rnd(d, std=0.2)
        W[p + 'ln_2.bias'] = rnd(d, std=0.1)
        W[p + 'mlp.c_fc.weight'] = rnd(d, 4 * d)
        W[p + 'mlp.c_fc.bias'] = rnd(4 * d, std=0.1)
        W[p + 'mlp.c_proj.weight'] = rnd(4 * d, d, std=0.2)
        W[p + 'mlp.c_proj.bias'] = rnd(d, std=0.1)
        # The causal-mask buffer older checkpoints carry; loaders must ignore it.
        W[p + 'attn.bias'] = torch.ones(cfg['n_positions'], cfg['n_positions']).tril().view(1, 1, cfg['n_positions'], cfg['n_positions'])
    W['transformer.ln_f.weight'] = 1 + rnd(d, std=0.2)
    W['transformer.ln_f.bias'] = rnd(d, std=0.1)
    write_safetensors(os.path.join(gtok_dir, 'model.safetensors'), W, {'format': 'pt'})
    with open(os.path.join(gtok_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    tokens = torch.randint(0, V, (2, 10))
    tokens[:, 0] = 0  # <|endoftext|> as BOS in the first window positions
    hooks, logits = gpt2_forward(W, cfg, tokens)
    h2, logits_abl = gpt2_forward(W, cfg, tokens, ablate='blocks.0.mlp.hook_post')
    golden(os.path.join(OUT, 'gpt2-tiny.golden.safetensors'), tokens, hooks, logits,
           ce_per_window(logits, tokens), logits_abl, ce_per_window(logits_abl, tokens))

    # ---- GELU-1L tiny (TransformerLens state dict, torch.save)
    Vn = len(ntok['model']['vocab'])
    lcfg = {'d_model': 16, 'n_layers': 1, 'd_mlp': 64, 'd_head': 8, 'n_heads': 2, 'n_ctx': 32, 'd_vocab': Vn,
            'act_fn': 'gelu', 'normalization': 'LN', 'attn_only': False, 'shortformer_pos': False,
            'tokenizer_name': 'NeelNanda/gpt-neox-tokenizer-digits', 'seed': 20261126}
    dm, H, dh, dmlp = lcfg['d_model'], lcfg['n_heads'], lcfg['d_head'], lcfg['d_mlp']
    sd = collections.OrderedDict()
    sd['embed.W_E'] = rnd(Vn, dm)
    sd['pos_embed.W_pos'] = rnd(lcfg['n_ctx'], dm, std=0.2)
    sd['blocks.0.ln1.w'] = 1 + rnd(dm, std=0.2)
    sd['blocks.0.ln1.b'] = rnd(dm, std=0.1)
    # W_Q, W_K, W_V as views of one storage (storage offsets), W_O as a permuted view
    # (non-contiguous strides): torch.save keeps views, so the reader must honour both.
    qkv = rnd(3, H, dm, dh)
    sd['blocks.0.attn.W_Q'] = qkv[0]
    sd['blocks.0.attn.W_K'] = qkv[1]
    sd['blocks.0.attn.W_V'] = qkv[2]
    sd['blocks.0.attn.W_O'] = rnd(dh, H, dm).permute(1, 0, 2)
    sd['blocks.0.attn.b_Q'] = rnd(H, dh, std=0.1)
    sd['blocks.0.attn.b_K'] = rnd(H, dh, std=0.1)
    sd['blocks.0.attn.b_V'] = rnd(H, dh, std=0.1)
    sd['blocks.0.attn.b_O'] = rnd(dm, std=0.1)
    sd['blocks.0.attn.mask'] = torch.ones(lcfg['n_ctx'], lcfg['n_ctx'], dtype=torch.bool).tril()
    sd['blocks.0.attn.IGNORE'] = torch.tensor(-1e5)
    sd['blocks.0.ln2.w'] = 1 + rnd(dm, std=0.2)
    sd['blocks.0.ln2.b'] = rnd(dm, std=0.1).half()  # a half tensor: the reader converts dtypes
    sd['blocks.0.mlp.W_in'] = rnd(dm, dmlp)
    sd['blocks.0.mlp.b_in'] = rnd(dmlp, std=0.1)
    sd['blocks.0.mlp.W_out'] = rnd(dmlp, dm, std=0.2)
    sd['blocks.0.mlp.b_out'] = rnd(dm, std=0.1)
    sd['ln_final.w'] = 1 + rnd(dm, std=0.2)
    sd['ln_final.b'] = rnd(dm, std=0.1)
    sd['unembed.W_U'] = rnd(Vn, dm).T  # transposed view; no unembed.b_U (zeros)
    torch.save(sd, os.path.join(ldir, 'model_final.pth'))
    with open(os.path.join(ldir, 'config.json'), 'w') as f:
        json.dump(lcfg, f, indent=2)
    W = {k: v for k, v in sd.items() if k.split('.')[-1] not in ('mask', 'IGNORE')}
    tokens = torch.randint(0, Vn, (2, 10))
    tokens[:, 0] = 0
    hooks, logits = tl_forward(W, lcfg, tokens)
    _, logits_abl = tl_forward(W, lcfg, tokens, ablate='blocks.0.mlp.hook_post')
    golden(os.path.join(OUT, 'gelu1l-tiny.golden.safetensors'), tokens, hooks, logits,
           ce_per_window(logits, tokens), logits_abl, ce_per_window(logits_abl, tokens))
    # ---- the real tiny-random-gpt2 (read in place, never copied): a reference forward for one
    # tokenized sentence, so the test of the real checkpoint checks values, not only shapes.
    W = read_safetensors(os.path.join(SHARED_TOK, 'model.safetensors'))
    rcfg = json.load(open(os.path.join(SHARED_TOK, 'config.json')))
    sentence = 'Fellow-Citizens of the Senate and House of Representatives:'
    ids = reference_encode(sentence, gtok['model']['vocab'], gtok['model']['merges'], False, False)
    tokens = torch.tensor([[0] + ids[:11]])  # BOS (<|endoftext|> = 0 in its tokenizer) + 11 tokens
    hooks, logits = gpt2_forward(W, rcfg, tokens)
    write_safetensors(os.path.join(OUT, 'tiny-random-gpt2.golden.safetensors'), {
        'tokens': tokens.to(torch.int32),
        'blocks.0.mlp.hook_post': hooks['blocks.0.mlp.hook_post'].float(),
        'blocks.4.hook_resid_post': hooks['blocks.4.hook_resid_post'].float(),
        'logits': logits.float(),
    }, {'text': sentence})

    # ---- a small checkpoint of views and dtypes with known values (arange), for the reader
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    views = collections.OrderedDict()
    views['contiguous'] = base
    views['permuted'] = base.permute(2, 0, 1)          # strides (1, 12, 4)
    views['offset'] = base[1]                          # storage offset 12
    views['strided'] = base[:, 1:, ::2]                # offset 4, strides (12, 4, 2)
    views['expanded'] = torch.arange(3, dtype=torch.float32).reshape(3, 1).expand(3, 4)  # stride 0
    views['half'] = torch.arange(6, dtype=torch.float32).half() / 4
    views['bfloat16'] = torch.arange(6, dtype=torch.float32).bfloat16() * 2
    views['double'] = torch.arange(6, dtype=torch.float64) / 8
    views['int64'] = torch.arange(6, dtype=torch.int64) - 3
    views['scalar'] = torch.tensor(7.5)
    torch.save(views, os.path.join(OUT, 'views.pth'))

    for root, _, files in os.walk(OUT):
        for f in sorted(files):
            p = os.path.join(root, f)
            print(f'{os.path.relpath(p, ROOT)}  {os.path.getsize(p)} bytes')


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Reads vsae's files with the Python ecosystem's own readers and checks what they find.

    tools/interop/make-artifacts.sh DIR        # with node, writes the files
    python3 tools/interop/check.py DIR [OUT]   # with pyarrow, tensorboard, safetensors, torch,
                                               # transformers, tokenizers (none of it vsae's code)

Checks, each a whole-tensor comparison with a stated tolerance:
  arrow        pyarrow.ipc reads the toy dataset (file and stream format) and its `vsae:` schema
               metadata; pyarrow.dataset reads the sharded directories and gives the same rows
               as the shards one by one; the truth file loads with safetensors.numpy
  saelens      cfg.json has the fields SAELens's standard SAE config needs; sae_weights loads with
               safetensors.torch, holds the standard keys and shapes (VSAE var-flag runs: the
               extra W_enc_var/b_enc_var, which SAELens loads with strict=False); the SAELens
               standard forward  f = relu((x − b_dec) W_enc + b_enc),  x̂ = f W_dec + b_dec  in
               float64 gives vsae analyze's per-row MSE and cosine (reconstruction.arrow), its
               per-latent firing frequency (features.arrow) and its summary (L0, explained
               variance, L2 ratio)
  tensorboard  tensorboard's EventAccumulator reads every run's event file; each train/* scalar
               series equals the run's metrics.arrows column (float32)
  gpt2         transformers' GPT2LMHeadModel (eager attention, float64) on vsae extract's own
               token windows gives the same hook activations (resid_pre, mlp hook_post via the
               activation module, resid_post, resid_mid); the Hugging Face `tokenizers` library
               gives the same token ids as vsae's tokenizer
Prints one line per check and writes OUT/interop.json; exits 1 if any check fails.
"""
import glob
import json
import math
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.ipc as ipc

DIR = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else DIR
results = []


def check(name, ok, **info):
    results.append({'check': name, 'ok': bool(ok), **info})
    print(('PASS ' if ok else 'FAIL ') + name + ' ' + json.dumps(info, default=float), flush=True)


def acts(table):
    col = table.column('act').combine_chunks()
    d = col.type.list_size
    return np.asarray(col.values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, d)


def guard(name, fn):
    try:
        fn()
    except Exception as e:  # a reader that throws is a failed check, not a crashed script
        import traceback
        traceback.print_exc()
        check(name, False, error=f'{type(e).__name__}: {e}')


# ------------------------------------------------------------------------------------ arrow
def arrow_checks():
    f = ipc.open_file(os.path.join(DIR, 'toy.arrow'))
    t = f.read_all()
    md = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    x = acts(t)
    check('arrow: pyarrow.ipc.open_file reads toy.arrow', x.shape == (8000, 10) and np.isfinite(x).all()
          and 'features' in t.column_names and any(k.startswith('vsae:') for k in md),
          rows=t.num_rows, columns=t.column_names, batches=f.num_record_batches,
          metadata_keys=sorted(md)[:12])
    s = ipc.open_stream(open(os.path.join(DIR, 'toy.stream.arrow'), 'rb')).read_all()
    check('arrow: pyarrow.ipc.open_stream reads the stream written to stdout', s.num_rows == 3000
          and s.schema.field('act').type == t.schema.field('act').type, rows=s.num_rows)
    from safetensors.numpy import load_file
    truth = load_file(os.path.join(DIR, 'toy.truth.safetensors'))
    check('arrow: truth file loads with safetensors.numpy', len(truth) > 0,
          tensors={k: list(v.shape) for k, v in truth.items()})
    for sub, rows in (('toy-sharded', 8000), ('gpt2-sharded', 300)):
        ds = pads.dataset(os.path.join(DIR, sub), format='arrow')  # _dataset.json is skipped (leading _)
        whole = ds.to_table()
        parts = sorted(glob.glob(os.path.join(DIR, sub, 'part-*.arrow')))
        one_by_one = pa.concat_tables([ipc.open_file(p).read_all() for p in parts])
        manifest = json.load(open(os.path.join(DIR, sub, '_dataset.json')))
        check(f'arrow: pyarrow.dataset reads {sub}/', whole.num_rows == rows
              and np.array_equal(acts(whole), acts(one_by_one)), rows=whole.num_rows, shards=len(parts),
              manifest_keys=sorted(manifest)[:10])


# ---------------------------------------------------------------------------------- saelens
SAELENS_FIELDS = ['d_in', 'd_sae', 'dtype', 'device', 'apply_b_dec_to_input', 'normalize_activations',
                  'architecture', 'metadata']


def saelens_checks():
    import torch
    from safetensors.torch import load_file
    x = torch.from_numpy(acts(ipc.open_file(os.path.join(DIR, 'toy.arrow')).read_all())).double()
    for run in sorted(os.listdir(os.path.join(DIR, 'runs'))):
        rd = os.path.join(DIR, 'runs', run)
        cfg = json.load(open(os.path.join(rd, 'cfg.json')))
        w = load_file(os.path.join(rd, 'sae_weights.safetensors'))
        d_in, d_sae = cfg['d_in'], cfg['d_sae']
        std = {'W_enc': [d_in, d_sae], 'b_enc': [d_sae], 'W_dec': [d_sae, d_in], 'b_dec': [d_in]}
        extra = sorted(set(w) - set(std))
        check(f'saelens: {run} cfg.json and sae_weights.safetensors in the standard layout',
              all(k in cfg for k in SAELENS_FIELDS) and cfg['architecture'] == 'standard'
              and cfg['normalize_activations'] == 'none' and cfg['apply_b_dec_to_input'] is True
              and all(list(w[k].shape) == s and w[k].dtype == torch.float32 for k, s in std.items())
              and extra == ([] if cfg['vsae'].get('var_flag', 0) == 0 else ['W_enc_var', 'b_enc_var']),
              arch=cfg['vsae']['arch'], extra_keys_for_strict_false=extra)
        W_enc, b_enc, W_dec, b_dec = (w[k].double() for k in ('W_enc', 'b_enc', 'W_dec', 'b_dec'))
        f = torch.relu((x - b_dec) @ W_enc + b_enc)
        xh = f @ W_dec + b_dec
        mse = ((xh - x) ** 2).mean(1)
        cos = torch.nn.functional.cosine_similarity(x, xh, dim=1)
        rec = ipc.open_file(os.path.join(rd, 'analysis', 'reconstruction.arrow')).read_all()
        feats = ipc.open_file(os.path.join(rd, 'analysis', 'features.arrow')).read_all()
        summ = json.load(open(os.path.join(rd, 'analysis', 'summary.json')))
        rows = torch.from_numpy(rec.column('row').to_numpy().astype(np.int64))
        v_mse = torch.from_numpy(rec.column('mse').to_numpy().astype(np.float64))
        v_cos = torch.from_numpy(rec.column('cosine').to_numpy().astype(np.float64))
        freq = (f > 1e-8).double().mean(0)
        v_freq = torch.from_numpy(feats.column('frequency').to_numpy())
        ev = 1 - ((xh - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
        l0 = (f > 1e-8).double().sum(1).mean()
        nz = x.norm(dim=1) > 0  # rows of all zeros have no ratio (toy rows with no feature present)
        l2r = (xh.norm(dim=1)[nz] / x.norm(dim=1)[nz]).mean()
        d_mse = (v_mse - mse[rows]).abs().max().item()
        d_cos = (v_cos - cos[rows]).abs().max().item()
        # activations near the 1e-8 threshold can flip between float32 (vsae) and float64 (here)
        n_freq = ((v_freq - freq).abs() * x.shape[0]).max().item()
        check(f'saelens: {run} SAELens forward (float64) gives vsae analyze\'s per-row MSE/cosine, frequencies, summary',
              rows.numel() == x.shape[0] and torch.allclose(v_mse, mse[rows], rtol=1e-4, atol=1e-7)
              and torch.allclose(v_cos, cos[rows], rtol=1e-4, atol=1e-5) and n_freq <= 2
              and abs(summ['explained_variance'] - ev.item()) < 1e-4 and abs(summ['l0'] - l0.item()) < 1e-2
              and abs(summ['l2_ratio'] - l2r.item()) < 1e-4,
              max_abs_diff_mse=d_mse, max_abs_diff_cos=d_cos, max_firing_count_diff=n_freq,
              ev=[summ['explained_variance'], ev.item()], l0=[summ['l0'], l0.item()],
              l2_ratio=[summ['l2_ratio'], l2r.item()])


# ------------------------------------------------------------------------------ tensorboard
def tensorboard_checks():
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    for run in sorted(os.listdir(os.path.join(DIR, 'runs'))):
        rd = os.path.join(DIR, 'runs', run)
        ea = EventAccumulator(rd, size_guidance={'scalars': 0})
        ea.Reload()
        tags = ea.Tags()['scalars']
        m = ipc.open_stream(open(os.path.join(rd, 'metrics.arrows'), 'rb')).read_all()
        worst, missing = 0.0, []
        for col in m.column_names:
            if col == 'step':
                continue
            tag = 'train/' + col
            if tag not in tags:
                missing.append(tag)
                continue
            ev = ea.Scalars(tag)
            steps = np.array([e.step for e in ev])
            vals = np.array([e.value for e in ev], dtype=np.float64)
            want = np.asarray(m.column(col).to_numpy(), dtype=np.float64).astype(np.float32).astype(np.float64)
            if not np.array_equal(steps, m.column('step').to_numpy()) or not np.allclose(vals, want, rtol=1e-6, atol=0, equal_nan=True):
                worst = math.inf
            else:
                worst = max(worst, float(np.nanmax(np.abs(vals - want))) if len(vals) else 0.0)
        check(f'tensorboard: EventAccumulator reads {run}\'s event file; scalars equal metrics.arrows',
              not missing and worst == 0.0 and len(tags) >= 8, tags=len(tags), points=m.num_rows,
              missing=missing, max_abs_diff=worst)


# ------------------------------------------------------------------------------------- gpt2
def gpt2_checks():
    import torch
    from tokenizers import Tokenizer
    from transformers import GPT2LMHeadModel
    mdir = os.path.join(DIR, 'gpt2')
    model = GPT2LMHeadModel.from_pretrained(mdir, attn_implementation='eager').double().eval()
    tok = Tokenizer.from_file(os.path.join(mdir, 'tokenizer.json'))
    ids = tok.encode(open(os.path.join(DIR, 'corpus.txt'), encoding='utf-8').read()).ids
    caught = {}
    blk = model.transformer.h
    hooks = [blk[0].mlp.act.register_forward_hook(lambda m, i, o: caught.__setitem__('mlp0', o)),
             blk[1].attn.register_forward_hook(lambda m, i, o: caught.__setitem__('attn1', o[0] if isinstance(o, tuple) else o))]

    def run(tokens):
        with torch.no_grad():
            out = model(torch.tensor(tokens, dtype=torch.long), output_hidden_states=True)
        hs = out.hidden_states
        return {'blocks.0.hook_resid_pre': hs[0], 'blocks.0.mlp.hook_post': caught['mlp0'],
                'blocks.3.hook_resid_post': hs[4], 'blocks.1.hook_resid_mid': hs[1] + caught['attn1']}

    def compare(hook, table, got):
        v = torch.from_numpy(acts(table)).double()
        g = got.reshape(-1, got.shape[-1])
        diff = (v - g).abs().max().item()
        scale = g.abs().max().item()
        check(f'gpt2: transformers GPT2 gives vsae extract\'s {hook}', v.shape == g.shape
              and torch.allclose(v, g, rtol=1e-4, atol=1e-5 * max(1.0, scale)),
              rows=v.shape[0], d=v.shape[1], max_abs_diff=diff, max_abs_value=scale)

    tabs = {os.path.basename(p)[:-6]: ipc.open_file(p).read_all() for p in glob.glob(os.path.join(DIR, 'gpt2-acts', '*.arrow'))}
    first = next(iter(tabs.values()))
    toks = first.column('token').to_numpy().reshape(-1, 32)
    check('gpt2: Hugging Face tokenizers gives vsae\'s token ids (32-token windows of the corpus)',
          np.array_equal(toks.reshape(-1), np.array(ids[:toks.size])), tokens=int(toks.size),
          first_mismatch=int(np.argmax(toks.reshape(-1) != np.array(ids[:toks.size]))) if not np.array_equal(toks.reshape(-1), np.array(ids[:toks.size])) else None)
    got = run(toks.tolist())
    for hook, t in sorted(tabs.items()):
        compare(hook, t, got[hook])
    sh = pads.dataset(os.path.join(DIR, 'gpt2-sharded'), format='arrow').to_table()
    toks = sh.column('token').to_numpy()
    n = len(toks) // 16 * 16
    win = toks[:n].reshape(-1, 16)
    # TransformerLens prepends the tokenizer's BOS (tiny-random-gpt2's config.json says 98, its tokenizer 0)
    bos = tok.token_to_id('<|endoftext|>')
    want = np.concatenate([[bos] + ids[15 * i:15 * i + 15] for i in range(win.shape[0])])
    check('gpt2: --prepend-bos windows are BOS + the next 15 corpus tokens', np.array_equal(win.reshape(-1), want),
          windows=win.shape[0])
    got = run(win.tolist())
    compare('blocks.1.hook_resid_mid', sh.slice(0, n), got['blocks.1.hook_resid_mid'])
    for h in hooks:
        h.remove()


for name, fn in (('arrow', arrow_checks), ('saelens', saelens_checks), ('tensorboard', tensorboard_checks), ('gpt2', gpt2_checks)):
    guard(name, fn)

versions = {}
for mod in ('pyarrow', 'numpy', 'torch', 'safetensors', 'tensorboard', 'transformers', 'tokenizers'):
    try:
        versions[mod] = __import__(mod).__version__
    except Exception as e:
        versions[mod] = f'unavailable: {e}'
os.makedirs(OUT, exist_ok=True)
json.dump({'versions': versions, 'results': results}, open(os.path.join(OUT, 'interop.json'), 'w'), indent=1, default=float)
bad = [r['check'] for r in results if not r['ok']]
print(f'{len(results) - len(bad)}/{len(results)} checks passed; versions {json.dumps(versions)}')
sys.exit(1 if bad else 0)

#!/usr/bin/python3
"""
Independent PyTorch reference for the TopK family's training step (docs/math.md, "TopK SAE",
"BatchTopK", "vSAE-TopK"), written with autograd and torch.optim.Adam in float64 from the
written math — nothing is shared with the TypeScript hand-derived backward.

Each case draws float32 inputs (batch, initial weights, the rows-since-fired counters, noise),
runs 2 full steps (forward with top-k, AuxK over the dead latents, vSAE-TopK's KL, backward,
TopK's decoder-gradient projection, global gradient-norm clipping, Adam, TopK's unit-norm
decoder rows) and writes packages/sae/test/golden/topk/<case>.safetensors:
  x.<s>, eps.<s> (s = 0, 1), init.<param>, since0 (counters before step 1),
  step1.loss / .recon / .kl / .auxk (F64, step 1's forward), step1.grad.<param> (after clipping),
  step1.<param>, step1.m.<param>, step1.v.<param>, step1.since, and step2.<param>,
with the case's options as JSON in the metadata key "config".

Run: /usr/bin/python3 tools/reference/topk_step.py   (needs torch; no other package)
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from sae_step import write_safetensors  # noqa: E402  (the one safetensors writer of the references)

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'sae', 'test', 'golden', 'topk')
D_IN, D_SAE, B, STEPS = 8, 24, 6, 2


def topk_mask(score, k, over):
    if over == 'batch':
        flat = score.reshape(-1)
        idx = torch.topk(flat, k * score.shape[0]).indices
        return torch.zeros_like(flat).scatter(0, idx, 1.0).reshape(score.shape)
    idx = torch.topk(score, k, dim=-1).indices
    return torch.zeros_like(score).scatter(-1, idx, 1.0)


def step_loss(cfg, p, x, eps, since):
    """Forward, loss terms, and the counters after this batch. since: rows since each latent fired."""
    vsae = cfg['arch'] == 'vsae-topk'
    k, T, alpha = cfg['k'], cfg['dead_tokens'], cfg['aux_coeff']
    Bn = x.shape[0]
    x_in = x if vsae else x - p['b_dec']
    pre = x_in @ p['W_enc'] + p['b_enc']
    act = torch.relu(pre)
    z, lv = act, None
    if vsae and cfg['var_flag'] == 1:
        lv = torch.clamp(x @ p['W_enc_var'] + p['b_enc_var'], -6.0, 2.0)
        z = act + torch.exp(0.5 * lv) * eps
    score = z.abs() if vsae else z
    mask = topk_mask(score.detach(), k, 'batch' if cfg['arch'] == 'batchtopk' else 'row')
    code = z * mask
    x_hat = code @ p['W_dec'] + p['b_dec']
    e = x - x_hat
    recon = e.pow(2).sum(-1).mean()
    # TopK: kept with a positive value (a kept zero is no firing); vSAE-TopK: the batch sum of s is > 0.
    fired = (code.detach().sum(0) > 0) if vsae else ((code.detach() > 0).sum(0) > 0)
    since = torch.where(fired, torch.zeros_like(since), since + Bn)
    dead = since >= T
    auxk = torch.zeros(())
    n_dead = int(dead.sum())
    if n_dead > 0:
        k_aux = min(D_IN // 2, n_dead)
        base = z if vsae else act
        s = torch.where(dead[None, :], base.abs() if vsae else base, torch.full_like(base, -math.inf))
        aux_mask = topk_mask(s.detach(), k_aux, 'row')
        a = base * aux_mask
        r = e.detach()
        a_hat = a @ p['W_dec'] + (p['b_dec'] if vsae else 0.0)
        num = (r - a_hat).pow(2).sum(-1).mean()
        den = (r - r.mean(0, keepdim=True)).pow(2).sum(-1).mean()
        if vsae:
            auxk = torch.clamp(num / (den + 1e-8), min=0.0)
        elif den > 1e-8:
            auxk = torch.clamp(num / den, min=0.0)
    kl = torch.zeros(())
    if vsae:
        mu_c = torch.clamp(act, -10.0, 10.0)
        per_row = 0.5 * mu_c.pow(2).sum(-1) if lv is None else 0.5 * (mu_c.pow(2) + lv.exp() - 1 - lv).sum(-1)
        kl = torch.clamp(per_row.mean(), min=0.0)
    loss = recon + cfg.get('kl_coeff', 0.0) * kl + alpha * auxk
    return loss, recon, kl, auxk, since


def run_case(name, cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    vsae = cfg['arch'] == 'vsae-topk'
    names = ['W_enc', 'b_enc', 'W_dec', 'b_dec']
    w_dec = torch.randn(D_SAE, D_IN, generator=gen, dtype=torch.float32)
    w_dec = (w_dec.double() / w_dec.double().norm(dim=-1, keepdim=True)).float()
    init = {
        'W_dec': w_dec,
        'W_enc': (w_dec.T + 0.1 * torch.randn(D_IN, D_SAE, generator=gen, dtype=torch.float32)).contiguous(),
        'b_enc': (torch.rand(D_SAE, generator=gen, dtype=torch.float32) - 0.5) * 0.2,
        'b_dec': (torch.rand(D_IN, generator=gen, dtype=torch.float32) - 0.5) * 0.2,
    }
    if vsae and cfg['var_flag'] == 1:
        init['W_enc_var'] = (torch.rand(D_IN, D_SAE, generator=gen, dtype=torch.float32) - 0.5) * 0.6
        init['b_enc_var'] = torch.full((D_SAE,), -2.0, dtype=torch.float32) + (torch.rand(D_SAE, generator=gen, dtype=torch.float32) - 0.5) * 0.4
        names += ['W_enc_var', 'b_enc_var']
    xs = [torch.randn(B, D_IN, generator=gen, dtype=torch.float32) * 1.5 + 0.3 for _ in range(STEPS)]
    epss = [torch.randn(B, D_SAE, generator=gen, dtype=torch.float32) for _ in range(STEPS)]
    # Counters near the dead horizon, so AuxK is on in both steps for some latents.
    T = cfg['dead_tokens']
    since0 = torch.tensor([float(T - (j % 4) * B) for j in range(D_SAE)], dtype=torch.float32)
    p = {n: torch.nn.Parameter(init[n].double().clone()) for n in names}
    opt = torch.optim.Adam([p[n] for n in names], lr=cfg['lr'], betas=(0.9, 0.999), eps=1e-8)
    since = since0.double()
    out = {}
    for s in range(STEPS):
        opt.zero_grad()
        loss, recon, kl, auxk, since = step_loss(cfg, p, xs[s].double(), epss[s].double(), since)
        loss.backward()
        with torch.no_grad():
            if not vsae:  # TopK: project the decoder gradient off each row (norm + 1e-6)
                w = p['W_dec']
                unit = w / (w.norm(dim=-1, keepdim=True) + 1e-6)
                w.grad -= (w.grad * unit).sum(-1, keepdim=True) * unit
            total = torch.sqrt(sum((p[n].grad ** 2).sum() for n in names))
            coef = min(1.0, cfg['grad_clip'] / (float(total) + 1e-6))
            for n in names:
                p[n].grad *= coef
        if s == 0:
            out['step1.loss'] = loss.detach().reshape(1)
            out['step1.recon'] = recon.detach().reshape(1)
            out['step1.kl'] = kl.detach().reshape(1)
            out['step1.auxk'] = auxk.detach().reshape(1)
            out['step1.grad_norm'] = torch.tensor([float(total)])
            for n in names:
                out['step1.grad.' + n] = p[n].grad.detach().float()
        opt.step()
        with torch.no_grad():
            if not vsae:
                p['W_dec'] /= p['W_dec'].norm(dim=-1, keepdim=True)
        tag = 'step%d' % (s + 1)
        for n in names:
            st = opt.state[p[n]]
            out['%s.%s' % (tag, n)] = p[n].detach().float()
            out['%s.m.%s' % (tag, n)] = st['exp_avg'].float()
            out['%s.v.%s' % (tag, n)] = st['exp_avg_sq'].float()
        out['%s.since' % tag] = since.float()
    tensors = {'since0': since0}
    for s in range(STEPS):
        tensors['x.%d' % s] = xs[s]
        tensors['eps.%d' % s] = epss[s]
    for n in names:
        tensors['init.' + n] = init[n]
    tensors.update(out)
    meta = dict(cfg, d_in=D_IN, d_sae=D_SAE, batch=B, steps=STEPS, torch=torch.__version__)
    write_safetensors(os.path.join(OUT, name + '.safetensors'), tensors, {'config': json.dumps(meta)})
    print('%-22s loss %.6f recon %.6f kl %.6f auxk %.6f' % (name, out['step1.loss'].item(), out['step1.recon'].item(), out['step1.kl'].item(), out['step1.auxk'].item()))


BASE = dict(k=3, aux_coeff=1 / 32, dead_tokens=24, grad_clip=1.0, lr=1e-2, var_flag=0)
CASES = {
    'topk': dict(arch='topk'),
    'topk_noclip': dict(arch='topk', grad_clip=100.0, aux_coeff=0.5),
    'batchtopk': dict(arch='batchtopk', k=2),
    'vsae_topk_var0': dict(arch='vsae-topk', kl_coeff=1.0),
    'vsae_topk_var1': dict(arch='vsae-topk', kl_coeff=0.5, var_flag=1),
}

if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    for i, (name, c) in enumerate(CASES.items()):
        run_case(name, dict(BASE, **c), 2000 + i)

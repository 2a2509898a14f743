"""Golden values for @vsae/analyze from an independent PyTorch reference (float64).

Writes packages/analyze/test/golden/analyze_golden.json, read by packages/analyze/test/golden.test.ts:
  - a small SAE (SAELens layout, float32 values) with a dead latent and a near-duplicate
    decoder pair, and input rows x (one of them all zero);
  - per row: MSE (mean over dims) and cosine(x, x_hat) (1 when both are zero, 0 when one is);
    per dim: MSE; explained variance 1 - sum|x - x_hat|^2 / sum|x - mean x|^2; L0; L2 ratio;
    per latent: firing frequency (f > 1e-8), mean when active, max;
  - decoder cosine statistics over distinct pairs (mean, max, the 10 most similar pairs),
    encoder-decoder cosine per latent;
  - ground truth matching (best latent, signed cosine, norms, MMCS over non-zero and over
    norm >= 0.5 features) and MMCS between two dictionaries, both ways.
Run: /usr/bin/python3 tools/reference/analyze_golden.py
"""
import json
import os

import torch

torch.manual_seed(7)
d_in, d_sae, n = 8, 24, 64
f32 = lambda t: t.float().double()  # values representable in float32

W_enc = f32(torch.randn(d_in, d_sae) * 0.5)
b_enc = f32(torch.randn(d_sae) * 0.1)
b_enc[3] = -100.0  # latent 3 never fires
W_dec = torch.randn(d_sae, d_in, dtype=torch.float64)
W_dec[5] = W_dec[2] + 0.05 * torch.randn(d_in, dtype=torch.float64)  # a near-duplicate pair
W_dec = f32(W_dec / W_dec.norm(dim=1, keepdim=True))
b_dec = f32(torch.randn(d_in) * 0.1)
x = f32(torch.relu(torch.randn(n, d_in)) + 0.1 * torch.randn(n, d_in))
x[0] = 0.0

f = torch.relu((x - b_dec) @ W_enc + b_enc)
x_hat = f @ W_dec + b_dec
err = x_hat - x
mse = (err ** 2).mean(dim=1)
nx = (x ** 2).sum(1)
nr = (x_hat ** 2).sum(1)
cos = torch.where((nx == 0) & (nr == 0), torch.ones(n, dtype=torch.float64),
                  torch.where((nx == 0) | (nr == 0), torch.zeros(n, dtype=torch.float64),
                              (x * x_hat).sum(1) / torch.sqrt(nx * nr)))
ev = 1 - (err ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
active = f > 1e-8
l0 = active.double().sum(1).mean()
keep = nx > 0
l2_ratio = (torch.sqrt(nr[keep]) / torch.sqrt(nx[keep])).mean()
count = active.double().sum(0)
mean_act = torch.where(count > 0, (f * active).sum(0) / count.clamp(min=1), torch.full_like(count, float('nan')))
max_act = f.max(0).values

U = W_dec / W_dec.norm(dim=1, keepdim=True)
C = U @ U.T
iu = torch.triu_indices(d_sae, d_sae, offset=1)
pair_cos = C[iu[0], iu[1]]
order = torch.argsort(pair_cos, descending=True)[:10]
enc_dec = (W_enc.T * W_dec).sum(1) / (W_enc.T.norm(dim=1) * W_dec.norm(dim=1))

# Ground truth: 10 features in R^d_in, two of small norm, one zero.
G = f32(torch.randn(10, d_in))
G[0] = W_dec[7] * 2.0  # exactly latent 7's direction
G[8] = G[8] * 0.05
G[9] = 0.0
gn = G.norm(dim=1)
Gu = torch.where(gn[:, None] > 0, G / gn.clamp(min=1e-300)[:, None], G)
S = Gu @ U.T
best = S.argmax(1)
best_cos = S.max(1).values
nz = gn > 0
rep = gn >= 0.5
B = f32(torch.randn(16, d_in))
Bu = B / B.norm(dim=1, keepdim=True)
ab = (U @ Bu.T).max(1)
ba = (Bu @ U.T).max(1)

out = {
    "d_in": d_in, "d_sae": d_sae, "n": n,
    "W_enc": W_enc.flatten().tolist(), "b_enc": b_enc.tolist(), "W_dec": W_dec.flatten().tolist(), "b_dec": b_dec.tolist(),
    "x": x.flatten().tolist(),
    "mse": mse.tolist(), "cosine": cos.tolist(), "dim_mse": (err ** 2).mean(0).tolist(),
    "mse_mean": mse.mean().item(), "mse_std": mse.std(unbiased=False).item(), "mse_median": mse.median().item() if n % 2 else mse.sort().values[n // 2 - 1: n // 2 + 1].mean().item(),
    "cosine_mean": cos.mean().item(), "cosine_std": cos.std(unbiased=False).item(),
    "explained_variance": ev.item(), "l0": l0.item(), "l2_ratio": l2_ratio.item(),
    "frequency": (count / n).tolist(), "mean_act": [None if v != v else v for v in mean_act.tolist()], "max_act": max_act.tolist(),
    "mean_cosine_sim": pair_cos.mean().item(), "max_cosine_sim": pair_cos.max().item(),
    "top_pairs": [[int(iu[0][i]), int(iu[1][i]), pair_cos[i].item()] for i in order],
    "enc_dec_cos": enc_dec.tolist(),
    "truth": G.flatten().tolist(), "truth_best": best.tolist(), "truth_cos": best_cos.tolist(), "truth_norm": gn.tolist(),
    "mmcs": best_cos[nz].mean().item(), "mmcs_represented": best_cos[rep].mean().item(),
    "other": B.flatten().tolist(), "mmcs_a_to_b": ab.values.mean().item(), "mmcs_b_to_a": ba.values.mean().item(),
    "a_to_b_best": ab.indices.tolist(), "b_to_a_best": ba.indices.tolist(),
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "analyze", "test", "golden", "analyze_golden.json")
with open(path, "w") as fh:
    json.dump(out, fh)
print("wrote", os.path.normpath(path))

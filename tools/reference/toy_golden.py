"""Golden values for @vsae/toy from an independent PyTorch reference.

Writes packages/toy/test/golden/toy_golden.json, read by packages/toy/test/golden.test.ts:
  - importance 100^(-i/(n-1)) for a few n;
  - the lower Cholesky factor of the uniform correlation matrix (torch.linalg.cholesky, float64)
    and x = u @ L.T for fixed u (the corr_rate transform; the original's u @ L is the bug);
  - the toy model's importance-weighted loss, its gradients, and W, b after 3 Adam steps
    (torch.optim.Adam, betas 0.9/0.999, eps 1e-8) on a fixed batch, from a fixed W0.
Run: /usr/bin/python3 tools/reference/toy_golden.py
"""
import json
import math
import os

import torch

torch.manual_seed(0)
out = {}

out["importance"] = {
    str(n): [100.0 ** (-i / (n - 1)) if n > 1 else 1.0 for i in range(n)] for n in (1, 2, 5, 100)
}

chol = []
for n, rho in ((6, 0.3), (7, -0.1), (5, 0.9), (4, 0.0)):
    C = torch.full((n, n), rho, dtype=torch.float64)
    C.fill_diagonal_(1.0)
    L = torch.linalg.cholesky(C)
    u = torch.rand(9, n, dtype=torch.float64)
    chol.append({
        "n": n,
        "rho": rho,
        "L": L.flatten().tolist(),
        "u": u.flatten().tolist(),
        "x": (u @ L.T).flatten().tolist(),
        "x_bug": (u @ L).flatten().tolist(),
    })
out["cholesky"] = chol

# Toy model: h = W x (W [n_hidden, n_features]); x' = ReLU(W^T h + b);
# loss = mean over batch and features of importance_i (x_i - x'_i)^2.
n_features, n_hidden, batch, lr = 8, 3, 16, 1e-2
W0 = torch.randn(n_hidden, n_features, dtype=torch.float32) * math.sqrt(2 / (n_hidden + n_features))
b0 = torch.randn(n_features, dtype=torch.float32) * 0.1
present = torch.rand(batch, n_features) < 0.3
x = torch.where(present, torch.rand(batch, n_features), torch.zeros(batch, n_features)).float()
imp = torch.tensor([100.0 ** (-i / (n_features - 1)) for i in range(n_features)], dtype=torch.float32)


def loss_fn(W, b):
    h = x @ W.T
    xr = torch.relu(h @ W + b)
    return (imp * (x - xr) ** 2).mean()


W = W0.clone().requires_grad_(True)
b = b0.clone().requires_grad_(True)
loss0 = loss_fn(W, b)
loss0.backward()
grads = {"W": W.grad.flatten().tolist(), "b": b.grad.flatten().tolist()}
opt = torch.optim.Adam([W, b], lr=lr, betas=(0.9, 0.999), eps=1e-8)
W.grad = None
b.grad = None
losses = []
for _ in range(3):
    opt.zero_grad()
    l = loss_fn(W, b)
    losses.append(l.item())
    l.backward()
    opt.step()
out["model"] = {
    "n_features": n_features,
    "n_hidden": n_hidden,
    "batch": batch,
    "lr": lr,
    "W0": W0.flatten().tolist(),
    "b0": b0.flatten().tolist(),
    "x": x.flatten().tolist(),
    "importance": imp.tolist(),
    "h": (x @ W0.T).flatten().tolist(),
    "loss0": loss0.item(),
    "grad": grads,
    "adam_losses": losses,
    "W3": W.detach().flatten().tolist(),
    "b3": b.detach().flatten().tolist(),
}
out["_source"] = "tools/reference/toy_golden.py, torch " + torch.__version__

dest = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "toy", "test", "golden", "toy_golden.json")
with open(dest, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(dest), os.path.getsize(dest), "bytes")

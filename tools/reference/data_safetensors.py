#!/usr/bin/python3
"""Golden files for @vsae/data's safetensors tests.

Run with the interpreter that has torch:  /usr/bin/python3 tools/reference/data_safetensors.py
Writes packages/data/test/golden/:
  dtypes.safetensors     one tensor per dtype (values from torch, special values included),
                         each with a twin "<name>.f32" holding torch's own float32 conversion;
                         tensors laid out so several start at offsets that are not 4-byte
                         aligned, as in real files.
  misaligned.safetensors header length 4k+1, so the data section itself is misaligned.
  gpt2_expected.safetensors + gpt2_expected.json  whole tensors and the shapes read from the
                         Hugging Face fixture with numpy (independent of the TS reader).
The `safetensors` Python module is not installed here, so files are written with struct+json,
following the format: u64 little-endian header length, JSON header, data section.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "data", "test", "golden")
FIXTURE = "/work/shared/fixtures/tiny-random-gpt2/model.safetensors"

DT = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int32: "I32", torch.int64: "I64", torch.int8: "I8", torch.uint8: "U8",
    torch.int16: "I16", torch.bool: "BOOL",
}


def raw_bytes(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write(path, tensors, metadata=None, header_pad=None):
    """tensors: list of (name, tensor) in data order. header_pad: total header length mod 8 wanted."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, off = [], 0
    for name, t in tensors:
        b = raw_bytes(t)
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    if header_pad is not None:
        while len(h) % 8 != header_pad:
            h += b" "
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261126)
    special = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-7, 6.1e-5, 65504.0, -2.5])
    base = torch.cat([torch.randn(3, 5, generator=g).flatten() * 3, special])  # 24 values
    tensors = {
        "f32": base.reshape(4, 6).to(torch.float32),
        "f16": base.reshape(2, 12).to(torch.float16),
        "bf16": base.reshape(24).to(torch.bfloat16),
        "f64": (base.double() * 1.000000123).reshape(3, 8),
        "i32": torch.randint(-2**31, 2**31 - 1, (7,), generator=g, dtype=torch.int64).to(torch.int32),
        "i64": torch.tensor([0, -1, 2**40 + 3, -(2**50), 16777217, 123456789012], dtype=torch.int64),
        "i8": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "i16": torch.tensor([-32768, -2, 0, 3, 32767], dtype=torch.int16).reshape(5, 1),
        "bool": torch.tensor([True, False, False, True, True]),
        "scalar": torch.tensor(3.25, dtype=torch.float32),
        "empty": torch.zeros(0, 4, dtype=torch.float32),
    }
    # Order chosen so F32/F64/I32/I64 tensors land at odd byte offsets after the 5-byte bool/i8.
    order = ["bool", "f32", "i8", "f64", "u8", "i32", "f16", "i64", "bf16", "i16", "scalar", "empty"]
    items = [(k, tensors[k]) for k in order]
    items += [(k + ".f32", tensors[k].to(torch.float32)) for k in order]
    write(os.path.join(OUT, "dtypes.safetensors"), items, {"format": "pt", "source": "tools/reference/data_safetensors.py"})
    # Header length ≡ 1 (mod 8): the data section starts at an odd file offset.
    write(os.path.join(OUT, "misaligned.safetensors"),
          [("w", tensors["f32"]), ("w.f32", tensors["f32"]), ("h", tensors["f16"]), ("h.f32", tensors["f16"].float())],
          None, header_pad=1)

    if os.path.exists(FIXTURE):
        data = open(FIXTURE, "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        body = data[8 + n:]
        shapes = {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
        picks = ["transformer.h.0.attn.c_attn.bias", "transformer.h.0.ln_1.weight", "transformer.ln_f.bias",
                 "transformer.h.1.mlp.c_proj.weight"]
        out = []
        for k in picks:
            e = header[k]
            a = np.frombuffer(body[e["data_offsets"][0]:e["data_offsets"][1]], dtype="<f4").reshape(e["shape"])
            out.append((k, torch.from_numpy(a.copy())))
        write(os.path.join(OUT, "gpt2_expected.safetensors"), out)
        with open(os.path.join(OUT, "gpt2_expected.json"), "w") as f:
            json.dump({"metadata": header.get("__metadata__", {}), "shapes": shapes}, f, indent=1, sort_keys=True)
    else:
        print(f"note: {FIXTURE} not found; gpt2_expected.* not regenerated", file=sys.stderr)
    print(f"wrote goldens to {OUT}")


if __name__ == "__main__":
    main()

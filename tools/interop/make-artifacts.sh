#!/usr/bin/env bash
# Writes the files that tools/interop/check.py reads with the Python ecosystem's own readers
# (pyarrow, tensorboard, safetensors + torch, transformers + tokenizers).
#   tools/interop/make-artifacts.sh OUT_DIR [MODEL_DIR]
# MODEL_DIR defaults to models/tiny-random-gpt2, a real Hugging Face GPT-2 checkpoint:
#   huggingface-cli download hf-internal-testing/tiny-random-gpt2 --local-dir models/tiny-random-gpt2
set -euo pipefail
OUT=${1:?usage: make-artifacts.sh OUT_DIR [MODEL_DIR]}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODEL=${2:-$ROOT/models/tiny-random-gpt2}
[ -f "$MODEL/config.json" ] || { echo "make-artifacts.sh: $MODEL has no config.json; download a GPT-2 checkpoint there (huggingface-cli download hf-internal-testing/tiny-random-gpt2 --local-dir $MODEL) or give MODEL_DIR" >&2; exit 1; }
VSAE="node $ROOT/packages/cli/bin/vsae.js"
rm -rf "$OUT"; mkdir -p "$OUT/runs"
TOY="--n-features 40 --n-hidden 10 --n-correlated-pairs 2 --n-anticorrelated-pairs 1 --toy-steps 500 -q"
$VSAE toy $TOY --rows 8000 -o "$OUT/toy.arrow"
$VSAE toy $TOY --rows 8000 --shard-rows 3000 -o "$OUT/toy-sharded"
$VSAE toy $TOY --rows 3000 -o - --truth "$OUT/toy-stream.truth.safetensors" > "$OUT/toy.stream.arrow"
$VSAE train --arch sae --input "$OUT/toy.arrow" -o "$OUT/runs/sae" --steps 400 --batch-size 256 --log-every 20 --tensorboard -q
$VSAE train --arch vsae-iso --var-flag 1 --input "$OUT/toy.arrow" -o "$OUT/runs/vsae-iso" --steps 400 --batch-size 256 --log-every 20 --tensorboard -q
$VSAE train --arch sae --normalize-activations expected-average --input "$OUT/toy.arrow" -o "$OUT/runs/sae-norm" --steps 200 --batch-size 256 --tensorboard -q
for r in sae vsae-iso sae-norm; do
  $VSAE analyze "$OUT/runs/$r" --input "$OUT/toy.arrow" --n-samples 0 --feature-sparsity --reconstruction-quality -q
done
cp -r "$MODEL" "$OUT/gpt2"
$VSAE extract --model "$OUT/gpt2" --hook blocks.0.hook_resid_pre,blocks.0.mlp.hook_post,blocks.3.hook_resid_post \
  --text "$ROOT/datasets/sotu-1790-1809.txt" --context 32 --max-tokens 512 -o "$OUT/gpt2-acts" -q
$VSAE extract --model "$OUT/gpt2" --hook blocks.1.hook_resid_mid --prepend-bos --text "$ROOT/datasets/sotu-1790-1809.txt" \
  --context 16 --max-tokens 300 --shard-rows 128 -o "$OUT/gpt2-sharded" -q
cp "$ROOT/datasets/sotu-1790-1809.txt" "$OUT/corpus.txt"
du -sh "$OUT" >&2

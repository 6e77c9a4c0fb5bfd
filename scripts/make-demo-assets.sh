#!/usr/bin/env bash
# Rebuilds the files `pocketnn demo` embeds (crates/cli/assets/demo/) from
# ../shared/models (see its README for where those come from):
#   digits.u8    the first 200 MNIST-5k test images, 784 bytes each (pixel
#                values 0..255; the .npy holds pixel/255 as f32)
#   labels.u8    their 200 labels
#   mlp-*.pnn    seed_mlp converted with each compression pocketnn has
# Usage: scripts/make-demo-assets.sh [PATH/TO/pocketnn] (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${POCKETNN_SHARED_MODELS:-../shared/models}
out=crates/cli/assets/demo
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release -p pocketnn-cli --quiet
  bin=target/release/pocketnn
fi
python=${PYTHON:-python3}
"$python" - "$shared" "$out" <<'PY'
import sys, numpy as np
shared, out = sys.argv[1], sys.argv[2]
x = np.load(f"{shared}/mnist5k_test_x.npy")[:200]
y = np.load(f"{shared}/mnist5k_test_y.npy")[:200]
pixels = np.rint(x.reshape(200, 784) * 255.0)
assert np.abs(pixels / 255.0 - x.reshape(200, 784)).max() < 1e-6, "not pixel/255"
pixels.astype(np.uint8).tofile(f"{out}/digits.u8")
y.astype(np.uint8).tofile(f"{out}/labels.u8")
PY
cal=$(mktemp --suffix=.npy)
trap 'rm -f "$cal"' EXIT
"$python" -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1])[:500])" \
  "$shared/mnist5k_train_x.npy" "$cal"
"$bin" convert "$shared/seed_mlp.onnx" -o "$out/mlp-int8.pnn" --quantize int8 --calibrate "$cal" >/dev/null
"$bin" convert "$shared/seed_mlp.onnx" -o "$out/mlp-int8-dynamic.pnn" --quantize int8-dynamic >/dev/null
"$bin" convert "$shared/seed_mlp.onnx" -o "$out/mlp-fp16.pnn" --quantize fp16 >/dev/null
"$bin" convert "$shared/seed_mlp.onnx" -o "$out/mlp-fp32.pnn" >/dev/null
ls -l "$out"

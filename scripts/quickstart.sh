#!/usr/bin/env bash
# The main job, end to end, with nothing but this repository: build the
# `pocketnn` command, convert the shipped MNIST MLP (ONNX) into a .pnn file,
# inspect it, and run it on ten real handwritten digits (0 to 9).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/quickstart
mkdir -p "$out"
cargo build --release --quiet -p pocketnn-cli
bin=target/release/pocketnn
echo "\$ pocketnn convert models/seed_mlp.onnx -o $out/seed_mlp.pnn"
"$bin" convert models/seed_mlp.onnx -o "$out/seed_mlp.pnn"
echo
echo "\$ pocketnn inspect $out/seed_mlp.pnn"
"$bin" inspect "$out/seed_mlp.pnn"
echo
echo "\$ pocketnn run $out/seed_mlp.pnn --input input=models/digits.npy --output-dir $out/outputs"
"$bin" run "$out/seed_mlp.pnn" --input input=models/digits.npy --output-dir "$out/outputs"
echo "(the digits are 0 1 2 3 4 5 6 7 8 9, in that order)"

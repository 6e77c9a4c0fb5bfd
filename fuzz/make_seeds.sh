#!/usr/bin/env bash
# Writes the seed corpora of every fuzz target into fuzz/corpus/<target>/
# from real files:
#   parse, parse_fixed_checksums  hand-built files using every section, attribute type,
#                                 dim kind and quantization mode (crates/format/examples/fuzz_seeds.rs)
#                                 plus small converted ONNX node tests
#   load_and_run                  real models converted to .pnn (seed_mlp and the ONNX node
#                                 tests: small graphs covering every supported operator), each
#                                 as `u32 length + file`, the layout the target reads
#   onnx_import                   the ONNX files themselves
# Usage: bash fuzz/make_seeds.sh   (POCKETNN_TESTDATA, POCKETNN_MODELS override the sources;
#                                   SEED_LIMIT caps the node tests used, default all)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
testdata="${POCKETNN_TESTDATA:-$root/testdata}"
models="${POCKETNN_MODELS:-$root/models}"
corpus="$root/fuzz/corpus"
limit="${SEED_LIMIT:-100000}"

for target in parse parse_fixed_checksums; do
    mkdir -p "$corpus/$target"
    cargo run --quiet --manifest-path "$root/Cargo.toml" -p pocketnn-format \
        --example fuzz_seeds -- "$corpus/$target"
done

cargo build --quiet --manifest-path "$root/Cargo.toml" -p pocketnn-cli
cli="$root/target/debug/pocketnn"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus/load_and_run" "$corpus/onnx_import"

# `u32 little-endian length` + the .pnn bytes
wrap() {
    python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(struct.pack("<I", len(data)) + data)
PY
}

onnx_files=("$models/seed_mlp.onnx")
if [ -d "$testdata/node" ]; then
    while IFS= read -r f; do onnx_files+=("$f"); done \
        < <(find "$testdata/node" -name model.onnx -size -64k | sort | head -n "$limit")
else
    echo "no ONNX node tests at $testdata/node: seeding from $models only" >&2
fi

converted=0
for onnx in "${onnx_files[@]}"; do
    name="$(basename "$(dirname "$onnx")")"
    [ "$name" = models ] && name="$(basename "$onnx" .onnx)"
    cp "$onnx" "$corpus/onnx_import/$name.onnx"
    if "$cli" convert "$onnx" -o "$work/$name.pnn" >/dev/null 2>&1; then
        wrap "$work/$name.pnn" "$corpus/load_and_run/$name"
        if [ "$(stat -c %s "$work/$name.pnn")" -lt 16384 ]; then
            cp "$work/$name.pnn" "$corpus/parse/$name.pnn"
            cp "$work/$name.pnn" "$corpus/parse_fixed_checksums/$name.pnn"
        fi
        converted=$((converted + 1))
    fi
done
echo "seeds: ${#onnx_files[@]} ONNX files, $converted converted to .pnn"
for target in parse parse_fixed_checksums load_and_run onnx_import; do
    echo "  $target: $(find "$corpus/$target" -type f | wc -l) files"
done

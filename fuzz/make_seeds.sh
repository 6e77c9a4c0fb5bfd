#!/usr/bin/env bash
# Writes the seed corpora of every fuzz target into fuzz/corpus/<target>/
# from real files:
#   parse, parse_fixed_checksums  hand-built files using every section, attribute type,
#                                 dim kind and quantization mode (crates/format/examples/fuzz_seeds.rs)
#                                 plus small converted ONNX node tests
#   load_and_run                  real models converted to .pnn (seed_mlp, its sparse, low-rank
#                                 and int8 forms, and the ONNX node tests: small graphs covering
#                                 every supported operator), each as `u32 length + file`, the
#                                 layout the target reads
#   onnx_import                   the ONNX files themselves
#   ffi                           `u32 length` + seed_mlp.pnn + a hand-made C API call script
#                                 (byte meanings: the `Caller` methods in fuzz_targets/ffi.rs)
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

# The CLI of the workspace's test build (nothing is rebuilt after
# scripts/test.sh has run; a per-package build would rebuild the graph).
cargo test --quiet --manifest-path "$root/Cargo.toml" --workspace --no-run
cli="$root/target/debug/pocketnn"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus/load_and_run" "$corpus/onnx_import"

# `u32 little-endian length` + the .pnn bytes (no subprocess per file: this
# runs for every converted node test)
wrap() {
    local n
    n=$(stat -c %s "$1")
    printf -v n '\\x%02x\\x%02x\\x%02x\\x%02x' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255))
    { printf '%b' "$n"; cat "$1"; } >"$2"
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
# The compressed forms of the seed MLP: the sparse, low-rank and int8
# operators (SparseLinear, SparseQLinearConv, LowRankLinear, QLinearConv,
# DynamicQuantizeLinear ...) with their attributes and constant parts.
compressed=(
    "sparse_csr:--prune 0.95"
    "sparse_1x4_int8:--prune 0.95 --prune-pattern 1x4 --quantize int8 --calibrate $models/digits.npy"
    "low_rank:--low-rank 0.1"
    "int8_dynamic:--quantize int8-dynamic"
)
for entry in "${compressed[@]}"; do
    name="seed_mlp_${entry%%:*}"
    # shellcheck disable=SC2086 # the options are split on purpose
    if "$cli" convert "$models/seed_mlp.onnx" -o "$work/$name.pnn" ${entry#*:} >/dev/null 2>&1; then
        wrap "$work/$name.pnn" "$corpus/load_and_run/$name"
        converted=$((converted + 1))
    else
        echo "make_seeds: converting seed_mlp with ${entry#*:} failed" >&2
        exit 1
    fi
done
# ffi: the seed MLP, then call scripts (one byte per choice, see ffi.rs):
#   buffer_run     load from a buffer, 1-thread session, run with the declared
#                  shape, read in place and copy; destroy the model first, run
#                  again, destroy the session
#   fd_threads     load from fd+offset 64, 2-thread session, run by name with
#                  batch 2, copy into a too small buffer, describe, index by name
#   path_errors    load from a path and from an arbitrary path, session with
#                  every core, truncated buffer, a 2-input run, outputs by name
#   nulls          NULL data/out pointers, NULL model/session handles, empty
#                  destroys
# Each script is written with the seed MLP (972 kB) and with the small node
# tests below (a few hundred bytes: mutations then reach the script more often).
ffi_models=()
for name in seed_mlp test_add test_relu test_matmul_2d test_softmax_example; do
    [ -f "$work/$name.pnn" ] && ffi_models+=("$work/$name.pnn")
done
if [ "${#ffi_models[@]}" -gt 0 ]; then
    mkdir -p "$corpus/ffi"
    python3 - "$corpus/ffi" "${ffi_models[@]}" <<'PY'
import os, struct, sys
scripts = {
    "buffer_run": [0, 0, 0, 4, 4, 1,
                   9, 1, 0, 0, 0, 2, 3, 3, 0, 0, 0, 1, 1, 1, 4, 0, 1,
                   3,
                   9, 1, 0, 0, 0, 2, 3, 3, 0, 0, 0, 1, 1, 1, 4, 0, 1,
                   6],
    "fd_threads": [2, 1, 1, 0, 0, 4, 1, 1,
                   9, 1, 0, 1, 3, 0, 1, 1, 2, 3, 3, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1,
                   7, 0, 1, 0, 0, 8, 1, 3, 0, 1, 1, 0],
    "path_errors": [1, 0, 4, 0, 1, 1, 1, 3, 0x61, 0x62, 0x63, 0, 1, 100, 0,
                    10, 2, 0, 0, 0, 2, 3, 3, 0, 0, 1, 1, 3, 0, 1, 0, 2, 3, 3, 0, 0,
                    11, 0, 1, 0, 1, 6, 0x6c, 0x6f, 0x67, 0x69, 0x74, 0x73, 1, 2, 0, 1],
    "nulls": [0, 3, 4, 4, 1, 9, 0, 11, 0, 1, 1, 1, 0, 1, 3, 6, 7, 0, 0, 0, 0, 8, 0, 0, 1],
}
for path in sys.argv[2:]:
    model = open(path, "rb").read()
    stem = os.path.basename(path)[: -len(".pnn")]
    for name, script in scripts.items():
        with open(os.path.join(sys.argv[1], f"{stem}-{name}"), "wb") as f:
            f.write(struct.pack("<I", len(model)) + model + bytes(script))
PY
fi

echo "seeds: ${#onnx_files[@]} ONNX files, $converted converted to .pnn"
for target in parse parse_fixed_checksums load_and_run onnx_import ffi; do
    echo "  $target: $(find "$corpus/$target" -type f | wc -l) files"
done

#!/usr/bin/env bash
# Writes seed .pnn files for the fuzz targets into fuzz/corpus/<target>/.
# Usage (from anywhere): bash fuzz/make_seeds.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for target in parse parse_fixed_checksums; do
    mkdir -p "$root/fuzz/corpus/$target"
    cargo run --quiet --manifest-path "$root/Cargo.toml" -p pocketnn-format \
        --example fuzz_seeds -- "$root/fuzz/corpus/$target"
done

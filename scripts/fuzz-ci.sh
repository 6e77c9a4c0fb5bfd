#!/usr/bin/env bash
# Builds the fuzz targets with nightly cargo-fuzz (AddressSanitizer, debug
# assertions, cargo-fuzz's defaults) and runs each one from its seed corpus
# for FUZZ_SECONDS, FUZZ_JOBS targets at a time. Prints executions and time per
# target; fails when any target finds a crash, a sanitizer report, a leak,
# an out-of-memory or a timeout (its input is kept under the artifact
# directory, with the command that replays it).
#
# Usage: scripts/fuzz-ci.sh [target ...]      (default: every target below)
# Environment:
#   FUZZ_SECONDS     fuzzing time per target (default 60)
#   FUZZ_JOBS        targets fuzzed at once, one core each (default: cores, at most 4)
#   FUZZ_TIMEOUT     seconds one input may take before it counts as a hang (default 30)
#   FUZZ_RSS_MB      memory limit in MB (default 2048)
#   FUZZ_ARTIFACTS   where crashing inputs go (default fuzz/artifacts/ci-<date>)
#   CARGO_BUILD_JOBS parallel build jobs (cargo's own variable)
# Needs: rustup's nightly toolchain and `cargo install cargo-fuzz`. The seed
# corpora in fuzz/corpus/ are made by fuzz/make_seeds.sh when missing (it
# reads the ONNX node tests from POCKETNN_TESTDATA, see docs/testdata.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/fuzz"
seconds="${FUZZ_SECONDS:-60}"
timeout="${FUZZ_TIMEOUT:-30}"
rss_mb="${FUZZ_RSS_MB:-2048}"
artifacts="${FUZZ_ARTIFACTS:-$fuzz/artifacts/ci-$(date -u +%Y%m%dT%H%M%S)}"
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(parse parse_fixed_checksums load_and_run onnx_import ffi)
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz-ci: needs a nightly toolchain and cargo-fuzz (rustup toolchain install nightly; cargo install cargo-fuzz)" >&2
    exit 2
fi

# Seeds: made once; the corpora then grow with what the fuzzer finds.
for target in "${targets[@]}"; do
    if [ -z "$(find "$fuzz/corpus/$target" -type f -print -quit 2>/dev/null)" ]; then
        echo "fuzz-ci: no seeds for $target: running fuzz/make_seeds.sh"
        bash "$fuzz/make_seeds.sh"
        break
    fi
done

echo "fuzz-ci: building ${targets[*]} (nightly, AddressSanitizer)"
(cd "$fuzz" && for target in "${targets[@]}"; do cargo +nightly fuzz build "$target"; done)

# One target: fuzz it, then write its summary line to $artifacts/<target>.result.
fuzz_one() {
    local target="$1" log="$artifacts/$1.log" status=0 start elapsed execs rate cov found result
    mkdir -p "$artifacts/$target"
    echo "fuzz-ci: $target for ${seconds}s from $(find "$fuzz/corpus/$target" -type f | wc -l) seeds (log: $log)"
    start=$(date +%s)
    (cd "$fuzz" && cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
        -artifact_prefix="$artifacts/$target/" -print_final_stats=1) >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
    found="$(find "$artifacts/$target" -type f | wc -l)"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        result="FAILED (exit $status, $found artifacts)"
        grep -E 'ERROR|panicked|Test unit written|SUMMARY|ALARM|timeout' "$log" | head -n 20 || true
        for a in "$artifacts/$target"/*; do
            [ -e "$a" ] && echo "  replay: (cd fuzz && cargo +nightly fuzz run $target $a)"
        done
    else
        result="ok"
    fi
    printf '%-22s %12s execs %6ss wall %8s exec/s  cov %6s  %s\n' \
        "$target" "${execs:-?}" "$elapsed" "${rate:-?}" "${cov:-?}" "$result" >"$artifacts/$target.result"
}

# Targets run FUZZ_JOBS at a time (default: the number of cores, at most
# 4), each on its own core for the full FUZZ_SECONDS.
jobs="${FUZZ_JOBS:-$(nproc)}"
[ "$jobs" -gt 4 ] && jobs=4
mkdir -p "$artifacts"
running=0
for target in "${targets[@]}"; do
    fuzz_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

summary=()
failed=()
for target in "${targets[@]}"; do
    line="$(cat "$artifacts/$target.result" 2>/dev/null || echo "$target: no result")"
    rm -f "$artifacts/$target.result"
    summary+=("$line")
    case "$line" in *" ok") ;; *) failed+=("$target") ;; esac
done

echo
echo "fuzz-ci summary (${seconds}s per target, timeout ${timeout}s per input):"
for line in "${summary[@]}"; do
    echo "  $line"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-ci: FAILED: ${failed[*]} (inputs under $artifacts)" >&2
    exit 1
fi
rmdir "$artifacts"/* "$artifacts" 2>/dev/null || true
echo "fuzz-ci: no crash"

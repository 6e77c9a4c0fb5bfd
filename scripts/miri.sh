#!/usr/bin/env bash
# Runs the tests that exercise pocketnn's memory handling under Miri
# (`cargo +nightly miri test`), which reports undefined behaviour: out of
# bounds or misaligned accesses, use after free, invalid values, data races,
# leaks. Miri is roughly a thousand times slower than native code, so each
# step picks the tests that cover the code without the big sweeps:
#
#   format       every reader/writer/validator unit test except the
#                randomized robustness loops, the proptest round trip (it needs
#                the file system) and the 60,000-body nesting test
#   tensor       AlignedBuf, typed tensor views (alignment, dtype checks),
#                ISA selection, activations, and the scalar GEMM kernels
#                through the blocked driver (special cases, packed B;
#                POCKETNN_ISA=scalar). The exhaustive shape sweeps (GEMM and
#                GEMV) each run for many minutes under Miri and are left to
#                native runs; the SIMD
#                tiers are covered by native and qemu runs (Miri cannot
#                execute their intrinsics) and by the fuzz targets under ASan
#   runtime      the limits unit and integration tests (limits at load, planning
#                and run time, activation buffers grown at run time), and whole
#                runs of small graphs through the planner, the activation arena
#                and the executor, one of them from 4 threads sharing a model
#                (Miri's data-race detector; scalar kernels)
#
#   ffi          the C API handle code (crates/ffi, tests/handles_in_memory.rs):
#                a tiny model built in memory and loaded from a misaligned
#                buffer, infos and names read through the returned pointers,
#                a session run, read in place and copied, destroyed after its
#                model handle, typed errors for bad inputs, NULL pointers and
#                the last-error strings, and the status/dtype unit tests. The
#                file and fd loads (mmap), the thread-pool sessions and the
#                seed MLP tests are left to native, valgrind and ASan runs
#
# Usage: scripts/miri.sh [format|tensor|runtime|ffi ...]   (default: all four)
# Needs: rustup's nightly toolchain with the miri component
#   (rustup +nightly component add miri; cargo +nightly miri setup).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=("$@")
[ "${#steps[@]}" -gt 0 ] || steps=(format tensor runtime ffi)

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri.sh: needs nightly Miri (rustup +nightly component add miri)" >&2
    exit 2
fi
# Isolation stays on (no file system, no clock): the chosen tests need none.
export MIRIFLAGS="${MIRIFLAGS:-}"
export POCKETNN_ISA=scalar

run() {
    local name="$1"
    shift
    local start=$(date +%s)
    echo "miri.sh: $name: cargo +nightly miri test $*"
    cargo +nightly miri test "$@"
    echo "miri.sh: $name: ok in $(($(date +%s) - start)) s"
}

for step in "${steps[@]}"; do
    case "$step" in
    format)
        run format -p pocketnn-format --lib -- \
            --skip tests::robustness --skip tests::roundtrip --skip deep_nesting_does_not_recurse
        ;;
    tensor)
        run tensor -p pocketnn-tensor --lib -- \
            buffer:: tensor:: isa:: kernels::activation \
            kernels::gemm::tests::special kernels::gemm::tests::packed \
            kernels::gemm::tests::the_kernel_list_is_consistent
        ;;
    runtime)
        run runtime-limits -p pocketnn --lib -- limits::
        run runtime-graphs -p pocketnn --test runtime -- \
            runs_a_graph_and_replans_for_new_shapes input_errors_are_typed \
            symbolic_dims_must_agree_across_inputs if_runs_the_branch_the_condition_picks \
            an_output_that_is_an_input_is_copied_out
        run runtime-limit-tests -p pocketnn --test limits
        # 4 threads sharing a model, two of them with a rayon pool. Under
        # Stacked Borrows Miri stops inside crossbeam-epoch (rayon's work
        # stealing deque): its intrusive list turns a pointer to a struct's
        # first field into a pointer to the whole struct, which Stacked
        # Borrows forbids and Tree Borrows allows. No pocketnn code is
        # involved, so this one test runs under Tree Borrows; the pool's
        # threads outlive the test, hence the ignored leaks.
        MIRIFLAGS="$MIRIFLAGS -Zmiri-tree-borrows -Zmiri-ignore-leaks" \
            run runtime-threads -p pocketnn --test runtime -- one_model_many_threads_same_results
        ;;
    ffi)
        run ffi-unit -p pocketnn-ffi --lib
        run ffi-handles -p pocketnn-ffi --test handles_in_memory
        ;;
    *)
        echo "miri.sh: unknown step $step (format, tensor, runtime, ffi)" >&2
        exit 2
        ;;
    esac
done
echo "miri.sh: no undefined behaviour found in: ${steps[*]}"

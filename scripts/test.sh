#!/usr/bin/env bash
# The test command: on a fresh Debian 12 machine it installs what the tests
# need (apt packages when run as root, rustup targets, a Python venv with
# pinned onnx/onnxruntime/numpy for the test data) and runs the whole suite:
# format, lints, docs, x86_64 tests on every SIMD tier this CPU has, the
# same tests for aarch64 under qemu-user, and the C ABI / JNI / mobile
# packaging tests (scripts/test-ffi.sh).
#
#   scripts/test.sh            everything
#   SKIP_AARCH64=1 scripts/test.sh    skip the qemu run (quicker, local use)
#   SKIP_FUZZ=1 scripts/test.sh       skip the fuzzing stage
#   PRUNE_BUILDS=1 scripts/test.sh    delete each stage's build output and
#                                     test data once no later stage needs
#                                     them (.ci/run sets it: CI machines can
#                                     have little free disk)
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T) disk: $(disk_used)"; }
# Size of this checkout, build output and test data included.
disk_used() { du -sh . 2>/dev/null | cut -f1; }
# prune PATH...: with PRUNE_BUILDS set, remove what a finished stage built.
prune() {
  [ -n "${PRUNE_BUILDS:-}" ] || return 0
  echo "-- pruning $* ($(du -sch "$@" 2>/dev/null | tail -n 1 | cut -f1))"
  rm -rf "$@"
}
# Every build below happens once per run: incremental compilation state
# would only cost disk (gigabytes per target) and link time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Linked test binaries without debug info (std's alone is ~30 MB in each of
# ~25 binaries per target); panics still name the file and line.
export CARGO_PROFILE_TEST_STRIP="${CARGO_PROFILE_TEST_STRIP:-debuginfo}"
export CARGO_PROFILE_DEV_STRIP="${CARGO_PROFILE_DEV_STRIP:-debuginfo}"

step "system packages"
apt_packages=(qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross python3-venv
  gcc g++ g++-aarch64-linux-gnu valgrind openjdk-17-jdk-headless junit4 llvm)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
fi

step "rust toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add aarch64-unknown-linux-gnu aarch64-linux-android armv7-linux-androideabi \
  aarch64-apple-ios >/dev/null

step "test data"
scripts/gen-testdata.sh testdata

step "gates: fmt, clippy, rustdoc"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

# Every cargo command below selects the whole workspace (`--workspace`,
# then targets or test names): selecting single packages (`-p`, or
# `--exclude`) unifies dependency features differently and rebuilds most
# of the dependency graph a second time.
step "tests x86_64 (best tier)"
# --nocapture: the tests print their figures (conformance counts, model
# checks, kernel errors per tier)
cargo test --workspace --quiet -- --nocapture

# Kernel tests already ran every tier this CPU has; here the whole runtime
# is forced onto each tier in turn (POCKETNN_REQUIRE_ISAS makes an absent
# tier a failure, not a silent skip).
step "runtime forced onto every x86_64 tier"
# The model tests are not repeated on avx512: it is the best tier, which
# the run above used (its required_ check fails if the CPU lacks it).
for isa in scalar sse41 avx2 avx512; do
  echo "-- POCKETNN_ISA=$isa"
  POCKETNN_ISA=$isa POCKETNN_REQUIRE_ISAS=$isa POCKETNN_REQUIRE_FEATURES=avx512vnni \
    cargo test --quiet --workspace --lib required_
  [ "$isa" = avx512 ] && continue
  POCKETNN_ISA=$isa cargo test --quiet --workspace --test onnx_conformance --test shared_models -- --nocapture
done

step "C ABI, JNI and mobile packaging (scripts/test-ffi.sh)"
scripts/test-ffi.sh
if [ -z "${SKIP_FUZZ:-}" ]; then
  # The fuzz stage's seed corpora are made with the CLI of this host build.
  step "fuzz seed corpora (fuzz/make_seeds.sh)"
  bash fuzz/make_seeds.sh
fi
# The qemu stage below builds for another target: the host's build output
# is no longer needed.
prune target

if [ -z "${SKIP_AARCH64:-}" ]; then
  step "tests aarch64 under qemu-user (-cpu max)"
  export POCKETNN_EXEC_WRAPPER="$PWD/scripts/qemu-aarch64.sh"
  # Four tests are skipped under emulation, to keep CI in its time budget:
  # VGG-19 (20 GFLOP of plain 3x3 convolutions, Gemm and MaxPool, which
  # AlexNet, ZFNet and the ONNX node tests also run here), resnet50 (4
  # GFLOP of Conv, BatchNorm, residual Add and pooling, which DenseNet,
  # ShuffleNet and the int8 EfficientNet tests also run here), the repeat of
  # the two-threads race check on resnet50 (squeezenet's runs here) and the
  # converter's SVD of seed_cnn's 1024x6272 fc1 (minutes of emulated f64
  # work; the LowRankLinear kernels and seed_mlp's factorization run here).
  # All three run natively above. The model tests evaluate on the first 100
  # MNIST test images (POCKETNN_MNIST_LIMIT; their targets are asserted on
  # all 1000 natively).
  QEMU_CPU=max POCKETNN_MNIST_LIMIT=100 POCKETNN_REQUIRE_ISAS=neon POCKETNN_REQUIRE_FEATURES=dotprod,i8mm,fp16 cargo test --workspace --quiet --target aarch64-unknown-linux-gnu -- --nocapture \
    --skip vgg19 --skip resnet50 --skip seed_cnn_fc1_at_rank_64
  # cortex-a76 has dotprod but not i8mm, cortex-a53 neither: the int8
  # kernels needing them must be reported unavailable, and the rest pass.
  # The unit-test binaries of the kernel and operator crates, as built above.
  mapfile -t kernel_tests < <(cargo test --workspace --quiet --target aarch64-unknown-linux-gnu \
    --lib --no-run --message-format json | python3 scripts/test_executables.py pocketnn-tensor pocketnn-ops)
  [ ${#kernel_tests[@]} -eq 2 ] || { echo "expected 2 test binaries, got: ${kernel_tests[*]}" >&2; exit 1; }
  for cpu_features in cortex-a76:dotprod,fp16 cortex-a53:; do
    cpu=${cpu_features%%:*}
    echo "-- QEMU_CPU=$cpu"
    for binary in "${kernel_tests[@]}"; do
      QEMU_CPU=$cpu POCKETNN_REQUIRE_ISAS=neon POCKETNN_REQUIRE_FEATURES=${cpu_features#*:} \
        "$POCKETNN_EXEC_WRAPPER" "$binary" -q
    done
  done
  unset POCKETNN_EXEC_WRAPPER
  prune target/aarch64-unknown-linux-gnu/debug
fi
# The large model test data is only read by the test runs above.
prune testdata/light

if [ -z "${SKIP_FUZZ:-}" ]; then
  # Hostile input: every fuzz target for FUZZ_SECONDS (default 60) under
  # AddressSanitizer, from seed corpora made from real models.
  step "fuzzing (scripts/fuzz-ci.sh, nightly + AddressSanitizer)"
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >/dev/null
  cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
  FUZZ_SECONDS="${FUZZ_SECONDS:-60}" scripts/fuzz-ci.sh
fi

step "all tests passed"

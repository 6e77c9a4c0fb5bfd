#!/usr/bin/env bash
# Tests of pocketnn's C ABI and its packaging (crates/ffi, android/, ios/),
# after the Rust tests through the C ABI (header drift, onnxruntime
# reference, error paths, one model shared by 8 threads), which run with
# the workspace's (`cargo test --workspace`, scripts/test.sh):
#   1. C and C++ tests (-Wall -Wextra -Werror) on x86_64, then under valgrind
#      (no leaks, no errors), then built for aarch64 and run under qemu;
#   2. the Java API (JNI) on the host JVM with JUnit 4;
#   3. staticlib builds for Android (aarch64, armv7) and iOS (aarch64), the
#      iOS archive checked to export every function the header declares.
#
# It installs nothing. Needs: gcc, g++, valgrind, gcc/g++-aarch64-linux-gnu
# with libc6-dev-arm64-cross, qemu-user-static, default-jdk-headless (17),
# junit4 (+ hamcrest), llvm (llvm-nm) or binutils nm, and the rustup targets
# aarch64-unknown-linux-gnu, aarch64-linux-android, armv7-linux-androideabi,
# aarch64-apple-ios. Any failure stops the script with a non-zero status.
#
#   scripts/test-ffi.sh                  everything
#   SKIP_AARCH64=1 scripts/test-ffi.sh   skip the qemu run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
step() { printf '\n== ffi: %s (%s)\n' "$1" "$(date +%T)"; }
fail() { echo "test-ffi: FAILED: $*" >&2; exit 1; }

for tool in gcc g++ valgrind; do
  command -v "$tool" >/dev/null || fail "missing tool: $tool"
done

target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || fail "cannot find cargo's target directory"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ffi=crates/ffi
header_dir=$ffi/include
digits=models/digits.npy
reference=$ffi/tests/data/seed_mlp_digits_logits.txt
cflags=(-Wall -Wextra -Werror -O1 -g -I "$header_dir")

# The Rust tests of the C ABI run with the workspace's (`cargo test
# --workspace`, scripts/test.sh); that build also makes the CLI binary used
# here (nothing is rebuilt when it has run).
step "convert the seed MLP with the CLI"
cargo test --workspace --quiet --no-run
"$target_dir/debug/pocketnn" convert models/seed_mlp.onnx -o "$work/seed_mlp.pnn"

step "C and C++ tests, x86_64"
cargo build -p pocketnn-ffi --quiet
lib="$target_dir/debug/libpocketnn_ffi.a"
[ -f "$lib" ] || fail "no static library at $lib"
libs=(-lpthread -ldl -lm)
gcc -std=c11 -pedantic "${cflags[@]}" $ffi/tests/c/test_c_api.c "$lib" "${libs[@]}" -o "$work/test_c_api"
g++ -std=c++17 -pedantic "${cflags[@]}" $ffi/tests/c/test_cpp_api.cpp "$lib" "${libs[@]}" -o "$work/test_cpp_api"
# The header also compiles as C++ on its own.
printf '#include "pocketnn.h"\nint main() { return pnn_version() == nullptr; }\n' > "$work/header_only.cpp"
g++ -std=c++11 "${cflags[@]}" "$work/header_only.cpp" "$lib" "${libs[@]}" -o "$work/header_only"
"$work/test_c_api" "$work/seed_mlp.pnn" $digits $reference "$work"
"$work/test_cpp_api" "$work/seed_mlp.pnn" $digits $reference
# The C example of docs/ffi.md compiles and runs (in the model's directory).
{
  echo '#include <stdio.h>'
  awk '/^```c$/ {inside = 1; next} /^```$/ {inside = 0} inside' docs/ffi.md | sed 's/^#include "pocketnn.h"$/#include "pocketnn.h"\nint main(void) {/'
  echo 'return 0; }'
} > "$work/docs_example.c"
gcc -std=c11 -pedantic "${cflags[@]}" "$work/docs_example.c" "$lib" "${libs[@]}" -o "$work/docs_example"
(cd "$work" && ./docs_example) || fail "the C example of docs/ffi.md failed"

step "C and C++ tests under valgrind"
vg=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1
    --suppressions=$ffi/tests/c/valgrind.supp)
"${vg[@]}" "$work/test_c_api" "$work/seed_mlp.pnn" $digits $reference "$work"
"${vg[@]}" "$work/test_cpp_api" "$work/seed_mlp.pnn" $digits $reference
echo "valgrind: no errors, no leaks"

if [ -z "${SKIP_AARCH64:-}" ]; then
  step "C and C++ tests, aarch64 under qemu-user"
  for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64-static; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool"
  done
  # The build an app ships (profile release-mobile, Cargo.toml), so its
  # size is printed too.
  # Linked as scripts/build-android.sh links the Android library: with lld
  # (the one rustup ships with rustc; gcc finds it through -B), 16 KB pages
  # and packed relative relocations (RELR, which glibc 2.36 reads; Android's
  # own packing there).
  gcc_ld="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n "s/^host: //p")/bin/gcc-ld"
  [ -x "$gcc_ld/ld.lld" ] || fail "no lld at $gcc_ld (it ships with rustc for x86_64 Linux)"
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-B$gcc_ld -C link-arg=-fuse-ld=lld \
-C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,-z,max-page-size=16384" \
    cargo build -p pocketnn-ffi --quiet --profile release-mobile --target aarch64-unknown-linux-gnu
  alib="$target_dir/aarch64-unknown-linux-gnu/release-mobile/libpocketnn_ffi.a"
  aarch64-linux-gnu-strip -o "$work/libpocketnn_ffi.so" "$target_dir/aarch64-unknown-linux-gnu/release-mobile/libpocketnn_ffi.so"
  echo "binary size: stripped aarch64 libpocketnn_ffi.so = $(stat -c %s "$work/libpocketnn_ffi.so") bytes (target 1,500,000; BENCHMARKS.md)"
  aarch64-linux-gnu-gcc -std=c11 -pedantic "${cflags[@]}" $ffi/tests/c/test_c_api.c "$alib" "${libs[@]}" -o "$work/test_c_api_aarch64"
  aarch64-linux-gnu-g++ -std=c++17 -pedantic "${cflags[@]}" $ffi/tests/c/test_cpp_api.cpp "$alib" "${libs[@]}" -o "$work/test_cpp_api_aarch64"
  # The shared library itself, as an app loads it (RELR, 16 KB pages).
  aarch64-linux-gnu-gcc -std=c11 -pedantic "${cflags[@]}" $ffi/tests/c/test_c_api.c -L "$work" -lpocketnn_ffi \
    -Wl,-rpath,"$work" -o "$work/test_c_api_aarch64_shared"
  echo "-- the shared library, QEMU_CPU=max"
  QEMU_CPU=max scripts/qemu-aarch64.sh "$work/test_c_api_aarch64_shared" "$work/seed_mlp.pnn" $digits $reference "$work"
  for cpu in max cortex-a53; do
    echo "-- QEMU_CPU=$cpu"
    QEMU_CPU=$cpu scripts/qemu-aarch64.sh "$work/test_c_api_aarch64" "$work/seed_mlp.pnn" $digits $reference "$work"
    QEMU_CPU=$cpu scripts/qemu-aarch64.sh "$work/test_cpp_api_aarch64" "$work/seed_mlp.pnn" $digits $reference
  done
fi

step "Java API (JNI) on the host JVM with JUnit 4"
for tool in java javac; do
  command -v "$tool" >/dev/null || fail "missing tool: $tool"
done
junit=/usr/share/java/junit4.jar
hamcrest=/usr/share/java/hamcrest-core.jar
[ -f "$hamcrest" ] || hamcrest=/usr/share/java/hamcrest.jar
for jar in "$junit" "$hamcrest"; do [ -f "$jar" ] || fail "missing $jar (Debian package junit4)"; done
cargo build -p pocketnn-ffi --features jni --quiet
[ -f "$target_dir/debug/libpocketnn_ffi.so" ] || fail "no shared library"
classes="$work/classes"
mkdir -p "$classes"
javac -Xlint:all -Werror -d "$classes" -cp "$junit:$hamcrest" \
  android/src/main/java/org/pocketnn/*.java android/src/test/java/org/pocketnn/*.java
# -Xcheck:jni makes the JVM verify every JNI call; its warnings fail the test.
java -Xcheck:jni -Djava.library.path="$target_dir/debug" \
  -Dpocketnn.model="$work/seed_mlp.pnn" -Dpocketnn.digits=$digits \
  -Dpocketnn.reference=$reference -Dpocketnn.workdir="$work" \
  -cp "$classes:$junit:$hamcrest" org.junit.runner.JUnitCore org.pocketnn.ModelTest 2>&1 | tee "$work/junit.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "JUnit tests failed"
if grep -q "WARNING in native method" "$work/junit.log"; then fail "-Xcheck:jni warnings"; fi

step "static libraries for Android (aarch64, armv7) and iOS (aarch64)"
# `cargo rustc --crate-type staticlib` builds only the archive: the cdylib
# would need the platform's linker (the NDK, Xcode), which is not here.
# The unoptimised `mobile-check` profile: these archives are only inspected.
mobile=(-p pocketnn-ffi --quiet --profile mobile-check --crate-type staticlib)
cargo rustc "${mobile[@]}" --features jni --target aarch64-linux-android
cargo rustc "${mobile[@]}" --features jni --target armv7-linux-androideabi
cargo rustc "${mobile[@]}" --target aarch64-apple-ios
nm_tool=$(command -v llvm-nm || command -v nm) || fail "missing tool: llvm-nm or nm"
functions=$(grep -oE '\bpnn_[a-z0-9_]+\(' $header_dir/pocketnn.h | tr -d '(' | sort -u)
[ "$(echo "$functions" | wc -l)" -ge 20 ] || fail "cannot read the function list from pocketnn.h"
check_exports() { # archive, symbol prefix
  local defined missing=()
  # Debian's llvm-nm (LLVM 14) cannot read the LLVM 22 bitcode inside some
  # of the Rust standard library's members and exits non-zero; pocketnn's own
  # objects are machine code it reads, so its status is not used.
  defined=$({ "$nm_tool" --defined-only --extern-only "$1" 2>/dev/null || true; } | awk '$2 == "T" {print $3}' | sort -u)
  for f in $functions; do
    grep -qx "$2$f" <<<"$defined" || missing+=("$f")
  done
  [ ${#missing[@]} = 0 ] || fail "$1 does not export: ${missing[*]}"
  echo "$1: exports all $(echo "$functions" | wc -l) functions of pocketnn.h"
}
check_exports "$target_dir/aarch64-apple-ios/mobile-check/libpocketnn_ffi.a" _
check_exports "$target_dir/aarch64-linux-android/mobile-check/libpocketnn_ffi.a" ""
check_exports "$target_dir/armv7-linux-androideabi/mobile-check/libpocketnn_ffi.a" ""
if ! { "$nm_tool" --defined-only --extern-only "$target_dir/aarch64-linux-android/mobile-check/libpocketnn_ffi.a" 2>/dev/null || true; } \
    | grep -q ' T Java_org_pocketnn_Native_sessionRun$'; then
  fail "the Android archive lacks the JNI entry points"
fi
ls -l "$target_dir"/{aarch64-apple-ios,aarch64-linux-android,armv7-linux-androideabi}/mobile-check/libpocketnn_ffi.a

step "all ffi tests passed"

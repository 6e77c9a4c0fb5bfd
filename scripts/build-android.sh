#!/usr/bin/env bash
# Builds libpocketnn_ffi.so (with the JNI entry points) for Android into
# android/src/main/jniLibs/<abi>/, ready for the Gradle library module in
# android/. For a developer machine with the Android NDK:
#
#   cargo install cargo-ndk
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   export ANDROID_NDK_HOME=/path/to/ndk      # r25 or newer
#   scripts/build-android.sh                  # then: cd android && gradle assembleRelease
#
# ABIS="arm64-v8a" scripts/build-android.sh builds only the listed ABIs.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-ndk >/dev/null || { echo "cargo-ndk is missing: cargo install cargo-ndk" >&2; exit 1; }
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "set ANDROID_NDK_HOME to the Android NDK" >&2; exit 1; }

abis=(${ABIS:-arm64-v8a armeabi-v7a x86_64})
args=()
for abi in "${abis[@]}"; do args+=(-t "$abi"); done

# minSdk 24 matches android/build.gradle. The profile release-mobile
# (Cargo.toml: fat LTO, size-optimised non-kernel crates) is the one whose
# size CI prints; it strips nothing by itself: cargo-ndk's output is
# stripped by the Android Gradle plugin. Needs cargo-ndk 3 or newer (it
# copies from target/<triple>/<profile>/).
#
# Link flags (the NDK links with lld): 16 KB pages, which Android 15 and
# later require of arm64 libraries (and which also trims the padding before
# the writable segment), and relative relocations packed in Android's own
# format, which API 23 and later load (the RELR format needs API 28/30):
# 72 KB less than plain RELA entries. CI builds the linux-gnu stand-in with
# the same flags (RELR there, which glibc reads), scripts/test-ffi.sh.
export CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS="-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--pack-dyn-relocs=android"
export CARGO_TARGET_ARMV7_LINUX_ANDROIDEABI_RUSTFLAGS="-C link-arg=-Wl,--pack-dyn-relocs=android"
cargo ndk "${args[@]}" --platform 24 -o android/src/main/jniLibs \
  build -p pocketnn-ffi --features jni --profile release-mobile

for abi in "${abis[@]}"; do
  ls -l "android/src/main/jniLibs/$abi/libpocketnn_ffi.so"
done

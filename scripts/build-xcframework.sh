#!/usr/bin/env bash
# Builds ios/build/PocketnnFFI.xcframework: the pocketnn static library for
# iOS devices (arm64) and the simulator (arm64 + x86_64), with pocketnn.h and
# the module map, for the Swift package in ios/ (or any Xcode project).
# For a Mac with Xcode:
#
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#   scripts/build-xcframework.sh
#   # then add ios/ as a Swift package dependency, `import Pocketnn`
set -euo pipefail
cd "$(dirname "$0")/.."

command -v xcodebuild >/dev/null || { echo "xcodebuild is missing: this script needs a Mac with Xcode" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
for target in "${targets[@]}"; do
  # Only the static library: `cargo rustc` picks the crate type. The
  # profile release-mobile (Cargo.toml) is the size-optimised shipping one.
  cargo rustc -p pocketnn-ffi --profile release-mobile --target "$target" --crate-type staticlib
done

out=ios/build
rm -rf "$out/PocketnnFFI.xcframework" "$out/headers" "$out/simulator"
mkdir -p "$out/headers" "$out/simulator"
cp crates/ffi/include/pocketnn.h ios/include/module.modulemap "$out/headers/"
lipo -create \
  target/aarch64-apple-ios-sim/release-mobile/libpocketnn_ffi.a \
  target/x86_64-apple-ios/release-mobile/libpocketnn_ffi.a \
  -output "$out/simulator/libpocketnn_ffi.a"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release-mobile/libpocketnn_ffi.a -headers "$out/headers" \
  -library "$out/simulator/libpocketnn_ffi.a" -headers "$out/headers" \
  -output "$out/PocketnnFFI.xcframework"
echo "built $out/PocketnnFFI.xcframework"

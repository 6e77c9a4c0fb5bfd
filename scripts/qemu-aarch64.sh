#!/usr/bin/env bash
# Runs an aarch64 test binary under qemu-user. The CPU model defaults to `max`
# (every extension qemu knows); set QEMU_CPU to test another one.
set -euo pipefail
exec qemu-aarch64-static -cpu "${QEMU_CPU:-max}" -L /usr/aarch64-linux-gnu "$@"

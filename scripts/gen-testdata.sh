#!/usr/bin/env bash
# Generates every file pocketnn's Rust integration tests read (see docs/testdata.md).
#
#   scripts/gen-testdata.sh [--force] [OUT]        OUT defaults to <repo>/testdata
#
# Needs python3 with the venv module (Debian 12: apt-get install python3 python3-venv) and access to PyPI the first
# time. Environment:
#   POCKETNN_VENV           venv to create/reuse (default <repo>/.venv)
#   POCKETNN_SHARED_MODELS  shared real models (default <repo>/../shared/models); skipped with a warning if absent
#   PYTHON                  interpreter used to create the venv (default python3)
# When OUT/STAMP matches the current scripts, package versions and shared models, nothing is regenerated
# (--force regenerates anyway). STAMP is written last, so an interrupted run is redone next time.
set -euo pipefail

force=0
if [[ ${1:-} == --force ]]; then
    force=1
    shift
fi
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/testdata}
venv=${POCKETNN_VENV:-$repo/.venv}
shared=${POCKETNN_SHARED_MODELS:-$repo/../shared/models}
generators=$repo/scripts/testdata

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [[ -d $shared ]]; then
    shared=$(cd "$shared" && pwd)
fi
export POCKETNN_SHARED_MODELS=$shared

if [[ ! -x $venv/bin/python ]]; then
    echo "gen-testdata: creating venv $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi
python=$venv/bin/python
if ! "$python" "$generators/stamp.py" check-requirements 2>/dev/null; then
    echo "gen-testdata: installing scripts/requirements.txt into $venv" >&2
    "$python" -m pip install --quiet --disable-pip-version-check -r "$repo/scripts/requirements.txt"
    "$python" "$generators/stamp.py" check-requirements
fi

stamp=$("$python" "$generators/stamp.py" print)
if [[ $force == 0 && -f $out/STAMP && $(<"$out/STAMP") == "${stamp%$'\n'}" ]]; then
    echo "gen-testdata: $out is up to date" >&2
    exit 0
fi
rm -f "$out/STAMP"

# run NAME SCRIPT: runs one generator into $out and reports its wall time.
run() {
    local start=$EPOCHREALTIME
    "$python" "$generators/$2" "$out"
    awk -v name="$1" -v start="$start" -v end="$EPOCHREALTIME" \
        'BEGIN { printf "gen-testdata: %s took %.1f s\n", name, end - start }' >&2
}

run node node_cases.py
run light light_models.py
if [[ -f $shared/README.md ]]; then
    run shared shared_logits.py
    run ort_quantized ort_quantized.py
else
    echo "gen-testdata: WARNING: no shared models at $shared; skipping OUT/shared and OUT/ort_quantized (set POCKETNN_SHARED_MODELS)" >&2
    rm -rf "$out/shared" "$out/ort_quantized"
fi

printf '%s\n' "${stamp%$'\n'}" >"$out/STAMP"
echo "gen-testdata: done; $(du -sh "$out" | cut -f1) in $out" >&2

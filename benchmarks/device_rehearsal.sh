#!/usr/bin/env bash
# Rehearse the GPU call on this CPU before a drawn session spends its device time on it.
#
#   PYTHON=/path/to/python3.12 benchmarks/device_rehearsal.sh [LAB-ARGUMENTS ...]
#   # or: make device-rehearsal PYTHON312=/path/to/python3.12
#
# Runs benchmarks/device_run.sh exactly as the device would (the carried wheels installed into a
# temporary folder, the carried data unpacked into an empty data cache, KERAS_BACKEND=jax), in
# the smoke profile, with a stand-in `nvidia-smi` first on PATH: nnlab then believes it is on a
# GPU and takes the GPU's code paths (mixed_float16 in labs 5c and 6 and the throughput's fast
# set-up, "GPU" in the results, bench-smoke-jax-gpu.*). That is how lab 5c's claim that failed
# under mixed precision was found before any GPU ran it.
#
# PYTHON must be a CPython 3.12 (the carried wheels are built for it) with the packages the device
# has and nnlab needs: jax numpy pandas matplotlib pillow h5py scipy grpcio protobuf absl-py rich
# ml-dtypes packaging pyyaml requests psutil six jinja2 (see benchmarks/device-requirements.txt), e.g.
#   python3.12 -m venv /tmp/device312 && /tmp/device312/bin/pip install jax numpy pandas ...
# Default LAB-ARGUMENTS: the call of benchmarks/README.md. Output: _build/device-rehearsal/
# (the files a device call brings back). Took 5–7 minutes on a 2-core CPU (all labs passed).
#
# PROFILE=rehearsal runs the nnlab profile of that name instead of smoke: the full profile's
# structure (every sweep variant, model family and claim) at the smoke profile's sizes, so code
# that only the full profile reaches runs here too (nnlab/profiles.py). It takes longer.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PYTHON:?set PYTHON to a CPython 3.12 with the packages of the device, see the top of this script}"
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != 3.12 ]; then
    echo "$PYTHON is Python $version: the carried wheels are for 3.12, as on the device" >&2
    exit 1
fi
"$PYTHON" -c "import jax" 2>/dev/null || { echo "$PYTHON has no JAX: install the device's packages first" >&2; exit 1; }
[ -d .device/wheels ] || { echo "no .device/: run make device-kit first" >&2; exit 1; }

scratch=$(mktemp -d /tmp/nnlab-rehearsal.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin"
printf '#!/bin/sh\necho "CPU stand-in for a GPU"\n' > "$scratch/bin/nvidia-smi"
chmod +x "$scratch/bin/nvidia-smi"

out=_build/device-rehearsal
rm -rf "$out"
(( $# )) || set -- --throughput --alone 05c --parallel 06 03 05a 05b 01,02,04
profile=${PROFILE:-smoke}
echo "==> rehearsing: device_run.sh --profile $profile $* (output in $out)"
PATH="$scratch/bin:$PATH" OUT="$out" SITE="$scratch/site" NNLAB_DATA="$scratch/data" JAX_CACHE="$scratch/jax-cache" \
    NNLAB_PROFILE="$profile" \
    DEADLINE_S=${DEADLINE_S:-1500} THROUGHPUT_ARGS=${THROUGHPUT_ARGS:-"--steps 5 --warmup-steps 2 --width 8 --images 3000"} \
    bash benchmarks/device_run.sh --profile "$profile" "$@"

#!/usr/bin/env bash
# Prepare .device/ (git-ignored) for a GPU run of the labs with KERAS_BACKEND=jax.
#
#   benchmarks/device_kit.sh            # or: make device-kit
#
# The GPU machine has Python 3.12, JAX and CUDA but no Keras or Jupyter, and reaches no
# network: what it lacks travels in the working tree (64 MiB at most per call, repository
# included). This script writes
#
#   .device/wheels/       the wheels of benchmarks/device-requirements.txt, for CPython 3.12 on x86-64
#   .device/data-mnist/   mnist.npz.xz and fashion_mnist.npz.xz: nnlab's cached arrays, xz-compressed
#                         (34 MiB instead of 40 as a compressed .npz; labs 1, 2, 3, 4, 5a)
#   .device/data-cifar/   cifar10-jpeg.tar.gz, the CIFAR-10 JPEG mirror (labs 5b, 5c, the throughput)
#
# and prints what a call carrying them weighs: the wheels and both data folders fit in one call
# (about 61 of 64 MiB), so every lab can run in one; benchmarks/README.md gives the call.
# Compressing takes a few minutes once. Settings: KIT (folder, default .device),
# PYVER (3.12), PYTHON (a Python with pip and NumPy, default .venv/bin/python), NNLAB_DATA (the
# data cache, default ~/.cache/nnlab), NNLAB_MIRROR_DIR (folder of cifar10-jpeg.tar.gz, default
# ../shared/datasets). Re-running reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

KIT=${KIT:-.device}
PYVER=${PYVER:-3.12}
PYTHON=${PYTHON:-.venv/bin/python}
DATA=${NNLAB_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}
MIRROR=${NNLAB_MIRROR_DIR:-../shared/datasets}
REQS=benchmarks/device-requirements.txt

if ! git check-ignore -q "$KIT/wheels/x.whl"; then
    echo "$KIT is not ignored by git: add it to .gitignore first" >&2
    exit 1
fi
mkdir -p "$KIT/wheels" "$KIT/data-mnist" "$KIT/data-cifar"

echo "==> wheels for CPython $PYVER (x86-64) into $KIT/wheels"
platforms=()
for p in manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_24_x86_64 manylinux_2_27_x86_64 \
         manylinux_2_28_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64 manylinux_2_35_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
# pip download keeps a wheel that is already there; one with another version is removed first
wanted=$(grep -E '^[A-Za-z0-9]' "$REQS" | sed 's/[[:space:]]*#.*//')
for whl in "$KIT"/wheels/*.whl; do
    [ -e "$whl" ] || continue
    name=$(basename "$whl" | cut -d- -f1-2 | tr '_' '-' | tr 'A-Z' 'a-z')
    echo "$wanted" | tr '_' '-' | tr 'A-Z' 'a-z' | sed 's/==/-/' | grep -qx "$name" || { echo "    removing $(basename "$whl")"; rm "$whl"; }
done
# shellcheck disable=SC2086
"$PYTHON" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
    "${platforms[@]}" -d "$KIT/wheels" $wanted

echo "==> MNIST and Fashion-MNIST from $DATA, xz-compressed, into $KIT/data-mnist"
PYTHONPATH="$PWD/lib${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" - "$DATA" "$KIT/data-mnist" <<'EOF'
import io
import lzma
import sys
from pathlib import Path

import numpy as np

from nnlab._download import atomic_write  # whole or not at all, as every file of nnlab's cache

source, dest = Path(sys.argv[1]), Path(sys.argv[2])
for name in ("mnist", "fashion_mnist"):
    src, out = source / f"{name}.npz", dest / f"{name}.npz.xz"
    (dest / f"{name}.npz").unlink(missing_ok=True)  # an older kit's copy: it would travel as well
    if not src.exists():
        if out.exists():
            continue  # the kit's copy stays; there is no newer cache file to compare it with
        sys.exit(f"{src} is missing: run `make data` (python -m nnlab data fetch {name}) first")
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        continue
    with np.load(src, allow_pickle=False) as npz:  # the cache's arrays and metadata, unchanged
        arrays = {key: npz[key] for key in npz.files}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # uncompressed: xz does far better on the raw bytes than on zip's deflate
    print(f"    compressing {name} ({buffer.tell() / 2**20:.0f} MiB), a minute or two", flush=True)
    with atomic_write(out) as target:
        target.write(lzma.compress(buffer.getvalue(), preset=9))
EOF

echo "==> CIFAR-10 (JPEG mirror) into $KIT/data-cifar"
if [ ! -f "$KIT/data-cifar/cifar10-jpeg.tar.gz" ]; then
    if [ ! -f "$MIRROR/cifar10-jpeg.tar.gz" ]; then
        echo "no $MIRROR/cifar10-jpeg.tar.gz: set NNLAB_MIRROR_DIR to the folder that holds it" >&2
        exit 1
    fi
    # copied under a temporary name, then renamed: an interrupted copy is never taken for the kit's
    cp "$MIRROR/cifar10-jpeg.tar.gz" "$KIT/data-cifar/.cifar10-jpeg.tar.gz.tmp"
    mv "$KIT/data-cifar/.cifar10-jpeg.tar.gz.tmp" "$KIT/data-cifar/cifar10-jpeg.tar.gz"
fi

echo "==> sizes (a call carries the repository, the wheels and the data folders it names; the limit is 64 MiB):"
mib() { awk -v bytes="$1" 'BEGIN { print bytes / 1048576 }'; }
# the files of the working tree a call sends (a tracked file deleted here is not sent, and not counted)
repo=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }' || true)
wheels=$(du -sb "$KIT/wheels" | cut -f1)
cifar=$(du -sb "$KIT/data-cifar" | cut -f1)
mnist=$(du -sb "$KIT/data-mnist" | cut -f1)
for carried in "data-cifar $cifar" "data-mnist $mnist" "data-cifar + data-mnist $(( cifar + mnist ))"; do
    data=${carried##* } folders=${carried% *}
    printf '    repository %4.1f MiB + wheels %4.1f MiB + %-23s %4.1f MiB = %4.1f MiB\n' \
        "$(mib "$repo")" "$(mib "$wheels")" "$folders" "$(mib "$data")" "$(mib $(( repo + wheels + data )))"
done
if (( repo + wheels + cifar + mnist <= 63 * 1048576 )); then
    echo "    one call can carry everything: .device/wheels, .device/data-cifar and .device/data-mnist"
elif (( repo + wheels + (cifar > mnist ? cifar : mnist) <= 63 * 1048576 )); then
    echo "    too much for one call: carry the wheels and ONE data folder per call" >&2
else
    echo "    even the wheels and one data folder are too close to the 64 MiB limit" >&2
    exit 1
fi
echo "==> $KIT is ready: see benchmarks/README.md for the device calls"

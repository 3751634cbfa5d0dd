#!/usr/bin/env bash
# Run on the GPU machine (the device tool's `run`, from the repository root); see benchmarks/README.md.
#
#   benchmarks/device_run.sh [--throughput] [--profile P] [--fresh] [--alone LAB[,LAB...]] [--parallel] [LAB[,LAB...] ...]
#
# Installs the wheels carried in .device/wheels into /tmp/site, puts the carried data where
# nnlab.data finds it, then runs (with KERAS_BACKEND=jax), in this order:
#   --throughput   python -m nnlab bench --throughput   (lab 5c's CNN, naive vs fast set-up)
#   --alone LABS   those labs, one after another, with the GPU to themselves (lab 5c: its CNN's
#                  time goal is for one GPU, not one shared with other labs)
#   LAB ...        python -m nnlab bench --profile P LAB ...   (P: full unless given), one lab after
#                  another; with --parallel each argument is a job of its own (labs joined by commas
#                  run in turn within it) and the jobs run at the same time, sharing the GPU
# writing every result file straight into $OUT, so what a run finished comes back even when the
# call is stopped at its time limit: throughput-*.{json,md}, bench-P-jax-gpu.{json,md} (rewritten
# after each lab; parallel jobs take turns writing it), claims-P-jax-gpu.{json,md} (each finished
# lab's claims table with verdicts and evidence) and device-run.log (a parallel job's lines start
# with its labs in brackets) — seven files at most.
#
# A lab benchmark continues benchmarks/bench-P-jax-gpu.json (and claims-P-jax-gpu.json) when the
# repository holds one (copy the files an earlier call brought back there, so that the labs can be
# split over calls); --fresh starts from nothing.
#
# Environment: OUT (where results go; the device sets it), KIT (.device), PYTHON (python3),
# SITE (/tmp/site), NNLAB_DATA (/tmp/nnlab-data), DEADLINE_S (seconds after which the bench is
# stopped, default 560: a device command may run 600), THROUGHPUT_ARGS (extra arguments of the
# throughput measurement, e.g. "--steps 500"), JAX_CACHE (JAX's persistent compilation cache for
# the labs, one subfolder per parallel job; default: a new empty folder each call, so every
# call's times include its compiling).
set -uo pipefail
cd "$(dirname "$0")/.."

throughput=0 fresh=0 parallel=0 profile=full alone=() groups=()
while (( $# )); do
    case "$1" in
        --throughput) throughput=1 ;;
        --fresh) fresh=1 ;;
        --parallel) parallel=1 ;;
        --profile) profile=$2; shift ;;
        --alone) IFS=, read -ra alone <<< "$2"; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) groups+=("$1") ;;
    esac
    shift
done
labs=()  # every lab named, in order
for group in "${groups[@]}"; do IFS=, read -ra members <<< "$group"; labs+=("${members[@]}"); done

OUT=${OUT:-_build/device-out}
KIT=${KIT:-.device}
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
DEADLINE_S=${DEADLINE_S:-560}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device-run.log") 2>&1

echo "==> $(date -u '+%F %T') UTC on $(hostname): installing $(ls "$KIT"/wheels/*.whl | wc -l) wheels into $SITE"
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$KIT"/wheels/*.whl || { echo "installing the wheels failed"; exit 1; }
export PYTHONPATH="$SITE:$PWD/lib${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export NNLAB_STATIC=1 NNLAB_QUIET=1 MPLBACKEND=Agg
export NNLAB_DATA=${NNLAB_DATA:-/tmp/nnlab-data}
mkdir -p "$NNLAB_DATA"
# MNIST and Fashion-MNIST travel as nnlab's own cache files, xz-compressed (a few seconds to
# unpack); CIFAR-10 as its JPEG mirror, which nnlab.data finds in NNLAB_LOCAL_DIR and decodes
# into the cache once (~10 s).
for packed in "$KIT"/data-mnist/*.npz.xz; do
    [ -e "$packed" ] || continue
    npz="$NNLAB_DATA/$(basename "$packed" .xz)"
    [ -e "$npz" ] || "$PYTHON" - "$packed" "$npz" <<'EOF' || { echo "unpacking $packed failed"; exit 1; }
import lzma, shutil, sys
from pathlib import Path
from nnlab._download import atomic_write  # whole or not at all, as every file of nnlab's cache
with lzma.open(sys.argv[1]) as source, atomic_write(Path(sys.argv[2])) as target:
    shutil.copyfileobj(source, target, 1 << 22)
EOF
done
for npz in "$KIT"/data-mnist/*.npz; do  # a kit made before the data were xz-compressed
    [ -e "$npz" ] && [ ! -e "$NNLAB_DATA/$(basename "$npz")" ] && cp "$npz" "$NNLAB_DATA/"
done
[ -f "$KIT/data-cifar/cifar10-jpeg.tar.gz" ] && export NNLAB_LOCAL_DIR="$(cd "$KIT/data-cifar" && pwd)"  # KIT may be relative
ls -l "$NNLAB_DATA" "${NNLAB_LOCAL_DIR:-/dev/null}" 2>/dev/null | grep -v '^total'

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
# nnlab's GPU code paths (mixed precision, "GPU" in the results) whatever its package check would
# say of this machine's JAX build, which is not known in advance (nnlab.profiles.gpu_available)
command -v nvidia-smi >/dev/null && export NNLAB_GPU=${NNLAB_GPU:-1}
"$PYTHON" - <<'EOF' || { echo "the environment is not ready"; exit 1; }
import importlib, os
import keras, nnlab
print("python", __import__("sys").version.split()[0], "· keras", keras.__version__, "· backend", keras.backend.backend())
if keras.backend.backend() == "jax":
    import jax
    print("jax", jax.__version__, "devices", jax.devices())
# jinja2: pandas' Styler, which every lab's tables use (a lab without it fails at its first table)
for name in ("jupytext", "nbclient", "ipykernel", "keras_tuner", "numpy", "pandas", "jinja2", "matplotlib", "PIL", "h5py"):
    module = importlib.import_module(name)
    print(f"  {name} {getattr(module, '__version__', '?')}", end="")
print()
print(nnlab.get_profile(os.environ.get("NNLAB_PROFILE") or None).describe())
EOF

left() { echo $(( DEADLINE_S - SECONDS )); }
# A stage starts only with a minute left before the deadline: one started later would run past
# the device's own limit, which kills the call and loses this script's last lines.
time_for() {
    if (( DEADLINE_S - SECONDS < 60 )); then
        echo "==> skipping $1: only $(( DEADLINE_S - SECONDS )) s left before the deadline (DEADLINE_S=$DEADLINE_S)"
        note 124
        return 1
    fi
}
# One bench process over the labs given, stopped at the deadline; $1 is its compilation cache.
# JAX's persistent compilation cache, for the labs only: a model compiled once (same layers,
# shapes and constants, e.g. lab 4's network on permuted and unpermuted pixels, or the same MLP
# in labs 1-3) is loaded instead of compiled again, also across the labs of one bench process.
# The throughput measurement runs without it, so lab 5c's CNN compiles its own train step and
# the time it reports is what a first run costs.
bench_labs() {
    local cache=$1; shift
    mkdir -p "$cache"
    JAX_COMPILATION_CACHE_DIR="$cache" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
        timeout -k 10 "$(left)" "$PYTHON" -m nnlab bench --profile "$profile" --out "$OUT" "$@"
}
status=0
note() {  # keep the first failure's status, but a stop at the deadline (124) over any other
    local s=$1
    (( s == 124 || status == 0 )) && (( s != 0 )) && status=$s
    return 0
}
if (( throughput )) && time_for "the throughput"; then
    echo "==> throughput ($(left) s left)"
    # shellcheck disable=SC2086
    timeout -k 10 "$(left)" "$PYTHON" -m nnlab bench --throughput --out "$OUT" ${THROUGHPUT_ARGS:-}
    note $?
fi
if (( ${#alone[@]} + ${#labs[@]} )); then
    bench="bench-$profile-$KERAS_BACKEND-gpu.json"
    if (( ! fresh )) && [ -f "benchmarks/$bench" ] && [ ! -f "$OUT/$bench" ]; then
        echo "==> continuing benchmarks/$bench (its other labs' rows are kept)"
        cp "benchmarks/$bench" "$OUT/$bench"
        claims="claims-${bench#bench-}"   # the labs' claims tables, kept beside the rows
        if [ -f "benchmarks/$claims" ]; then cp "benchmarks/$claims" "$OUT/$claims"; fi
    fi
    JAX_CACHE=${JAX_CACHE:-$(mktemp -d /tmp/nnlab-jax-cache.XXXXXX)}  # a new one each call unless given
fi
if (( ${#alone[@]} )) && time_for "labs ${alone[*]}"; then
    echo "==> labs ${alone[*]} alone on the GPU, in the $profile profile ($(left) s left; JAX compilation cache $JAX_CACHE)"
    bench_labs "$JAX_CACHE" "${alone[@]}"
    note $?
fi
if (( ${#labs[@]} )) && ! time_for "labs ${labs[*]}"; then
    :
elif (( ${#labs[@]} && ! parallel )); then
    echo "==> labs ${labs[*]} in the $profile profile ($(left) s left; JAX compilation cache $JAX_CACHE)"
    bench_labs "$JAX_CACHE" "${labs[@]}"
    note $?
elif (( ${#labs[@]} )); then
    # Several processes on one GPU: JAX must not take 75 % of its memory for each up front.
    export XLA_PYTHON_CLIENT_PREALLOCATE=false
    echo "==> ${#groups[@]} jobs at once (${groups[*]}) in the $profile profile ($(left) s left; JAX compilation caches under $JAX_CACHE)"
    pids=()
    for group in "${groups[@]}"; do
        IFS=, read -ra members <<< "$group"
        ( bench_labs "$JAX_CACHE/job-${group//,/-}" --concurrent "${#groups[@]}" "${members[@]}" 2>&1 | sed -u "s/^/[$group] /"
          exit "${PIPESTATUS[0]}" ) &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid"
        note $?
    done
fi
if (( status == 124 )) && [ -n "${bench:-}" ]; then
    echo "==> stopped at the deadline: $OUT/$bench holds the labs finished so far and what the stopped ones recorded"
fi
echo "==> done in $SECONDS s (status $status); files: $(cd "$OUT" && ls | tr '\n' ' ')"
exit "$status"

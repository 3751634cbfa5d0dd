"""Command line: ``python -m nnlab <command>``.

- ``python -m nnlab info``                 the profile, backend and device in use
- ``python -m nnlab profile``              just the active profile's name (for the Makefile)
- ``python -m nnlab backend``              just the Keras backend's name, after checking it is installed (for the Makefile)
- ``python -m nnlab data fetch [NAME…]``   fetch data sets ahead of time, with progress
- ``python -m nnlab clean-cache``          forget trained runs and lab 3's search trials (the data stay)
- ``python -m nnlab bench [--profile P] [--out DIR] [LAB…]``  run labs, write benchmarks/bench-*.{json,md}
- ``python -m nnlab bench --throughput [--steps N]``  lab 5c's CNN, naive vs fast set-up:
  writes benchmarks/throughput-<backend>-<device>.{json,md}
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m nnlab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["info", "profile", "backend", "data", "clean-cache", "bench"], help="what to do")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the command")
    args = parser.parse_args(argv)
    if args.command == "info":
        from nnlab.profiles import get_profile, idle_gpu_note

        print(get_profile().describe())
        if note := idle_gpu_note():
            print("note:", note)
        return 0
    if args.command == "profile":
        from nnlab.profiles import get_profile

        print(get_profile().name)
        return 0
    if args.command == "backend":
        import importlib.util

        from nnlab._environment import requested_backend

        backend = requested_backend()[0]   # the one a new Python will load (Keras is not imported here)
        if importlib.util.find_spec(backend) is None:   # the package names equal the backend names
            how = {"jax": "`make test-jax` installs JAX into .venv",
                   "torch": "install PyTorch into .venv: `.venv/bin/python -m pip install torch`"}.get(
                backend, "`make setup` installs TensorFlow into .venv")
            print(f"nnlab: Keras's backend is {backend}, but {backend} is not installed in this Python "
                  f"({sys.executable}): {how}, or choose another with KERAS_BACKEND.", file=sys.stderr)
            return 2
        print(backend)
        return 0
    if args.command == "data":
        if not args.rest or args.rest[0] != "fetch":
            parser.error("usage: python -m nnlab data fetch [NAME ...]")
        from nnlab.data import cli_fetch

        return cli_fetch(args.rest[1:])
    if args.command == "clean-cache":
        import shutil

        from nnlab.data import runs_dir, tuner_dir

        for folder in (runs_dir(), tuner_dir()):
            existed = folder.exists()
            shutil.rmtree(folder, ignore_errors=True)
            print(("removed " if existed else "nothing at ") + str(folder))
        return 0
    if args.command == "bench":
        from pathlib import Path

        from nnlab.bench import OUT_DIR, run_bench
        from nnlab.profiles import get_profile

        bench = argparse.ArgumentParser(prog="python -m nnlab bench")
        bench.add_argument("--profile", default=None,
                           help="smoke, quick or full (default: NNLAB_PROFILE, else full on a GPU, quick otherwise)")
        bench.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the files (default: benchmarks/)")
        bench.add_argument("--throughput", action="store_true",
                           help="measure lab 5c's CNN training images/s, naive vs fast set-up, instead of the labs")
        bench.add_argument("--steps", type=int, default=None, help="throughput: timed steps per set-up (300)")
        bench.add_argument("--warmup-steps", type=int, default=None, help="throughput: untimed steps first (20)")
        bench.add_argument("--width", type=int, default=None, help="throughput: the CNN's width (64)")
        bench.add_argument("--batch-size", type=int, default=None, help="throughput: the fast set-up's batch (512)")
        bench.add_argument("--data", choices=["cifar10", "random"], default="cifar10",
                           help="throughput: CIFAR-10's training split or random images")
        bench.add_argument("--images", type=int, default=None, help="throughput: at most this many images")
        bench.add_argument("--concurrent", type=int, default=1,
                           help="how many bench processes share this device (recorded with each lab's seconds)")
        bench.add_argument("labs", nargs="*", help="lab name prefixes, e.g. 01 05c (default: all)")
        options = bench.parse_args(args.rest)
        for name in ("steps", "warmup_steps", "width", "batch_size", "images"):
            if getattr(options, name) is not None and getattr(options, name) < 1:
                bench.error(f"--{name.replace('_', '-')} must be at least 1")
        if options.throughput:
            from nnlab import throughput

            if options.labs:
                bench.error("--throughput takes no lab names")
            given = {"steps": options.steps, "warmup_steps": options.warmup_steps, "width": options.width,
                     "batch_size": options.batch_size}
            throughput.run_throughput(**{k: v for k, v in given.items() if v is not None}, data=options.data,
                                      n_images=options.images, out_dir=options.out)
            return 0
        if options.concurrent < 1:
            bench.error("--concurrent must be at least 1")
        profile = get_profile(options.profile).name if options.profile is not None else get_profile().name
        run_bench(profile, options.labs or None, out_dir=options.out, concurrent=options.concurrent)
        return 0
    return 2  # unreachable: argparse rejects other commands


def run(argv: list[str] | None = None) -> int:
    """:func:`main`, with nnlab's bad-setting errors printed as one line instead of a traceback."""
    from nnlab.data import DataUnavailableError
    from nnlab.profiles import ProfileError

    try:
        return main(argv)
    except (ProfileError, DataUnavailableError) as exc:
        print(f"nnlab: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())

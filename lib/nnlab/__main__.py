"""Command line: ``python -m nnlab <command>``.

- ``python -m nnlab info``                 the profile, backend and device in use
- ``python -m nnlab profile``              just the active profile's name (for the Makefile)
- ``python -m nnlab data fetch [NAME…]``   fetch data sets ahead of time, with progress
- ``python -m nnlab bench [--profile P] [LAB…]``  run labs, write benchmarks/bench-*.{json,md}
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m nnlab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["info", "profile", "data", "bench"], help="what to do")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the command")
    args = parser.parse_args(argv)
    if args.command == "info":
        from nnlab.profiles import get_profile

        print(get_profile().describe())
        return 0
    if args.command == "profile":
        from nnlab.profiles import get_profile

        print(get_profile().name)
        return 0
    if args.command == "data":
        if not args.rest or args.rest[0] != "fetch":
            parser.error("usage: python -m nnlab data fetch [NAME ...]")
        from nnlab.data import cli_fetch

        return cli_fetch(args.rest[1:])
    if args.command == "bench":
        from nnlab.bench import run_bench
        from nnlab.profiles import get_profile

        bench = argparse.ArgumentParser(prog="python -m nnlab bench")
        bench.add_argument("--profile", default=get_profile().name, help="smoke, quick or full")
        bench.add_argument("labs", nargs="*", help="lab name prefixes, e.g. 01 05c (default: all)")
        options = bench.parse_args(args.rest)
        run_bench(options.profile, options.labs or None)
        return 0
    return 2  # unreachable: argparse rejects other commands


if __name__ == "__main__":
    sys.exit(main())

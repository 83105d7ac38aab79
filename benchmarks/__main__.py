"""Command line: ``python -m benchmarks NAME [--size N]`` or ``python -m benchmarks --all``."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys

import benchmarks


def available() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name.startswith("_") or info.name == "harness":
            continue
        names.append(info.name.replace("_", "-"))
    return sorted(names)


def run_one(name: str, sizes: list[int] | None) -> None:
    module = importlib.import_module(f"benchmarks.{name.replace('-', '_')}")
    for size in sizes or list(module.DEFAULT_SIZES):
        for row in module.run(size):
            print(json.dumps(row, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("name", nargs="?", help="benchmark to run; omit with --all or --list")
    parser.add_argument("--size", type=int, action="append", help="scale; may be repeated")
    parser.add_argument("--all", action="store_true", help="run every benchmark at its sizes")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(available()))
        return 0
    if args.all:
        for name in available():
            run_one(name, args.size)
        return 0
    if not args.name:
        parser.error("name a benchmark, or use --all / --list")
    if args.name not in available():
        parser.error(f"unknown benchmark {args.name!r}; known: {', '.join(available())}")
    run_one(args.name, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())

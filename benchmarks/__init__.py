"""Benchmarks of the network platform.

Run one with ``python -m benchmarks NAME [--size N]``; each prints one JSON line per measurement
with at least ``bench``, ``size``, ``seconds`` and ``peak_mb``. ``make bench`` runs them all.

A benchmark is a module ``benchmarks/<name>.py`` (dashes in NAME become underscores) with

- ``DEFAULT_SIZES``: the sizes ``make bench`` runs, and
- ``run(size: int) -> Iterable[dict]``: yields one measurement dict per line.

Use :func:`benchmarks.harness.measure` to time a call and read its peak memory.
"""

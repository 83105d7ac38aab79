"""Timing and memory measurement shared by all benchmarks."""

from __future__ import annotations

import gc
import os
import pickle
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Measurement",
    "measure",
    "measure_in_child",
    "percentiles",
    "time_request",
    "latency_row",
]


@dataclass
class Measurement:
    seconds: float
    peak_mb: float
    result: Any = None


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(fn: Callable[[], Any]) -> Measurement:
    """Time ``fn()`` in this process; ``peak_mb`` is the process's peak RSS afterwards."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return Measurement(seconds=seconds, peak_mb=round(_rss_peak_mb(), 1), result=result)


def measure_in_child(fn: Callable[[], Any]) -> Measurement:
    """Run ``fn()`` in a forked child and report its time and the child's own peak RSS.

    Forking isolates the peak memory of one measurement from everything the parent did before,
    so two solvers measured in the same run do not see each other's allocations. The child's
    peak includes the pages it inherited and touched (the inputs), which is what a real caller
    pays too. ``fn``'s result must be picklable.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            gc.collect()
            start = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - start
            payload = pickle.dumps(("ok", seconds, _rss_peak_mb(), result))
        except BaseException:  # noqa: BLE001 - report every failure to the parent
            payload = pickle.dumps(("error", traceback.format_exc(), 0.0, None))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    status, seconds, peak, result = pickle.loads(data)
    if status != "ok":
        raise RuntimeError(f"benchmark child failed:\n{seconds}")
    return Measurement(seconds=seconds, peak_mb=round(peak, 1), result=result)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50 and p95 of latency samples in milliseconds (nearest-rank)."""
    ordered = sorted(samples_ms)
    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0}

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
        return round(ordered[index], 2)

    return {"p50_ms": rank(50), "p95_ms": rank(95)}


def time_request(client: Any, url: str) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one GET through a Flask test client (same thread)."""
    start, cpu_start = time.perf_counter(), time.thread_time()
    response = client.get(url)
    response.get_data()
    elapsed = (time.perf_counter() - start) * 1000.0
    cpu = (time.thread_time() - cpu_start) * 1000.0
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed, cpu


def latency_row(bench: str, size: int, query: str, samples: list[tuple[float, float]]) -> dict:
    """One JSON row for latency samples: wall p50/p95, CPU p50/p95, total seconds, peak RSS."""
    cpu = percentiles([c for _w, c in samples])
    return {
        "bench": bench,
        "size": size,
        "query": query,
        "n": len(samples),
        "seconds": round(sum(w for w, _c in samples) / 1000.0, 3),
        "peak_mb": round(_rss_peak_mb(), 1),
        **percentiles([w for w, _c in samples]),
        "cpu_p50_ms": cpu["p50_ms"],
        "cpu_p95_ms": cpu["p95_ms"],
    }

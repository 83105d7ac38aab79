"""Allocation round at NRMP scale: our deferred acceptance against the ``matching`` library.

``python -m benchmarks rounds --size 50000``: ``size`` trainees, ``0.12 * size`` placements
with about ``0.8 * size`` seats, rank lists of 12 placements drawn by Zipf-like popularity,
placements ranking all their applicants by a noisy common score. Seeded, so every run and
every solver sees the same instance.

Lines (one JSON each):

- ``solver="deferred_acceptance"``: our whole public call (validation, encoding, solving,
  decoding) on the plain dicts; the fastest of ``REPEATS`` runs, each in its own child
  (the machine is shared, so single runs are noisy); all runs in ``runs_seconds``, and the
  process CPU time of the fastest in ``cpu_seconds``;
- ``solver="matching.solve"``: the library's ``HospitalResident.solve()`` alone, timed inside
  its child after the players are built, with ``baseline_seconds`` and ``ratio`` = library
  solve seconds / ours (``cpu_ratio`` the same on process CPU time, steadier on a busy
  machine). Its players are built with the game's ``check_inputs`` skipped: the
  instance is clean by construction (mutual lists, no repeats, capacities >= 1), so the checks
  could only warn about nothing, and they are quadratic (over an hour at 50,000 trainees).
  ``solve()`` itself is untouched;
- ``solver="matching.create_from_dictionaries+solve"``: the library's whole public call,
  checks included (``build_seconds`` of it building and checking its players), up to
  ``WHOLE_CALL_MAX_SIZE`` trainees (environment variable ``ROUNDS_WHOLE_CALL_MAX_SIZE``).

Every measurement runs in a forked child (:func:`benchmarks.harness.measure_in_child`), so
``peak_mb`` is that solver's own peak, including the inherited instance. ``agree`` says the
library found exactly our matching.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable

import numpy as np

from benchmarks.harness import measure_in_child
from network.matching.stable import deferred_acceptance, match_statistics

__all__ = ["DEFAULT_SIZES", "make_instance", "run"]

DEFAULT_SIZES = (5000, 50000)
#: The library's whole call checks its inputs in O(n * m) Python steps: 109 s at 20,000
#: trainees, and at 50,000 still inside the first of its two quadratic checks after 58 CPU
#: minutes, so above this size only its solve() is timed. Default sizes take about 2 minutes.
WHOLE_CALL_MAX_SIZE = int(os.environ.get("ROUNDS_WHOLE_CALL_MAX_SIZE", "20000"))
REPEATS = 3  # our solver runs this often, each in its own child; the fastest run is reported

RANK_LENGTH = 12
PLACEMENTS_PER_TRAINEE = 0.12
SEATS_PER_TRAINEE = 0.8
ZIPF_EXPONENT = 0.8
SCORE_NOISE = 0.5
SEED = 20260415


def make_instance(
    size: int, seed: int = SEED
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, int]]:
    """A seeded NRMP-like instance: ``(trainee_prefs, placement_prefs, capacities)``.

    1. ``m = round(0.12 * size)`` placements with Zipf-like popularity ``1 / k**0.8`` in a
       random order, and ``round(0.8 * size)`` seats: one each, the rest spread by a
       multinomial with log-normal weights.
    2. Each trainee ranks ``min(12, m)`` distinct placements, drawn one after another in
       proportion to popularity (the first appearances in a long sample with replacement).
    3. Each trainee has a common score; each placement ranks everyone who applied to it by
       score plus its own noise (so lists are mutual and correlated across placements).
    """
    rng = np.random.default_rng(seed)
    n = size
    m = max(1, round(PLACEMENTS_PER_TRAINEE * n))
    length = min(RANK_LENGTH, m)

    popularity = 1.0 / np.arange(1, m + 1) ** ZIPF_EXPONENT
    popularity = rng.permutation(popularity / popularity.sum())
    seats = max(round(SEATS_PER_TRAINEE * n), 0)
    spread = rng.lognormal(0.0, 0.5, size=m)
    base = 1 if seats >= m else 0
    caps = base + rng.multinomial(seats - base * m, spread / spread.sum())

    draws = rng.choice(m, size=(n, 4 * length), p=popularity)
    chosen = np.empty((n, length), dtype=np.int64)
    for t, row in enumerate(draws.tolist()):
        picked = list(dict.fromkeys(row))
        while len(picked) < length:  # rare: too few distinct draws, draw on
            picked = list(dict.fromkeys([*picked, *rng.choice(m, size=length, p=popularity)]))
        chosen[t] = picked[:length]

    score = rng.normal(size=n)
    owner = np.repeat(np.arange(n), length)
    place = chosen.ravel()
    value = score[owner] + rng.normal(scale=SCORE_NOISE, size=owner.size)
    order = np.lexsort((-value, place))
    bounds = np.cumsum(np.bincount(place, minlength=m))[:-1]

    t_names = [f"T{i:06d}" for i in range(n)]
    p_names = [f"P{j:05d}" for j in range(m)]
    trainee_prefs = {t_names[t]: [p_names[p] for p in row] for t, row in enumerate(chosen.tolist())}
    placement_prefs = {
        p_names[p]: [t_names[t] for t in group.tolist()]
        for p, group in enumerate(np.split(owner[order], bounds))
    }
    capacities = {p_names[p]: int(c) for p, c in enumerate(caps)}
    return trainee_prefs, placement_prefs, capacities


def _in_deep_stack(fn):
    """Run ``fn()`` in a thread with a 1 GiB stack and a high recursion limit.

    ``HospitalResident.__init__`` deep-copies the linked player objects recursively, which
    exceeds Python's default recursion limit from about 2,000 trainees on.
    """
    out: dict = {}

    def work() -> None:
        out["result"] = fn()

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1_000_000))
    old_stack = threading.stack_size(1 << 30)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_stack)
    if "result" not in out:
        raise RuntimeError("the matching library failed; see the thread's traceback above")
    return out["result"]


def _library_run(trainee_prefs, placement_prefs, capacities, *, check_inputs: bool) -> dict:
    """Build the library's game and solve it resident-optimal, timing both phases."""
    from matching.games import HospitalResident

    class Unchecked(HospitalResident):
        def check_inputs(self) -> None:  # clean instance: the checks would find nothing
            return None

    game_class = HospitalResident if check_inputs else Unchecked

    def work() -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            game = game_class.create_from_dictionaries(trainee_prefs, placement_prefs, capacities)
            built, built_cpu = time.perf_counter(), time.process_time()
            solved = game.solve(optimal="resident")
            done, done_cpu = time.perf_counter(), time.process_time()
        return {
            "build_seconds": built - start,
            "solve_seconds": done - built,
            "solve_cpu_seconds": done_cpu - built_cpu,
            "pairs": {r.name: h.name for h, matched in solved.items() for r in matched},
        }

    return _in_deep_stack(work)


def run(size: int) -> Iterable[dict]:
    """Yield our line, the library's ``solve()`` line and (up to a size) its whole-call line."""
    instance = make_instance(size)
    trainee_prefs, placement_prefs, capacities = instance
    common = {
        "bench": "rounds",
        "size": size,
        "placements": len(placement_prefs),
        "seats": sum(capacities.values()),
        "rank_length": min(RANK_LENGTH, len(placement_prefs)),
    }

    def ours_call() -> tuple[float, dict]:
        start = time.process_time()
        matching = deferred_acceptance(*instance)
        return time.process_time() - start, matching

    runs = [measure_in_child(ours_call) for _ in range(REPEATS)]
    ours = min(runs, key=lambda run: run.seconds)
    cpu_seconds, matching = ours.result
    our_pairs = {t: p for t, p in matching.items() if p is not None}
    stats = match_statistics(trainee_prefs, matching, capacities)
    yield {
        **common,
        "solver": "deferred_acceptance",
        "seconds": round(ours.seconds, 4),
        "cpu_seconds": round(cpu_seconds, 4),
        "peak_mb": ours.peak_mb,
        "runs_seconds": [round(run.seconds, 4) for run in runs],
        "matched_share": round(stats["matched_share"], 4),
        "first_choice": stats["rank_distribution"].get(1, 0),
        "unfilled_seats": stats["unfilled_seats"],
    }

    solve_only = measure_in_child(lambda: _library_run(*instance, check_inputs=False))
    result = solve_only.result
    yield {
        **common,
        "solver": "matching.solve",
        "seconds": round(result["solve_seconds"], 4),
        "cpu_seconds": round(result["solve_cpu_seconds"], 4),
        "peak_mb": solve_only.peak_mb,
        "baseline_seconds": round(result["solve_seconds"], 4),
        "ratio": round(result["solve_seconds"] / ours.seconds, 1),
        "cpu_ratio": round(result["solve_cpu_seconds"] / max(cpu_seconds, 1e-9), 1),
        "agree": result["pairs"] == our_pairs,
    }

    if size > WHOLE_CALL_MAX_SIZE:
        return
    whole = measure_in_child(lambda: _library_run(*instance, check_inputs=True))
    yield {
        **common,
        "solver": "matching.create_from_dictionaries+solve",
        "seconds": round(whole.seconds, 4),
        "peak_mb": whole.peak_mb,
        "baseline_seconds": round(whole.seconds, 4),
        "ratio": round(whole.seconds / ours.seconds, 1),
        "build_seconds": round(whole.result["build_seconds"], 4),
        "agree": whole.result["pairs"] == our_pairs,
    }

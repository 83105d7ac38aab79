"""Bulk match scoring: every candidate against every open position within their reach.

``size`` candidates and ``size // 5`` positions are placed in the 66 real municipalities of the
Münsterland in proportion to population, with a few kilometres of jitter; candidates travel
10–50 km; professions follow a skew towards nursing. ``score_all`` (spatial index, vectorised
kernel) is compared with a brute-force numpy baseline that computes the full candidates x
positions distance matrix in chunks and scores the same pairs with the same kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import numpy as np

from benchmarks.harness import measure_in_child
from network.matching.geo import haversine_km
from network.matching.scoring import (
    DEFAULT_WEIGHTS,
    Candidate,
    Position,
    _Problem,
    _sort_block,
    score_all,
)
from network.reference import load_municipalities, load_professions
from network.vocabulary import EMPLOYER_BENEFITS, POSITION_TYPES

DEFAULT_SIZES = (5000, 50000)
SEED = 20240501
JITTER_KM = 3.0
#: The brute-force baseline is skipped above this many candidate x position pairs.
BASELINE_MAX_PAIRS = 600_000_000

#: Relative frequency of the professions (nursing first); unknown codes get the default.
_PROFESSION_WEIGHT = {
    "pflegefachperson": 30.0,
    "pflegefachassistenz_nrw": 10.0,
    "mfa": 12.0,
    "pflegefachperson_studium": 4.0,
    "zfa": 6.0,
    "physiotherapie": 6.0,
    "pta": 4.0,
    "notfallsanitaeter": 4.0,
    "ergotherapie": 3.0,
    "ota": 3.0,
    "medizin_pj": 3.0,
}
_DEFAULT_WEIGHT = 2.0
_POSITION_TYPES = ("apprenticeship", "job", "placement", "pj", "volunteer", "residency")
_TYPE_WEIGHT = np.array([40.0, 35.0, 15.0, 4.0, 4.0, 2.0])
_BENEFITS = tuple(EMPLOYER_BENEFITS)


def _places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    towns = load_municipalities()
    lat = np.array([m.latitude for m in towns])
    lon = np.array([m.longitude for m in towns])
    population = np.array([m.population for m in towns], dtype=np.float64)
    town = rng.choice(len(towns), size=n, p=population / population.sum())
    km_per_deg_lat = 111.195
    lat_out = lat[town] + rng.normal(0.0, JITTER_KM / km_per_deg_lat, n)
    lon_out = lon[town] + rng.normal(0.0, JITTER_KM / (km_per_deg_lat * np.cos(np.radians(52))), n)
    return lat_out, lon_out


def _instance(size: int) -> tuple[list[Candidate], list[Position]]:
    rng = np.random.default_rng(SEED + size)
    codes = [p.code for p in load_professions()]
    weight = np.array([_PROFESSION_WEIGHT.get(code, _DEFAULT_WEIGHT) for code in codes])
    weight /= weight.sum()
    base = date(2025, 8, 1)
    m = max(1, size // 5)
    p_lat, p_lon = _places(rng, m)
    p_prof = rng.choice(len(codes), size=m, p=weight)
    p_type = rng.choice(len(_POSITION_TYPES), size=m, p=_TYPE_WEIGHT / _TYPE_WEIGHT.sum())
    positions = []
    for j in range(m):
        start = None if rng.random() < 0.2 else base + timedelta(days=int(rng.integers(0, 365)))
        benefits = frozenset(b for b in _BENEFITS if rng.random() < 0.3)
        requirements = set()
        if rng.random() < 0.3:
            requirements.add("driving_licence")
        if rng.random() < 0.6:
            requirements.add("lang:de")
        if rng.random() < 0.05:
            requirements.add("lang:en")
        positions.append(
            Position(
                f"p{j:06d}",
                float(p_lat[j]),
                float(p_lon[j]),
                _POSITION_TYPES[p_type[j]],
                codes[p_prof[j]],
                start,
                benefits,
                frozenset(requirements),
            )
        )
    c_lat, c_lon = _places(rng, size)
    radius = rng.uniform(10.0, 50.0, size)
    candidates = []
    for i in range(size):
        draw = rng.random()
        count = 0 if draw < 0.05 else (1 if draw < 0.75 else 2)
        professions = frozenset(codes[k] for k in rng.choice(len(codes), size=count, p=weight))
        types = (
            frozenset()
            if rng.random() < 0.5
            else frozenset(
                _POSITION_TYPES[k]
                for k in rng.choice(6, size=int(rng.integers(1, 3)), p=_TYPE_WEIGHT / 100)
            )
        )
        earliest = None if rng.random() < 0.3 else base + timedelta(days=int(rng.integers(0, 365)))
        wanted = frozenset(b for b in ("housing", "childcare", "mobility") if rng.random() < 0.25)
        languages = frozenset({"de"} if rng.random() < 0.9 else {"en"})
        candidates.append(
            Candidate(
                f"c{i:07d}",
                float(c_lat[i]),
                float(c_lon[i]),
                float(radius[i]),
                professions,
                types,
                earliest,
                wanted,
                bool(rng.random() < 0.7),
                languages,
            )
        )
    return candidates, positions


def _brute_force(candidates: list[Candidate], positions: list[Position]) -> int:
    """Full distance matrix in chunks of candidates, then the same filters and kernel."""
    problem = _Problem(candidates, positions, DEFAULT_WEIGHTS)
    type_code = {code: i for i, code in enumerate(POSITION_TYPES)}
    n = len(candidates)
    wants_profession = np.zeros((n, len(problem.profession_code)), dtype=bool)
    wants_type = np.zeros((n, len(type_code)), dtype=bool)
    for i, c in enumerate(candidates):
        for code in c.professions or problem.profession_code:
            if code in problem.profession_code:
                wants_profession[i, problem.profession_code[code]] = True
        for code in c.position_types or type_code:
            wants_type[i, type_code[code]] = True
    p_lat, p_lon = problem.p_lat[None, :], problem.p_lon[None, :]
    pairs = 0
    chunk = max(1, 4_000_000 // max(1, len(positions)))
    for first in range(0, n, chunk):
        rows = np.arange(first, min(n, first + chunk))
        km = haversine_km(problem.c_lat[rows, None], problem.c_lon[rows, None], p_lat, p_lon)
        ok = km <= problem.c_radius[rows, None]
        ok &= wants_profession[rows][:, problem.p_profession]
        ok &= wants_type[rows][:, problem.p_type]
        local, pj = np.nonzero(ok)
        ci = rows[local]
        d = km[local, pj]
        q = problem.kernel(ci, pj, d)
        _sort_block(ci, pj, q, first, len(rows), problem, None)
        pairs += len(ci)
    return pairs


def _cpu_timed(fn: Callable[[], int]) -> Callable[[], tuple[int, float]]:
    """Also report the CPU seconds: other processes on a shared machine inflate wall time."""

    def timed() -> tuple[int, float]:
        start = time.process_time()
        result = fn()
        return result, time.process_time() - start

    return timed


def run(size: int) -> Iterable[dict]:
    candidates, positions = _instance(size)
    full = measure_in_child(_cpu_timed(lambda: score_all(candidates, positions).pairs_scored))
    digest = measure_in_child(_cpu_timed(lambda: len(score_all(candidates, positions, top_k=20))))
    pairs, cpu = full.result
    row = {
        "bench": "scoring",
        "size": size,
        "positions": len(positions),
        "seconds": round(full.seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_mb": full.peak_mb,
        "pairs_scored": pairs,
    }
    if size * len(positions) <= BASELINE_MAX_PAIRS:
        baseline = measure_in_child(_cpu_timed(lambda: _brute_force(candidates, positions)))
        baseline_pairs, baseline_cpu = baseline.result
        if baseline_pairs != pairs:
            raise AssertionError(f"baseline scored {baseline_pairs} pairs, score_all {pairs}")
        row["baseline_seconds"] = round(baseline.seconds, 3)
        row["baseline_cpu_seconds"] = round(baseline_cpu, 3)
        row["baseline_peak_mb"] = baseline.peak_mb
        row["ratio"] = round(baseline.seconds / full.seconds, 2)
    yield row
    rows, digest_cpu = digest.result
    yield {
        "bench": "scoring-top20",
        "size": size,
        "positions": len(positions),
        "seconds": round(digest.seconds, 3),
        "cpu_seconds": round(digest_cpu, 3),
        "peak_mb": digest.peak_mb,
        "rows": rows,
        "pairs_scored": pairs,
    }

"""The coordinators' view of the network: analyses, their cache, the graph for the browser, exports.

Data flow
---------
:func:`~network.network_view.adapter.load_network` reads the selected part of the network,
:func:`network.graph.build_graph` and :func:`network.graph.collaboration_graph` turn it into the
graph of active collaborations, and :func:`network.graph.run_all_analyses` computes everything
the dashboard shows. Nothing is re-computed here: this module only selects, names and arranges
the results (:class:`NetworkAnalysis`), which are plain JSON-ready data.

Cache
-----
A whole-network analysis of 100,000 organisations takes tens of seconds, so results are cached
per ``(filters, data version)``: the version is :func:`~network.network_view.adapter.data_version`
(counts, largest ids and latest ``updated_at`` of organisations and collaborations, number of
offers/needs), read with one aggregate query per request. Any change to the network changes the
version, so a stale result is never shown; no explicit invalidation is needed.

- In-process LRU of ``NETWORK_VIEW_CACHE_SIZE`` (default 8) results.
- Networks of up to ``NETWORK_VIEW_SYNC_MAX_ORGS`` (default 5,000) selected organisations are
  analysed during the request (well under a second). Larger ones run as a background
  :class:`~network.models.Job` (kind ``network_analysis``) whose progress the page polls; the
  finished job keeps the result as JSON in ``Job.payload``, so every web process (gunicorn
  workers, several hosts) finds it there before computing anew. Only the newest
  ``KEPT_JOB_PAYLOADS`` results are kept.

Drawing rule
------------
The browser draws organisations one by one when the selection holds at most
``NETWORK_VIEW_MAX_DRAWN_NODES`` (default 2,000) organisations. Above that the graph endpoint
returns the **municipalities** (one node per municipality, sized by its organisations, edges
weighted by the collaborations between them) or, on request, the **communities** (the 150
largest Louvain communities of two or more organisations) and says so, asking the coordinator to
filter by Kreis, model region or kind to see single organisations. This keeps Cytoscape.js
responsive: a few thousand nodes draw in about a second, tens of thousands freeze the tab.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from network.extensions import db
from network.graph import (
    DEFAULT_REACH_KM,
    Coverage,
    build_graph,
    collaboration_graph,
    coverage_summary,
    run_all_analyses,
    to_cytoscape,
    to_gexf,
    to_graphml,
    write_graph,
)
from network.matching.geo import SpatialIndex
from network.models import Job, Organisation
from network.models.base import utcnow
from network.network_view.adapter import (
    NetworkFilters,
    data_version,
    load_network,
    organisation_conditions,
)
from network.network_view.aggregate import community_elements, municipality_elements
from network.reference import load_kreise
from network.vocabulary import (
    COLLABORATION_KINDS,
    MODEL_REGIONS,
    ORGANISATION_KINDS,
    PLACEMENT_TAGS,
)

__all__ = [
    "JOB_KIND",
    "KIND_STYLES",
    "ExportTooLarge",
    "max_export_organisations",
    "max_drawn_nodes",
    "VIEWS",
    "EXPORT_FORMATS",
    "NetworkAnalysis",
    "DashboardState",
    "parse_filters",
    "analysis_state",
    "compute_analysis",
    "run_analysis_job",
    "analysis_job",
    "graph_payload",
    "export_graph",
    "write_export",
    "municipality_csv",
    "clear_cache",
]

JOB_KIND = "network_analysis"
#: The views the graph endpoint can return.
VIEWS = ("auto", "organisations", "municipalities", "communities")
EXPORT_FORMATS = ("graphml", "gexf")
#: Analysis steps reported to progress callbacks (codes; the templates translate them).
STEPS = ("load", "build", "analyse", "prepare")

DEFAULT_MAX_DRAWN_NODES = 2_000
#: Largest selection the browser may download as GraphML/GEXF (100,000 organisations make a
#: GEXF file of about 150 MB and take minutes to write); the command line has no limit.
DEFAULT_MAX_EXPORT_ORGS = 20_000
DEFAULT_SYNC_MAX_ORGS = 5_000
DEFAULT_CACHE_SIZE = 8
KEPT_JOB_PAYLOADS = 5
#: A background analysis still running after this long is taken for dead.
JOB_TIMEOUT_SECONDS = 30 * 60
#: Rows shown in the lists of isolated / weakly connected organisations and training providers.
LIST_LIMIT = 100
PLACEMENT_LIST_LIMIT = 50
CANDIDATES_PER_PLACEMENT = 3
#: The analysis parameters (part of the cache key).
ANALYSIS_PARAMETERS = {"top": 20, "reach_km": DEFAULT_REACH_KM, "seed": 42, "max_degree": 1}

Progress = Callable[[str, int, int], None]

# Okabe-Ito colours (told apart with the common colour-vision deficiencies), and a shape per
# block of eight kinds, so that colour never carries the meaning alone.
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#1C2529", "#8C6D31")
_SHAPES = ("ellipse", "round-rectangle")
#: Organisation kind -> (colour, Cytoscape.js node shape) in the network view and its legend.
KIND_STYLES: dict[str, tuple[str, str]] = {
    code: (_PALETTE[i % len(_PALETTE)], _SHAPES[i // len(_PALETTE)])
    for i, code in enumerate(ORGANISATION_KINDS)
}


# --------------------------------------------------------------------------- result


@dataclass
class NetworkAnalysis:
    """Everything the dashboard shows for one selection, as JSON-ready data.

    Organisation ids are integers in lists and strings as mapping keys (JSON object keys).
    ``views`` holds the graph for the browser: ``organisations`` (Cytoscape.js JSON, only when
    at most the drawing limit), ``municipalities`` and ``communities`` (aggregated).
    """

    key: str
    filters: dict[str, list[str]]
    computed_at: str
    seconds: float
    summary: dict[str, Any]
    brokers: list[dict[str, Any]]
    communities: dict[str, Any]
    components: dict[str, Any]
    isolated: dict[str, Any]
    weakly_connected: dict[str, Any]
    municipalities: list[dict[str, Any]]
    model_regions: list[dict[str, Any]]
    kreise: list[dict[str, Any]]
    placements: dict[str, Any]
    node_metrics: dict[str, list[Any]]
    views: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def organisations(self) -> int:
        return int(self.summary.get("organisations", 0))

    @property
    def computed(self) -> datetime:
        return datetime.fromisoformat(self.computed_at)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> NetworkAnalysis:
        return cls(**json.loads(text))


@dataclass
class DashboardState:
    """Either a finished analysis or the job computing it."""

    filters: NetworkFilters
    analysis: NetworkAnalysis | None = None
    job: Job | None = None


# --------------------------------------------------------------------------- filters


def _values(args: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    raw = getlist(key) if getlist is not None else args.get(key) or []
    if isinstance(raw, str):
        raw = [raw]
    # Repeated parameters and comma-separated lists are both accepted; "" means "all".
    return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


def parse_filters(args: Mapping[str, Any]) -> tuple[NetworkFilters, dict[str, str]]:
    """Filters from query arguments ``kreis``, ``model_region``, ``kind``, ``edge_kind`` and
    ``partners=1`` (include the direct partners of the selection).

    Unknown values are dropped and reported: ``errors`` maps the argument to a message for the
    user, so a page can show it at the field and a JSON endpoint can answer 400.
    """
    kreise = {k["kreis_ags"] for k in load_kreise()}
    known = {
        "kreis": (kreise, _("Unbekannter Kreis: %(values)s.")),
        "model_region": (set(MODEL_REGIONS), _("Unbekannte Modellregion: %(values)s.")),
        "kind": (set(ORGANISATION_KINDS), _("Unbekannte Art der Organisation: %(values)s.")),
        "edge_kind": (set(COLLABORATION_KINDS), _("Unbekannte Art der Kooperation: %(values)s.")),
    }
    chosen: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for key, (allowed, message) in known.items():
        values = _values(args, key)
        unknown = [v for v in values if v not in allowed]
        if unknown:
            errors[key] = message % {"values": ", ".join(unknown[:5])[:200]}
        chosen[key] = [v for v in values if v in allowed]
    filters = NetworkFilters(
        kreise=chosen["kreis"],
        model_regions=chosen["model_region"],
        kinds=chosen["kind"],
        edge_kinds=chosen["edge_kind"],
        with_partners=bool(_values(args, "partners"))
        and _values(args, "partners")[-1] in ("1", "on"),
    )
    return filters, errors


# --------------------------------------------------------------------------- cache


class _LRUCache:
    """A small thread-safe least-recently-used cache of analyses."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, NetworkAnalysis] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> NetworkAnalysis | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, value: NetworkAnalysis, size: int) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > max(1, size):
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_cache = _LRUCache()


def clear_cache() -> None:
    """Forget every cached analysis of this process (tests, benchmarks)."""
    _cache.clear()


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


class ExportTooLarge(Exception):
    """The selection is too large to be downloaded in the browser (use the command line)."""

    def __init__(self, organisations: int, limit: int) -> None:
        super().__init__(f"{organisations} organisations, at most {limit} in the browser")
        self.organisations = organisations
        self.limit = limit


def max_export_organisations() -> int:
    """Most organisations a browser download may hold (``NETWORK_VIEW_MAX_EXPORT_ORGS``)."""
    return _setting("NETWORK_VIEW_MAX_EXPORT_ORGS", DEFAULT_MAX_EXPORT_ORGS)


def max_drawn_nodes() -> int:
    """Most organisations the browser draws one by one (``NETWORK_VIEW_MAX_DRAWN_NODES``)."""
    return _setting("NETWORK_VIEW_MAX_DRAWN_NODES", DEFAULT_MAX_DRAWN_NODES)


def _cache_key(filters: NetworkFilters, version: tuple[Any, ...]) -> str:
    material = repr(
        (filters.key(), version, sorted(ANALYSIS_PARAMETERS.items()), max_drawn_nodes())
    )
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def _remember(analysis: NetworkAnalysis) -> NetworkAnalysis:
    _cache.put(analysis.key, analysis, _setting("NETWORK_VIEW_CACHE_SIZE", DEFAULT_CACHE_SIZE))
    return analysis


def _from_jobs(key: str) -> NetworkAnalysis | None:
    """A result another process computed (kept in its finished job)."""
    payload = db.session.scalar(
        sa.select(Job.payload)
        .where(Job.kind == JOB_KIND, Job.status == "done", Job.message == key, Job.payload != "")
        .order_by(Job.id.desc())
        .limit(1)
    )
    if not payload:
        return None
    try:
        return _remember(NetworkAnalysis.from_json(payload))
    except (ValueError, TypeError):
        return None


def _selected_count(filters: NetworkFilters) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Organisation)
            .where(*organisation_conditions(filters))
        )
        or 0
    )


def analysis_state(filters: NetworkFilters, actor_id: int | None = None) -> DashboardState:
    """The analysis of ``filters`` from the cache, computed now, or a job computing it.

    Small selections (``NETWORK_VIEW_SYNC_MAX_ORGS``) are analysed during the request; larger
    ones start (or join) a background job, whose id the caller shows with a progress bar.
    """
    version = data_version()
    key = _cache_key(filters, version)
    found = _cache.get(key) or _from_jobs(key)
    if found is not None:
        return DashboardState(filters, analysis=found)
    if _selected_count(filters) <= _setting("NETWORK_VIEW_SYNC_MAX_ORGS", DEFAULT_SYNC_MAX_ORGS):
        return DashboardState(filters, analysis=compute_analysis(filters, key=key))
    running = db.session.scalar(
        sa.select(Job)
        .where(Job.kind == JOB_KIND, Job.message == key, Job.status.in_(("queued", "running")))
        .order_by(Job.id.desc())
        .limit(1)
    )
    if running is not None:
        # A job whose process died (restart, crash) would keep every page waiting: after
        # JOB_TIMEOUT_SECONDS it counts as failed and a new one starts.
        if running.created_at > utcnow() - timedelta(seconds=JOB_TIMEOUT_SECONDS):
            return DashboardState(filters, job=running)
        running.status = "failed"
        running.result = {**(running.result or {}), "error": "timeout"}
        running.finished_at = utcnow()
    job = Job(
        kind=JOB_KIND,
        status="queued",
        message=key,
        progress_total=len(STEPS),
        result={"filters": filters.as_args(), "step": STEPS[0]},
        created_by_id=actor_id,
    )
    db.session.add(job)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job_id = job.id

    def work() -> None:
        with app.app_context():
            try:
                run_analysis_job(job_id, filters)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"network-analysis-{job_id}", daemon=True).start()
    return DashboardState(filters, job=job)


def analysis_job(job_id: int) -> Job | None:
    """The analysis job ``job_id`` (``None`` if there is none of that kind)."""
    job = db.session.get(Job, job_id)
    return job if job is not None and job.kind == JOB_KIND else None


def run_analysis_job(job_id: int, filters: NetworkFilters) -> NetworkAnalysis | None:
    """Compute the analysis for a job row, keeping its progress current; the result goes into
    ``Job.payload`` (shared by all processes) and this process's cache."""
    job = db.session.get(Job, job_id)
    if job is None:
        return None
    job.status = "running"
    db.session.commit()

    def progress(step: str, done: int, total: int) -> None:
        row = db.session.get(Job, job_id)
        row.progress_current = STEPS.index(step) if step in STEPS else row.progress_current
        row.result = {**(row.result or {}), "step": step}
        db.session.commit()

    try:
        analysis = compute_analysis(filters, key=job.message, progress=progress)
    except Exception as err:  # the page must learn that the job died, whatever the reason
        db.session.rollback()
        row = db.session.get(Job, job_id)
        row.status = "failed"
        row.result = {**(row.result or {}), "error": f"{type(err).__name__}: {err}"[:500]}
        row.finished_at = utcnow()
        db.session.commit()
        current_app.logger.exception("network analysis job %s failed", job_id)
        return None
    row = db.session.get(Job, job_id)
    row.status = "done"
    row.progress_current = row.progress_total
    row.payload = analysis.to_json()
    row.result = {
        **(row.result or {}),
        "step": "done",
        "seconds": analysis.seconds,
        "organisations": analysis.organisations,
    }
    row.finished_at = utcnow()
    db.session.commit()
    _prune_payloads()
    return analysis


def _prune_payloads() -> None:
    keep = db.session.scalars(
        sa.select(Job.id)
        .where(Job.kind == JOB_KIND, Job.status == "done", Job.payload != "")
        .order_by(Job.id.desc())
        .limit(KEPT_JOB_PAYLOADS)
    ).all()
    if keep:
        db.session.execute(
            sa.update(Job)
            .where(Job.kind == JOB_KIND, Job.payload != "", Job.id.not_in(keep))
            .values(payload="")
        )
        db.session.commit()


# --------------------------------------------------------------------------- computing


def _report(progress: Progress | None, step: str) -> None:
    if progress is not None:
        progress(step, STEPS.index(step), len(STEPS))


def compute_analysis(
    filters: NetworkFilters,
    *,
    key: str | None = None,
    progress: Progress | None = None,
) -> NetworkAnalysis:
    """Load the selection, run :func:`network.graph.run_all_analyses` and arrange the results.

    The result is cached under ``key`` (default: the current data version). ``progress`` is a
    ``(step, done, total)`` callback, ``step`` one of ``STEPS``.
    """
    started = time.perf_counter()
    key = key or _cache_key(filters, data_version())
    _report(progress, "load")
    organisations, collaborations, places = load_network(filters)
    _report(progress, "build")
    H = collaboration_graph(
        build_graph(organisations, collaborations, places, include_locations=False)
    )
    _report(progress, "analyse")
    selected_places = [p for p in places if filters.selects_place(p)]
    outside = _outside_partners(filters, H, selected_places)
    parameters = dict(ANALYSIS_PARAMETERS)
    parameters["top"] += len(outside)  # partners outside the selection are left out below
    result = run_all_analyses(H, selected_places, **parameters)
    _report(progress, "prepare")
    analysis = _arrange(key, filters, H, places, selected_places, outside, result)
    analysis.seconds = round(time.perf_counter() - started, 3)
    if progress is not None:
        progress("prepare", len(STEPS), len(STEPS))
    return _remember(analysis)


def _outside_partners(
    filters: NetworkFilters, H: nx.Graph, selected_places: list[Any]
) -> set[Hashable]:
    """The organisations in ``H`` only as partners of the selection (``with_partners``)."""
    if not (filters.with_partners and filters.selects_organisations):
        return set()
    place_ok = {p.ags for p in selected_places}
    return {
        n
        for n, d in H.nodes(data=True)
        if d.get("ags") not in place_ok or (filters.kinds and d.get("kind") not in filters.kinds)
    }


def _org_row(H: nx.Graph, node: Hashable, place_names: Mapping[str, str]) -> dict[str, Any]:
    data = H.nodes[node]
    ags = data.get("ags")
    return {
        "id": node,
        "name": data.get("name") or str(node),
        "kind": data.get("kind"),
        "ags": ags,
        "municipality": place_names.get(ags, ags or ""),
    }


def _listed(H: nx.Graph, nodes: list[Hashable], place_names: Mapping[str, str]) -> dict[str, Any]:
    rows = [_org_row(H, n, place_names) for n in nodes]
    rows.sort(key=lambda r: (r["municipality"] or "", r["name"].casefold(), str(r["id"])))
    return {"count": len(rows), "rows": rows[:LIST_LIMIT]}


def _group_rows(
    cross: Mapping[Any, Mapping[str, Any]],
    keys: list[tuple[Any, str]],
    places: list[Any],
    attribute: str,
    thin: Mapping[str, Counter[Any]],
) -> list[dict[str, Any]]:
    rows = []
    for key, name in keys:
        members = [p for p in places if getattr(p, attribute) == key]
        figures = cross.get(key) or {}
        if not members:  # only partners of the selection lie there
            continue
        population = sum(p.population or 0 for p in members)
        organisations = int(figures.get("organisations", 0))
        rows.append(
            {
                "key": key,
                "name": name,
                "municipalities": len(members),
                "population": population or None,
                "organisations": organisations,
                "organisations_per_10k": (
                    round(organisations / population * 10_000, 2) if population else None
                ),
                "collaborations": int(figures.get("collaborations", 0)),
                "internal": int(figures.get("internal", 0)),
                "cross": int(figures.get("cross", 0)),
                "cross_share": figures.get("share"),
                "isolated": thin["isolated"].get(key, 0),
                "weak": thin["weak"].get(key, 0),
            }
        )
    return rows


def _arrange(
    key: str,
    filters: NetworkFilters,
    H: nx.Graph,
    places: list[Any],
    selected_places: list[Any],
    outside: set[Hashable],
    result: dict[str, Any],
) -> NetworkAnalysis:
    """Name and order the results; partners ``outside`` the selection appear in the graph and
    its figures (their collaborations with the selection count), never in the lists: only
    their links to the selection are loaded, so their gaps and centralities would mislead."""
    place_names = {p.ags: p.name for p in places}
    nodes = H.nodes
    isolated = [n for n in result["isolated"] if n not in outside]
    weak = [n for n in result["weakly_connected"] if n not in outside]

    def counts(ids: list[Hashable], attribute: str) -> Counter[Any]:
        return Counter(nodes[n].get(attribute) for n in ids)

    thin_by = {
        attribute: {"isolated": counts(isolated, attribute), "weak": counts(weak, attribute)}
        for attribute in ("ags", "model_region", "kreis")
    }

    municipalities = []
    for row in result["municipalities"]:
        municipalities.append(
            {
                **row,
                "isolated": thin_by["ags"]["isolated"].get(row["ags"], 0),
                "weak": thin_by["ags"]["weak"].get(row["ags"], 0),
            }
        )

    region_keys = [(slug, name) for slug, (name, _members) in MODEL_REGIONS.items()]
    region_keys.append((None, ""))  # outside the model regions
    model_regions = _group_rows(
        result["cross_municipal"]["model_region"],
        region_keys,
        selected_places,
        "model_region",
        thin_by["model_region"],
    )
    kreis_names = sorted({p.kreis for p in selected_places if p.kreis})
    kreise = _group_rows(
        result["cross_municipal"]["kreis"],
        [(k, k) for k in kreis_names],
        selected_places,
        "kreis",
        thin_by["kreis"],
    )

    brokers = [
        {**row, "municipality": place_names.get(row["ags"], row["ags"] or "")}
        for row in result["brokers"]
        if row["id"] not in outside
    ][: ANALYSIS_PARAMETERS["top"]]

    membership = result["communities"]["membership"]
    degree = result["degree_centrality"]
    betweenness = result["betweenness"]
    partners = dict(H.degree())  # no self-loops: build_graph refuses them
    node_metrics = {
        str(n): [
            round(degree.get(n, 0.0), 6),
            round(betweenness.get(n, 0.0), 6),
            membership.get(n),
            partners[n],
        ]
        for n in H
    }

    views: dict[str, Any] = {
        "municipalities": municipality_elements(H, places),
        "communities": community_elements(H, membership, place_names),
        "organisations": None,
    }
    if H.number_of_nodes() <= max_drawn_nodes():
        views["organisations"] = to_cytoscape(
            H,
            extra={
                "degree_centrality": {n: node_metrics[str(n)][0] for n in H},
                "betweenness": {n: node_metrics[str(n)][1] for n in H},
                "community": membership,
                "partners": {n: node_metrics[str(n)][3] for n in H},
                "outside": {n: n in outside for n in H},
            },
        )

    sizes = result["communities"]["sizes"]
    return NetworkAnalysis(
        key=key,
        filters=filters.as_args(),
        computed_at=datetime.now(UTC).isoformat(),
        seconds=0.0,
        summary={
            **result["summary"],
            "municipalities": len(selected_places),
            "outside_partners": len(outside),
            "isolated": len(isolated),
            "weakly_connected": len(weak),
            # Each pair across a border counts as "cross" at both ends.
            "cross_municipal": sum(
                figures["cross"] for figures in result["cross_municipal"]["ags"].values()
            )
            // 2,
        },
        brokers=brokers,
        communities={
            "count": result["communities"]["count"],
            "modularity": result["communities"]["modularity"],
            "sizes": sizes[:10],
            "multi": sum(1 for size in sizes if size >= 2),
        },
        components=result["components"],
        isolated=_listed(H, isolated, place_names),
        weakly_connected=_listed(H, weak, place_names),
        municipalities=municipalities,
        model_regions=model_regions,
        kreise=kreise,
        placements=_placement_rows(H, result["placements"], place_names, outside),
        node_metrics=node_metrics,
        views=views,
        timings=result["timings"],
    )


def _placement_rows(
    H: nx.Graph,
    placements: Mapping[str, Any],
    place_names: Mapping[str, str],
    outside: set[Hashable],
) -> dict[str, Any]:
    """The coverage summary plus the providers that miss a placement area, each with the
    nearest organisations within reach that offer it (candidates for a new partnership)."""
    coverage: Mapping[Hashable, Mapping[str, Any]] = {
        node: c for node, c in placements.get("coverage", {}).items() if node not in outside
    }
    if outside:  # the summary of the selected providers only
        placements = coverage_summary(
            {
                node: Coverage(set(c["own"]), c["via_partners"], set(c["missing"]), c["reach_km"])
                for node, c in coverage.items()
            }
        )
    incomplete = [(node, c) for node, c in coverage.items() if c["missing"]]
    incomplete.sort(
        key=lambda item: (
            -len(item[1]["missing"]),
            str(H.nodes[item[0]].get("name") or "").casefold(),
            str(item[0]),
        )
    )
    shown = incomplete[:PLACEMENT_LIST_LIMIT]
    wanted = {tag for _, c in shown for tag in c["missing"]}
    indexes: dict[str, SpatialIndex] = {}
    for tag in wanted:
        offering = [
            (n, d["lat"], d["lon"])
            for n, d in H.nodes(data=True)
            if tag in (d.get("offers") or ())
            and d.get("lat") is not None
            and d.get("lon") is not None
        ]
        if offering:
            indexes[tag] = SpatialIndex(
                [o[1] for o in offering],
                [o[2] for o in offering],
                ids=np.array([o[0] for o in offering], dtype=object),
            )

    def names(ids: list[Hashable]) -> list[dict[str, Any]]:
        return [_org_row(H, i, place_names) for i in ids]

    rows = []
    for node, c in shown:
        data = H.nodes[node]
        candidates: dict[str, list[dict[str, Any]]] = {}
        for tag in c["missing"]:
            index = indexes.get(tag)
            if index is None or data.get("lat") is None or data.get("lon") is None:
                candidates[tag] = []
                continue
            ids, km = index.within(data["lat"], data["lon"], c["reach_km"], return_distance=True)
            order = sorted(
                (float(d), i) for i, d in zip(ids.tolist(), km.tolist(), strict=True) if i != node
            )
            candidates[tag] = [
                {**_org_row(H, i, place_names), "distance_km": round(d, 1)}
                for d, i in order[:CANDIDATES_PER_PLACEMENT]
            ]
        rows.append(
            {
                **_org_row(H, node, place_names),
                "own": c["own"],
                "via_partners": {tag: names(ids) for tag, ids in c["via_partners"].items()},
                "missing": c["missing"],
                "candidates": candidates,
            }
        )
    return {
        "tags": list(PLACEMENT_TAGS),
        "reach_km": ANALYSIS_PARAMETERS["reach_km"],
        "providers": placements.get("providers", 0),
        "complete": placements.get("complete", 0),
        "incomplete": placements.get("incomplete", 0),
        "own_by_tag": placements.get("own_by_tag", {}),
        "via_partners_by_tag": placements.get("via_partners_by_tag", {}),
        "missing_by_tag": placements.get("missing_by_tag", {}),
        "rows": rows,
    }


# --------------------------------------------------------------------------- graph for the browser


def graph_payload(
    analysis: NetworkAnalysis,
    view: str,
    *,
    profile_url: Callable[[Any], str],
    municipality_url: Callable[[str], str],
) -> dict[str, Any]:
    """The graph the browser draws for ``view`` (see the drawing rule in the module docstring).

    ``profile_url(org_id)`` and ``municipality_url(ags)`` give each node the page a click opens.
    Returns ``{"view", "requested", "too_large", "max_nodes", "organisations", "elements"}``.
    """
    requested = view if view in VIEWS else "auto"
    drawable = analysis.views.get("organisations") is not None
    chosen = requested
    if requested == "auto":
        chosen = "organisations" if drawable else "municipalities"
    too_large = requested in ("auto", "organisations") and not drawable
    if chosen == "organisations" and not drawable:
        chosen = "municipalities"
    source = analysis.views[chosen]
    nodes = []
    for node in source["elements"]["nodes"]:
        data = dict(node["data"])
        if chosen == "organisations":
            data["url"] = profile_url(data["id"])
        elif chosen == "municipalities":
            data["url"] = municipality_url(str(data.get("ags") or ""))
        nodes.append({"data": data})
    return {
        "view": chosen,
        "requested": requested,
        "too_large": too_large,
        "max_nodes": max_drawn_nodes(),
        "organisations": analysis.organisations,
        "elements": {"nodes": nodes, "edges": source["elements"]["edges"]},
    }


# --------------------------------------------------------------------------- exports


def _export_graph(
    filters: NetworkFilters,
    node_metrics: Mapping[str, list[Any]] | None,
    *,
    with_places: bool,
    progress: Progress | None = None,
) -> nx.Graph:
    organisations, collaborations, places = load_network(filters)
    G = build_graph(organisations, collaborations, places, include_locations=with_places)
    graph = G if with_places else collaboration_graph(G)
    graph.graph["filters"] = json.dumps(filters.as_args(), ensure_ascii=False, sort_keys=True)
    if node_metrics:
        for node, data in graph.nodes(data=True):
            metrics = node_metrics.get(str(node))
            if metrics is None:
                continue
            data["degree_centrality"], data["betweenness"] = metrics[0], metrics[1]
            if metrics[2] is not None:
                data["community"] = metrics[2]
            data["partners"] = metrics[3]
    return graph


def export_graph(
    analysis: NetworkAnalysis, filters: NetworkFilters, fmt: str, *, with_places: bool = False
) -> bytes:
    """The selection as GraphML or GEXF, organisations carrying their centralities and community.

    Without ``with_places`` the graph holds the organisations and one edge per pair of active
    collaborators (``kinds``, ``weight``, ``since``); with it, the full stakeholder multigraph
    (municipalities, ``located_in`` and ``neighbour`` edges, every collaboration on its own).

    Raises
    ------
    ExportTooLarge
        Above ``NETWORK_VIEW_MAX_EXPORT_ORGS`` organisations (:func:`write_export` has no limit).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if analysis.organisations > max_export_organisations():
        raise ExportTooLarge(analysis.organisations, max_export_organisations())
    graph = _export_graph(filters, analysis.node_metrics, with_places=with_places)
    buffer = io.BytesIO()
    (to_graphml if fmt == "graphml" else to_gexf)(graph, buffer)
    return buffer.getvalue()


def write_export(
    path: str | Path,
    filters: NetworkFilters,
    *,
    with_places: bool = False,
    metrics: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the selection to ``path`` (format from the extension: .graphml, .gexf, .json).

    The command-line twin of :func:`export_graph`; the analysis (for the centralities) comes from
    the cache or is computed, reporting ``STEPS`` and then ``"write"`` to ``progress``.
    Returns a summary: ``path``, ``format``, ``nodes``, ``edges``, ``organisations``,
    ``collaborations`` and ``seconds``.
    """
    started = time.perf_counter()
    node_metrics = None
    if metrics:
        key = _cache_key(filters, data_version())
        analysis = (
            _cache.get(key)
            or _from_jobs(key)
            or compute_analysis(filters, key=key, progress=progress)
        )
        node_metrics = analysis.node_metrics
    if progress is not None:
        progress("write", 0, 1)
    graph = _export_graph(filters, node_metrics, with_places=with_places)
    target = write_graph(graph, path)
    if progress is not None:
        progress("write", 1, 1)
    organisations = sum(
        1 for _, d in graph.nodes(data=True) if d.get("layer", "organisation") == "organisation"
    )
    collaborations = sum(
        1
        for _, _, d in graph.edges(data=True)
        if d.get("layer", "collaboration") == "collaboration"
    )
    return {
        "path": str(target),
        "format": target.suffix.lower().lstrip("."),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "organisations": organisations,
        "collaborations": collaborations,
        "seconds": round(time.perf_counter() - started, 2),
    }


def municipality_csv(analysis: NetworkAnalysis, headers: Mapping[str, str]) -> str:
    """The per-municipality figures as CSV (semicolons, UTF-8 with BOM: Excel opens it as is).

    ``headers`` maps column keys to the (translated) column titles, in column order; shares
    are percentages with one decimal.
    """
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers.values())
    for row in analysis.municipalities:
        values = []
        for column in headers:
            value = row.get(column)
            if column == "model_region":
                value = MODEL_REGIONS[value][0] if value in MODEL_REGIONS else ""
            elif column == "cross_share":
                value = "" if value is None else round(value * 100, 1)
            elif column == "by_kind":
                value = ", ".join(f"{k}={v}" for k, v in (value or {}).items())
            values.append("" if value is None else value)
        writer.writerow(values)
    return buffer.getvalue()

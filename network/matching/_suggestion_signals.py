"""Vectorised encoding, candidate generation and scoring behind :mod:`.suggestions`.

Private: the public entry point is :func:`network.matching.suggestions.suggest`. Everything here
works on integer indices ``0..n-1`` of the organisations and numpy arrays; nothing builds Python
objects per candidate pair.
"""

from __future__ import annotations

__all__: list[str] = []

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from network.vocabulary import ORGANISATION_KINDS, PLACEMENT_TAGS, TAGS

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from network.matching.suggestions import SuggestionConfig

EARTH_RADIUS_KM = 6371.0088

#: Order of the score components; ``parts[:, j]`` holds component ``SIGNALS[j]``.
SIGNALS: tuple[str, ...] = (
    "complementarity",
    "structure",
    "geography",
    "cross_municipal",
    "kind",
    "feedback",
)

_MISSING = object()


class EncodingError(Exception):
    """Raised by the encoder; the public module turns it into a :class:`MatchingError`."""

    def __init__(self, kind: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.params = params


def field_of(org: Any, name: str, default: Any = _MISSING) -> Any:
    """``org[name]`` for a mapping, ``org.name`` otherwise; ``default`` if absent."""
    if isinstance(org, Mapping):
        if name in org:
            return org[name]
    else:
        value = getattr(org, name, _MISSING)
        if value is not _MISSING:
            return value
    if default is _MISSING:
        raise KeyError(name)
    return default


def tag_set(value: Any) -> frozenset[str]:
    """The tags of an ``offers``/``needs`` value (``None`` is empty; a bare string is refused)."""
    if value is None:
        return frozenset()
    if isinstance(value, str | bytes):
        raise TypeError("a collection of tags is expected, not a single string")
    if isinstance(value, frozenset):
        return value
    return frozenset(value)


def sort_ids(ids: list[Hashable]) -> list[Hashable]:
    """Ids in a deterministic order: natural order if comparable, else by type name and repr."""
    try:
        return sorted(ids)
    except TypeError:
        return sorted(ids, key=lambda x: (type(x).__name__, repr(x)))


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in km between points given in radians (numpy broadcasting)."""
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))


def chord_km(distance_km: float) -> float:
    """Straight-line (chord) length of a great-circle distance; kd-trees search by chord."""
    return 2 * EARTH_RADIUS_KM * math.sin(min(math.pi / 2, distance_km / (2 * EARTH_RADIUS_KM)))


if hasattr(np, "bitwise_count"):

    def popcount(words: np.ndarray) -> np.ndarray:
        """Number of set bits per row of a ``(P, W)`` uint64 array."""
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)

else:  # pragma: no cover - numpy < 2.0
    _BYTE_BITS = np.array([bin(b).count("1") for b in range(256)], dtype=np.int64)

    def popcount(words: np.ndarray) -> np.ndarray:
        """Number of set bits per row of a ``(P, W)`` uint64 array."""
        as_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(len(words), -1)
        return _BYTE_BITS[as_bytes].sum(axis=1)


@dataclass(frozen=True, slots=True)
class Encoded:
    """The organisations and their collaboration graph as arrays (index ``i`` = i-th org)."""

    ids: list[Hashable]
    index: dict[Hashable, int]
    names: list[str]
    kinds: list[str]
    ags: list[Any]
    tags: list[str]
    offers: np.ndarray  # (n, W) uint64 bit sets
    needs: np.ndarray  # (n, W) explicit needs
    gaps: np.ndarray  # (n, W) implied mandatory placement needs of nursing training providers
    offers_int: list[int]  # the same bit sets as Python ints, for reasons
    needs_int: list[int]
    gaps_int: list[int]
    trainer: np.ndarray  # bool: offers nursing training places
    school: np.ndarray  # bool: kind is a school / training provider
    kind_code: np.ndarray  # int index into kind_list
    kind_list: list[str]
    ags_code: np.ndarray  # int, -1 if unknown
    lat: np.ndarray  # radians
    lon: np.ndarray
    xyz: np.ndarray  # (n, 3) km, for kd-trees
    reach: np.ndarray  # km per organisation
    tie: np.ndarray  # rank of the id in the deterministic id order
    adjacency: sp.csr_matrix  # symmetric 0/1, no diagonal
    degree: np.ndarray
    edge_keys: np.ndarray  # sorted i * n + j of every (directed) existing edge

    @property
    def n(self) -> int:
        return len(self.ids)


def encode(
    organisations: Iterable[Any], collaborations: Iterable[Any], config: SuggestionConfig
) -> Encoded:
    """Read, validate and encode the plain inputs (never modifying them)."""
    ids: list[Hashable] = []
    index: dict[Hashable, int] = {}
    names: list[str] = []
    kinds: list[str] = []
    ags: list[Any] = []
    lats: list[float] = []
    lons: list[float] = []
    offer_sets: list[frozenset[str]] = []
    need_sets: list[frozenset[str]] = []
    for position, org in enumerate(organisations):
        try:
            org_id = field_of(org, "id")
        except KeyError as err:
            raise EncodingError(
                "invalid", f"organisation #{position} has no id", id=None, field="id"
            ) from err
        try:
            hash(org_id)
        except TypeError as err:
            raise EncodingError(
                "invalid", f"id {org_id!r} is not hashable", id=repr(org_id), field="id"
            ) from err
        if org_id in index:
            raise EncodingError("invalid", f"duplicate id {org_id!r}", id=org_id, field="id")
        try:
            lat = float(field_of(org, "lat"))
            lon = float(field_of(org, "lon"))
        except (KeyError, TypeError, ValueError) as err:
            raise EncodingError(
                "invalid", f"organisation {org_id!r} has no usable lat/lon", id=org_id, field="lat"
            ) from err
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
            raise EncodingError(
                "invalid",
                f"organisation {org_id!r} has invalid coordinates ({lat}, {lon})",
                id=org_id,
                field="lat",
            )
        try:
            offers = tag_set(field_of(org, "offers", None))
            needs = tag_set(field_of(org, "needs", None))
        except TypeError as err:
            raise EncodingError(
                "invalid",
                f"offers/needs of organisation {org_id!r} must be collections of tags",
                id=org_id,
                field="offers",
            ) from err
        kind = field_of(org, "kind", None)
        name = field_of(org, "name", None)
        index[org_id] = len(ids)
        ids.append(org_id)
        names.append(str(org_id) if name is None or name == "" else str(name))
        kinds.append("" if kind is None else str(kind))
        municipality = field_of(org, "ags", None)
        ags.append(None if municipality == "" else municipality)
        lats.append(lat)
        lons.append(lon)
        offer_sets.append(offers)
        need_sets.append(needs)
    n = len(ids)

    # Tags as bit sets: the vocabulary first, then any other tag in sorted order.
    extra = sorted({t for s in (*offer_sets, *need_sets) for t in s if t not in TAGS}, key=str)
    tags = [*TAGS, *extra]
    bit = {t: b for b, t in enumerate(tags)}
    words = max(1, (len(tags) + 63) // 64)
    placement_mask = sum(1 << bit[t] for t in PLACEMENT_TAGS if t in bit)
    trainer_bit = 1 << bit[config.trainer_tag] if config.trainer_tag in bit else 0
    school_kinds = frozenset(config.school_kinds)
    cache: dict[frozenset[str], int] = {}

    def as_int(tag_values: frozenset[str]) -> int:
        value = cache.get(tag_values)
        if value is None:
            value = sum(1 << bit[t] for t in tag_values)
            cache[tag_values] = value
        return value

    offers_int = [as_int(s) for s in offer_sets]
    needs_int = [as_int(s) for s in need_sets]
    trainer = np.fromiter((bool(v & trainer_bit) for v in offers_int), dtype=bool, count=n)
    school = np.fromiter((k in school_kinds for k in kinds), dtype=bool, count=n)
    gaps_int = [
        (placement_mask & ~o & ~d) if (t or s) else 0
        for o, d, t, s in zip(offers_int, needs_int, trainer.tolist(), school.tolist(), strict=True)
    ]

    kind_list = sorted(set(kinds))
    kind_lookup = {k: i for i, k in enumerate(kind_list)}
    kind_code = np.fromiter((kind_lookup[k] for k in kinds), dtype=np.int64, count=n)
    ags_values = sort_ids(list({a for a in ags if a is not None}))
    ags_lookup = {a: i for i, a in enumerate(ags_values)}
    ags_code = np.fromiter(
        (-1 if a is None else ags_lookup[a] for a in ags), dtype=np.int64, count=n
    )
    lat_arr = np.radians(np.asarray(lats, dtype=float))
    lon_arr = np.radians(np.asarray(lons, dtype=float))
    xyz = EARTH_RADIUS_KM * np.column_stack(
        (np.cos(lat_arr) * np.cos(lon_arr), np.cos(lat_arr) * np.sin(lon_arr), np.sin(lat_arr))
    ).reshape(n, 3)
    reach_of_kind = np.array([config.reach_of(k) for k in kind_list], dtype=float)
    order = sort_ids(ids)
    tie = np.empty(n, dtype=np.int64)
    tie[np.fromiter((index[i] for i in order), dtype=np.int64, count=n)] = np.arange(n)

    adjacency = _adjacency(collaborations, index, n)
    degree = np.diff(adjacency.indptr).astype(np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), degree)
    edge_keys = rows * n + adjacency.indices.astype(np.int64)
    return Encoded(
        ids=ids,
        index=index,
        names=names,
        kinds=kinds,
        ags=ags,
        tags=tags,
        offers=_bit_array(offers_int, words),
        needs=_bit_array(needs_int, words),
        gaps=_bit_array(gaps_int, words),
        offers_int=offers_int,
        needs_int=needs_int,
        gaps_int=gaps_int,
        trainer=trainer,
        school=school,
        kind_code=kind_code,
        kind_list=kind_list,
        ags_code=ags_code,
        lat=lat_arr,
        lon=lon_arr,
        xyz=xyz,
        reach=reach_of_kind[kind_code] if n else np.zeros(0),
        tie=tie,
        adjacency=adjacency,
        degree=degree,
        edge_keys=edge_keys,
    )


def _bit_array(values: list[int], words: int) -> np.ndarray:
    """Python-int bit sets as an ``(n, words)`` uint64 array."""
    out = np.zeros((len(values), words), dtype=np.uint64)
    if words == 1:
        out[:, 0] = np.fromiter(values, dtype=np.uint64, count=len(values))
        return out
    mask = (1 << 64) - 1
    for w in range(words):
        shift = 64 * w
        out[:, w] = np.fromiter(((v >> shift) & mask for v in values), dtype=np.uint64)
    return out


def _endpoints(pair: Any) -> tuple[Any, Any]:
    source = getattr(pair, "source", _MISSING)
    target = getattr(pair, "target", _MISSING)
    if source is not _MISSING and target is not _MISSING:
        return source, target
    a, b = pair
    return a, b


def _adjacency(collaborations: Iterable[Any], index: dict[Hashable, int], n: int) -> sp.csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    for pair in collaborations:
        try:
            a, b = _endpoints(pair)
        except (TypeError, ValueError) as err:
            raise EncodingError(
                "invalid_pair", f"collaboration {pair!r} is not a pair of ids", pair=repr(pair)
            ) from err
        try:
            i, j = index[a], index[b]
        except (KeyError, TypeError) as err:
            unknown = a if _unknown(a, index) else b
            raise EncodingError(
                "unknown", f"collaboration names unknown organisation {unknown!r}", id=unknown
            ) from err
        if i != j:
            rows.append(i)
            cols.append(j)
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    data = np.ones(2 * len(r), dtype=np.float64)
    matrix = sp.csr_matrix(
        (data, (np.concatenate((r, c)), np.concatenate((c, r)))), shape=(n, n)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix


def _unknown(value: Any, index: dict[Hashable, int]) -> bool:
    try:
        return value not in index
    except TypeError:
        return True


def kind_matrix(encoded: Encoded, config: SuggestionConfig) -> np.ndarray:
    """Compatibility of every pair of kinds present, from the config's symmetric table."""
    kinds = encoded.kind_list
    matrix = np.empty((len(kinds), len(kinds)))
    for a, kind_a in enumerate(kinds):
        for b, kind_b in enumerate(kinds):
            matrix[a, b] = config.compatibility(kind_a, kind_b)
    return matrix


def structure_weights(encoded: Encoded, config: SuggestionConfig) -> np.ndarray:
    """Weight of a common partner ``z``: ``1/deg z`` (resource allocation) or ``1/log deg z``."""
    degree = encoded.degree.astype(float)
    weights = np.zeros_like(degree)
    if config.structure_index == "adamic_adar":
        mask = degree >= 2
        weights[mask] = 1.0 / np.log(degree[mask])
    else:
        mask = degree >= 1
        weights[mask] = 1.0 / degree[mask]
    return weights


@dataclass(frozen=True, slots=True)
class _Probe:
    """One kd-tree candidate search: ``sources`` look up their ``k`` nearest ``members``."""

    tree: cKDTree
    members: np.ndarray
    sources: np.ndarray  # bool mask over all organisations
    k: int


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the chunked scoring needs, built once per call."""

    encoded: Encoded
    config: SuggestionConfig
    kinds: np.ndarray  # kind compatibility matrix
    propagation: sp.csr_matrix  # diag(weights) @ A
    probes: tuple[_Probe, ...]
    bound: float  # chord of the largest reach
    rejected_keys: np.ndarray  # sorted, both directions
    feedback_keys: np.ndarray  # sorted, both directions
    feedback_values: np.ndarray


def build_context(
    encoded: Encoded,
    config: SuggestionConfig,
    rejected: np.ndarray,
    feedback_keys: np.ndarray,
    feedback_values: np.ndarray,
) -> Context:
    """Kind matrix, weighted adjacency and kd-tree probes shared by all chunks."""
    n = encoded.n
    weights = structure_weights(encoded, config)
    propagation = (sp.diags(weights) @ encoded.adjacency).tocsr()
    kinds = kind_matrix(encoded, config)
    probes: list[_Probe] = []

    def probe(members_mask: np.ndarray, sources_mask: np.ndarray, k: int) -> None:
        members = np.flatnonzero(members_mask)
        if k <= 0 or len(members) == 0 or not sources_mask.any():
            return
        probes.append(_Probe(cKDTree(encoded.xyz[members]), members, sources_mask, k))

    if n:
        # Per tag: who needs it looks for the nearest who offer it, and the other way round.
        needs_any = encoded.needs | encoded.gaps
        for b in range(len(encoded.tags)):
            word, shift = divmod(b, 64)
            bit_value = np.uint64(1 << shift)
            offering = (encoded.offers[:, word] & bit_value) != 0
            needing = (needs_any[:, word] & bit_value) != 0
            probe(offering, needing, config.candidates_per_tag)
            probe(needing, offering, config.candidates_per_tag)
        # Per kind: the nearest organisations of every kind that fits the source's kind.
        for target_kind in range(len(encoded.kind_list)):
            fitting = kinds[:, target_kind] >= config.kind_candidate_threshold
            probe(
                encoded.kind_code == target_kind,
                fitting[encoded.kind_code],
                config.candidates_per_kind,
            )
        # And the nearest organisations of any kind.
        everyone = np.ones(n, dtype=bool)
        probe(everyone, everyone, config.candidates_nearest)
    largest = max([config.default_reach_km, *config.reach_km.values()])
    return Context(
        encoded=encoded,
        config=config,
        kinds=kinds,
        propagation=propagation,
        probes=tuple(probes),
        bound=chord_km(largest) * (1 + 1e-9) + 1e-9,
        rejected_keys=rejected,
        feedback_keys=feedback_keys,
        feedback_values=feedback_values,
    )


def _unique(keys: np.ndarray) -> np.ndarray:
    """Sorted unique values (a plain sort; faster here than ``np.unique``'s hashing)."""
    keys = np.sort(keys)
    if len(keys) == 0:
        return keys
    keep = np.empty(len(keys), dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _isin_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def candidates(context: Context, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs ``(source, target, structure value)`` for ``sources``, unique, sorted.

    The union of the 2-hop neighbours (whose value is the weighted count of common partners,
    one row of ``A · W · A``), the kd-tree probes and the feedback pairs. A pair's value depends
    only on the pair, never on which other sources are in the chunk.
    """
    encoded = context.encoded
    n = encoded.n
    two_hop = (encoded.adjacency[sources] @ context.propagation).tocoo()
    src_parts = [sources[two_hop.row].astype(np.int64)]
    tgt_parts = [two_hop.col.astype(np.int64)]
    val_parts = [two_hop.data.astype(float)]
    in_chunk = np.zeros(n, dtype=bool)
    in_chunk[sources] = True
    for p in context.probes:
        query = sources[p.sources[sources]]
        if len(query) == 0:
            continue
        k = min(p.k, len(p.members))
        _dist, found = p.tree.query(
            encoded.xyz[query], k=k, distance_upper_bound=context.bound, workers=-1
        )
        found = found.reshape(len(query), k)
        ok = found < len(p.members)
        src_parts.append(np.repeat(query, k).reshape(len(query), k)[ok])
        tgt_parts.append(p.members[found[ok]])
    if len(context.feedback_keys):
        fb_src = context.feedback_keys // n
        chosen = in_chunk[fb_src]
        src_parts.append(fb_src[chosen])
        tgt_parts.append(context.feedback_keys[chosen] % n)
    keys = _unique(np.concatenate(src_parts) * n + np.concatenate(tgt_parts))
    hop_keys = src_parts[0] * n + tgt_parts[0]
    order = np.argsort(hop_keys)
    hop_keys = hop_keys[order]
    values = np.zeros(len(keys))
    if len(hop_keys):
        pos = np.minimum(np.searchsorted(hop_keys, keys), len(hop_keys) - 1)
        found = hop_keys[pos] == keys
        values[found] = val_parts[0][order][pos[found]]
    return keys // n, keys % n, values


def score(
    context: Context, src: np.ndarray, tgt: np.ndarray, structure: np.ndarray
) -> dict[str, np.ndarray]:
    """Drop forbidden pairs and compute every component of the score of the others.

    Returns arrays over the kept pairs: ``src``, ``tgt``, ``parts`` (``(P, len(SIGNALS))``
    weighted components), ``score``, ``distance``, ``cross``, ``structure_raw``.
    """
    e = context.encoded
    cfg = context.config
    n = e.n
    keys = src * n + tgt
    distance = haversine_km(e.lat[src], e.lon[src], e.lat[tgt], e.lon[tgt])
    reach = np.maximum(e.reach[src], e.reach[tgt])
    keep = (
        (src != tgt)
        & (distance <= reach)
        & ~_isin_sorted(e.edge_keys, keys)
        & ~_isin_sorted(context.rejected_keys, keys)
    )
    src, tgt, keys = src[keep], tgt[keep], keys[keep]
    structure, distance, reach = structure[keep], distance[keep], reach[keep]

    explicit = popcount(e.needs[src] & e.offers[tgt]) + popcount(e.needs[tgt] & e.offers[src])
    implied = popcount(e.gaps[src] & e.offers[tgt]) + popcount(e.gaps[tgt] & e.offers[src])
    matches = explicit + cfg.placement_gap_share * implied
    complementarity = 1.0 - np.exp(-matches / cfg.complementarity_scale)
    structure_signal = structure / (structure + cfg.structure_half_saturation)
    geography = np.exp(-distance / (cfg.decay_share_of_reach * reach))
    cross = (e.ags_code[src] != e.ags_code[tgt]) & (e.ags_code[src] >= 0) & (e.ags_code[tgt] >= 0)
    kind = context.kinds[e.kind_code[src], e.kind_code[tgt]]
    alliance = (e.school[src] & e.trainer[tgt] & ~e.school[tgt]) | (
        e.school[tgt] & e.trainer[src] & ~e.school[src]
    )
    alliance &= cfg.training_alliance_compatibility > kind  # the rule, not the table, decides
    kind = np.where(alliance, cfg.training_alliance_compatibility, kind)
    if len(context.feedback_keys):
        pos = np.minimum(
            np.searchsorted(context.feedback_keys, keys), len(context.feedback_keys) - 1
        )
        found = context.feedback_keys[pos] == keys
        feedback = np.where(found, context.feedback_values[pos], 0.0)
    else:
        feedback = np.zeros(len(keys))

    parts = np.column_stack(
        (
            cfg.complementarity_weight * complementarity,
            cfg.structure_weight * structure_signal,
            cfg.geography_weight * geography,
            cfg.cross_municipal_bonus * cross,
            cfg.kind_weight * kind,
            cfg.feedback_weight * feedback,
        )
    ).reshape(len(keys), len(SIGNALS))
    total = parts.sum(axis=1)
    good = total > cfg.min_score
    return {
        "src": src[good],
        "tgt": tgt[good],
        "parts": parts[good],
        "score": total[good],
        "distance": distance[good],
        "cross": cross[good],
        "structure_raw": structure[good],
        "alliance": alliance[good],
        "feedback": feedback[good],
    }


def top_k(context: Context, scored: dict[str, np.ndarray], k: int) -> np.ndarray:
    """Positions of each source's ``k`` best pairs: score descending, ties by target id."""
    src = scored["src"]
    order = np.lexsort((context.encoded.tie[scored["tgt"]], -scored["score"], src))
    ordered_src = src[order]
    rank = np.arange(len(order)) - np.searchsorted(ordered_src, ordered_src, side="left")
    return order[rank < k]


def known_kind(kind: str) -> bool:
    """Whether ``kind`` is one of the vocabulary's organisation kinds."""
    return kind in ORGANISATION_KINDS

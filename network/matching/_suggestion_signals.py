"""Vectorised encoding, candidate generation and scoring behind :mod:`.suggestions`.

Private: the public entry point is :func:`network.matching.suggestions.suggest`. Everything here
works on integer indices ``0..n-1`` of the organisations and numpy arrays; nothing builds a
Python object per candidate pair.
"""

from __future__ import annotations

__all__: list[str] = []

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from network.vocabulary import PLACEMENT_TAGS, TAGS

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


def sort_ids(ids: list[Any]) -> list[Any]:
    """Ids in a deterministic order: natural order if comparable, else by type name and repr."""
    try:
        return sorted(ids)
    except TypeError:
        return sorted(ids, key=lambda x: (type(x).__name__, repr(x)))


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


def _bits(words: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 of a 1-D array."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    return popcount(words[:, None])  # pragma: no cover - numpy < 2.0


# --------------------------------------------------------------------------------------------
# Encoding


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
    adjacency: sp.csr_matrix  # symmetric 0/1, no diagonal, sorted indices
    degree: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)


def _reader(org: Any) -> Any:
    """A ``get(name, default)`` for a plain dict, a mapping or an object with attributes."""
    if type(org) is dict:
        return org.get
    if isinstance(org, Mapping):
        return org.get
    return lambda name, default=None: getattr(org, name, default)


def _columns(organisations: list[Any]) -> tuple[list[Any], ...] | None:
    """The fields as columns, fast, if every organisation has them; else ``None``."""
    try:
        if all(type(o) is dict for o in organisations):
            ids = [o["id"] for o in organisations]
            lats = [float(o["lat"]) for o in organisations]
            lons = [float(o["lon"]) for o in organisations]
            rest = [
                (o.get("kind"), o.get("ags"), o.get("offers"), o.get("needs"), o.get("name"))
                for o in organisations
            ]
        else:
            ids = [o.id for o in organisations]
            lats = [float(o.lat) for o in organisations]
            lons = [float(o.lon) for o in organisations]
            rest = [
                (o.kind, o.ags, o.offers, o.needs, getattr(o, "name", None)) for o in organisations
            ]
        if len(set(ids)) != len(ids):
            return None
        coordinates = np.array([lats, lons], dtype=float).reshape(2, len(ids))
        if not (np.isfinite(coordinates).all() and (np.abs(coordinates[0]) <= 90).all()):
            return None
        kinds, ags, offers, needs, names = zip(*rest, strict=True) if rest else ((),) * 5
        offer_sets = [tag_set(v) for v in offers]
        need_sets = [tag_set(v) for v in needs]
    except (KeyError, AttributeError, TypeError, ValueError):
        return None
    return ids, lats, lons, list(kinds), list(ags), offer_sets, need_sets, list(names)


def _read_one_by_one(organisations: list[Any]) -> tuple[list[Any], ...]:
    """The columns of :func:`_columns`, checking each organisation; raises on the first fault."""
    ids: list[Any] = []
    seen: set[Any] = set()
    lats: list[float] = []
    lons: list[float] = []
    kinds: list[Any] = []
    ags: list[Any] = []
    offer_sets: list[frozenset[str]] = []
    need_sets: list[frozenset[str]] = []
    names: list[Any] = []
    for position, org in enumerate(organisations):
        get = _reader(org)
        org_id = get("id", _MISSING)
        if org_id is _MISSING:
            raise EncodingError(
                "invalid", f"organisation #{position} has no id", id=None, field="id"
            )
        try:
            duplicate = org_id in seen
        except TypeError as err:
            raise EncodingError(
                "invalid", f"id {org_id!r} is not hashable", id=repr(org_id), field="id"
            ) from err
        if duplicate:
            raise EncodingError("invalid", f"duplicate id {org_id!r}", id=org_id, field="id")
        try:
            lat = float(get("lat", None))
            lon = float(get("lon", None))
        except (TypeError, ValueError) as err:
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
            offers = tag_set(get("offers", None))
            needs = tag_set(get("needs", None))
        except TypeError as err:
            raise EncodingError(
                "invalid",
                f"offers/needs of organisation {org_id!r} must be collections of tags",
                id=org_id,
                field="offers",
            ) from err
        seen.add(org_id)
        ids.append(org_id)
        lats.append(lat)
        lons.append(lon)
        kinds.append(get("kind", None))
        ags.append(get("ags", None))
        offer_sets.append(offers)
        need_sets.append(needs)
        names.append(get("name", None))
    return ids, lats, lons, kinds, ags, offer_sets, need_sets, names


def encode(
    organisations: Iterable[Any], collaborations: Iterable[Any], config: SuggestionConfig
) -> Encoded:
    """Read, validate and encode the plain inputs (never modifying them)."""
    organisations = list(organisations)
    columns = _columns(organisations)
    if columns is None:  # something is missing or wrong: read one by one for a precise error
        columns = _read_one_by_one(organisations)
    ids, lats, lons, raw_kinds, raw_ags, offer_sets, need_sets, raw_names = columns
    index = {org_id: i for i, org_id in enumerate(ids)}
    names = [
        str(i) if m is None or m == "" else str(m) for i, m in zip(ids, raw_names, strict=True)
    ]
    kinds = ["" if k is None else str(k) for k in raw_kinds]
    ags = [None if a == "" else a for a in raw_ags]
    n = len(ids)

    # Tags as bit sets: the vocabulary first, then any other tag in sorted order.
    known = set(TAGS)
    extra = sorted({t for s in (*offer_sets, *need_sets) for t in s if t not in known}, key=str)
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
        degree=np.diff(adjacency.indptr).astype(np.int64),
    )


def _bit_array(values: list[int], words: int) -> np.ndarray:
    """Python-int bit sets as an ``(n, words)`` uint64 array."""
    out = np.zeros((len(values), words), dtype=np.uint64)
    mask = (1 << 64) - 1
    for w in range(words):
        shift = 64 * w
        out[:, w] = np.fromiter(
            ((v >> shift) & mask for v in values), dtype=np.uint64, count=len(values)
        )
    return out


def _endpoints(pair: Any) -> tuple[Any, Any]:
    if isinstance(pair, tuple) and len(pair) == 2:
        return pair
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
                "invalid_pair",
                f"collaboration {pair!r} is not a pair of ids",
                id=repr(pair),
                field="collaborations",
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
    matrix = sp.csr_matrix((data, (np.concatenate((r, c)), np.concatenate((c, r)))), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix


def _unknown(value: Any, index: dict[Hashable, int]) -> bool:
    try:
        return value not in index
    except TypeError:
        return True


# --------------------------------------------------------------------------------------------
# Shared context


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
class Context:
    """Everything the chunked scoring needs, built once per call."""

    encoded: Encoded
    config: SuggestionConfig
    prior: np.ndarray  # kind table, kinds x kinds
    type_code: np.ndarray  # per organisation: kind * 3 + training role (see pair_tables)
    pair_reach: np.ndarray  # flat type x type tables, indexed type_a * types + type_b
    pair_prior: np.ndarray
    pair_alliance: np.ndarray
    pair_lift: np.ndarray
    pair_kind_signal: np.ndarray  # log(1 + lift)
    propagation: sp.csr_matrix  # diag(weights) @ A
    spatial_keys: np.ndarray  # sorted keys of the kd-tree candidates of all sources
    x: np.ndarray  # contiguous coordinates in km (xyz columns), for fast gathers
    y: np.ndarray
    z: np.ndarray
    packed_needs: np.ndarray | None  # needs | implied << 32, if at most 32 tags
    packed_offers: np.ndarray | None  # offers | offers << 32
    reference_km: float  # the largest reach: geography is zero there
    rejected_keys: np.ndarray  # sorted i * n + j, both directions
    feedback_keys: np.ndarray  # sorted, both directions
    feedback_values: np.ndarray


def build_context(
    encoded: Encoded,
    config: SuggestionConfig,
    sources: np.ndarray,
    rejected: np.ndarray,
    feedback_keys: np.ndarray,
    feedback_values: np.ndarray,
) -> Context:
    """Kind statistics, weighted adjacency and kd-tree probes shared by all chunks."""
    n = encoded.n
    propagation = (sp.diags(structure_weights(encoded, config)) @ encoded.adjacency).tocsr()
    kinds = encoded.kind_list
    prior = np.array([[config.compatibility(a, b) for b in kinds] for a in kinds], dtype=float)
    prior = prior.reshape(len(kinds), len(kinds))

    # Kind mixing of the observed graph: links between two kinds against the number expected
    # if every pair of organisations were linked with the same probability.
    count = np.bincount(encoded.kind_code, minlength=len(kinds)).astype(float)
    coo = encoded.adjacency.tocoo()
    observed = np.zeros((len(kinds), len(kinds)))
    np.add.at(observed, (encoded.kind_code[coo.row], encoded.kind_code[coo.col]), 1.0)
    pairs = np.outer(count, count) - np.diag(count)
    density = coo.nnz / (n * (n - 1)) if n > 1 else 0.0
    expected = pairs * density

    largest = config.largest_reach_km()
    bound = chord_km(largest) * (1 + 1e-9) + 1e-9
    is_source = np.zeros(n, dtype=bool)
    is_source[sources] = True
    found: list[np.ndarray] = []

    def probe(members_mask: np.ndarray, sources_mask: np.ndarray, k: int) -> None:
        """The ``k`` nearest members of every source in ``sources_mask`` (kd-tree)."""
        members = np.flatnonzero(members_mask)
        query = np.flatnonzero(sources_mask & is_source)
        k = min(k, len(members))
        if k <= 0 or len(query) == 0:
            return
        tree = cKDTree(encoded.xyz[members])
        _dist, nearest = tree.query(encoded.xyz[query], k=k, distance_upper_bound=bound)
        nearest = nearest.reshape(len(query), k)
        ok = nearest < len(members)
        found.append(np.repeat(query, k).reshape(len(query), k)[ok] * n + members[nearest[ok]])

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
        # Per rare kind: the nearest organisations of every rare kind that fits the source's
        # kind. Frequent kinds are among the nearest organisations of any kind anyway.
        for target_kind in np.flatnonzero(count <= config.rare_kind_share * n).tolist():
            fitting = prior[:, target_kind] >= config.kind_candidate_threshold
            probe(
                encoded.kind_code == target_kind,
                fitting[encoded.kind_code],
                config.candidates_per_kind,
            )
        # And the nearest organisations of any kind.
        everyone = np.ones(n, dtype=bool)
        probe(everyone, everyone, config.candidates_nearest)
    type_code, tables = _pair_tables(encoded, config, prior, observed, expected)
    packed_needs = packed_offers = None
    if len(encoded.tags) <= 32:
        shift = np.uint64(32)
        packed_needs = encoded.needs[:, 0] | (encoded.gaps[:, 0] << shift)
        packed_offers = encoded.offers[:, 0] | (encoded.offers[:, 0] << shift)
    context = Context(
        x=np.ascontiguousarray(encoded.xyz[:, 0]),
        y=np.ascontiguousarray(encoded.xyz[:, 1]),
        z=np.ascontiguousarray(encoded.xyz[:, 2]),
        packed_needs=packed_needs,
        packed_offers=packed_offers,
        encoded=encoded,
        config=config,
        prior=prior,
        type_code=type_code,
        pair_reach=tables["reach"],
        pair_prior=tables["prior"],
        pair_alliance=tables["alliance"],
        pair_lift=tables["lift"],
        pair_kind_signal=tables["kind_signal"],
        propagation=propagation,
        spatial_keys=_sorted_unique(np.concatenate(found)) if found else np.zeros(0, np.int64),
        reference_km=largest,
        rejected_keys=rejected,
        feedback_keys=feedback_keys,
        feedback_values=feedback_values,
    )
    if config.calibrate:
        weights = calibrated_weights(context)
        if weights is not None:
            context = replace(context, config=replace(config, calibrate=False, **weights))
    return context


def _pair_tables(
    encoded: Encoded,
    config: SuggestionConfig,
    prior: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Everything that depends only on the two kinds and training roles, as flat tables.

    An organisation's *type* is ``kind * 3 + role``, role 1 for a school kind, 2 for another
    organisation offering nursing training places, 0 otherwise. Per pair of types: the reach
    (larger of the two), the table compatibility (raised to the training-alliance value for a
    school and a training provider), whether that rule applied, and the kind lift
    ``(E + a·T) / (X_e + a)``. Scoring then needs one lookup per table and pair.
    """
    kinds = len(encoded.kind_list)
    role = np.where(encoded.school, 1, np.where(encoded.trainer, 2, 0))
    type_code = encoded.kind_code * 3 + role
    type_kind = np.repeat(np.arange(kinds), 3)
    type_role = np.tile(np.arange(3), kinds)
    kind_reach = np.array([config.reach_of(k) for k in encoded.kind_list], dtype=float)
    ka, kb = np.meshgrid(type_kind, type_kind, indexing="ij")
    ra, rb = np.meshgrid(type_role, type_role, indexing="ij")
    table_prior = prior[ka, kb] if kinds else np.zeros((0, 0))
    alliance = ((ra == 1) & (rb == 2)) | ((ra == 2) & (rb == 1))
    alliance &= config.training_alliance_compatibility > table_prior
    pair_prior = np.where(alliance, config.training_alliance_compatibility, table_prior)
    alpha = config.kind_prior_strength
    lift = (observed[ka, kb] + alpha * pair_prior) / (expected[ka, kb] + alpha)
    reach = np.maximum(kind_reach[ka], kind_reach[kb])
    return type_code, {
        "reach": reach.ravel(),
        "prior": pair_prior.ravel(),
        "alliance": alliance.ravel(),
        "lift": lift.ravel(),
        "kind_signal": np.log1p(lift).ravel(),
    }


#: The weights calibration learns, in the order of :meth:`_Signals.stacked`.
CALIBRATED = ("complementarity_weight", "structure_weight", "geography_weight", "kind_weight")


@dataclass(frozen=True, slots=True)
class _Signals:
    """Unweighted signals of pairs, the single definition scoring and calibration share."""

    complementarity: np.ndarray  # log(1 + needs met, implied ones counted at their share)
    structure: np.ndarray  # log(1 + v / structure_scale)
    geography: np.ndarray  # log((R + s) / (d + s))
    kind: np.ndarray  # log(1 + kind lift)
    distance: np.ndarray  # km
    within_reach: np.ndarray
    pair_type: np.ndarray  # index into the flat pair tables

    def stacked(self) -> np.ndarray:
        """The four calibrated signals as columns, in the order of ``CALIBRATED``."""
        columns = (self.complementarity, self.structure, self.geography, self.kind)
        return np.column_stack(columns).reshape(len(self.distance), len(CALIBRATED))


def _signals(context: Context, src: np.ndarray, tgt: np.ndarray, structure: np.ndarray) -> _Signals:
    """The signals of the pairs ``(src, tgt)``; ``structure`` is their raw 2-hop value."""
    e = context.encoded
    cfg = context.config
    # Great-circle distance from the chord between the points on the sphere.
    x, y, z = context.x, context.y, context.z
    dx, dy, dz = x[src] - x[tgt], y[src] - y[tgt], z[src] - z[tgt]
    chord = np.sqrt(dx * dx + dy * dy + dz * dz)
    distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / (2 * EARTH_RADIUS_KM)))
    pair_type = context.type_code[src] * (3 * len(e.kind_list)) + context.type_code[tgt]
    soft = cfg.distance_softening_km
    return _Signals(
        complementarity=np.log1p(_matches(context, src, tgt)),
        structure=np.log1p(structure / cfg.structure_scale),
        geography=np.log((context.reference_km + soft) / (distance + soft)),
        kind=context.pair_kind_signal[pair_type],
        distance=distance,
        within_reach=distance <= context.pair_reach[pair_type],
        pair_type=pair_type,
    )


def calibrated_weights(context: Context) -> dict[str, float] | None:
    """Learn the four component weights from the network itself; ``None`` if it is too small.

    Self-supervised logistic regression: a seeded sample of ``calibration_sources``
    organisations, their existing partners as positives and ``calibration_negatives``
    uniformly drawn organisations each as (mostly) negatives, both restricted to pairs within
    reach. The weights maximise the penalised log-likelihood of
    ``P(link) = sigmoid(b + sum w_x · signal_x)`` with the configured weights as the prior
    mean (``calibration_prior_strength · sum (w - w_config)^2``), bounded to
    ``[0, calibration_max_weight]``: a signal may turn out useless in a network, never
    harmful. Since the score is the same log-linear sum, the learned weights are the
    log-odds each signal is worth there. The sample, and so the result, does not depend on
    which sources a call refreshes.
    """
    e = context.encoded
    cfg = context.config
    n = e.n
    if n < 3 or e.adjacency.nnz // 2 < cfg.calibration_min_links:
        return None
    # Draw ranks in id order, not positions, so that the input order does not matter.
    by_id = np.argsort(e.tie)
    rng = np.random.default_rng(cfg.calibration_seed)
    ranked = by_id[np.sort(rng.choice(n, size=min(n, cfg.calibration_sources), replace=False))]
    drawn = by_id[rng.integers(n, size=len(ranked) * cfg.calibration_negatives)]
    negative = np.repeat(ranked.astype(np.int64), cfg.calibration_negatives) * n + drawn
    sample64 = np.sort(ranked).astype(np.int64)
    rows = e.adjacency[sample64]
    positive = np.repeat(sample64, np.diff(rows.indptr)) * n + rows.indices.astype(np.int64)
    keys = _sorted_unique(np.concatenate((positive, negative)))
    src, tgt = np.divmod(keys, n)
    keys, src, tgt = keys[src != tgt], src[src != tgt], tgt[src != tgt]
    label = _mark(keys, positive)
    two_hop = rows @ context.propagation
    two_hop.sort_indices()
    hop_keys = np.repeat(sample64, np.diff(two_hop.indptr)) * n + two_hop.indices.astype(np.int64)
    structure = np.zeros(len(keys))
    if len(hop_keys):
        pos = np.minimum(np.searchsorted(hop_keys, keys), len(hop_keys) - 1)
        found = hop_keys[pos] == keys
        structure[found] = two_hop.data[pos[found]]
    signals = _signals(context, src, tgt, structure)
    # Rows in id order: the optimiser then sees the same problem whatever the input order.
    order = np.lexsort((e.tie[tgt], e.tie[src]))
    order = order[signals.within_reach[order]]
    features, label = signals.stacked()[order], label[order].astype(float)
    if label.sum() < cfg.calibration_min_links / 10 or label.sum() == len(label):
        return None
    prior = np.array([getattr(cfg, name) for name in CALIBRATED], dtype=float)
    design = np.column_stack((features, np.ones(len(features))))
    weights = _fit_logistic(
        design, label, prior, cfg.calibration_prior_strength, cfg.calibration_max_weight
    )
    if weights is None:
        return None
    return {name: round(float(w), 4) for name, w in zip(CALIBRATED, weights, strict=False)}


def _fit_logistic(
    design: np.ndarray, label: np.ndarray, prior: np.ndarray, strength: float, upper: float
) -> np.ndarray | None:
    """Penalised logistic regression by projected Newton steps; the last column is free.

    Minimises ``sum log(1 + e^z) - y z + strength · |w - prior|^2`` over the weights
    ``w`` in ``[0, upper]`` (an intercept, last, unbounded), ``z = design · (w, b)``. With
    five parameters each step solves a 5x5 system; a weight at a bound whose gradient
    points outwards stays there, and a step that does not lower the loss is halved.
    """
    k = len(prior)

    def loss(w: np.ndarray) -> float:
        z = design @ w
        penalty = strength * float(np.sum((w[:k] - prior) ** 2))
        return float(np.sum(np.logaddexp(0.0, z) - label * z)) + penalty

    w = np.r_[prior, 0.0]
    current = loss(w)
    for _ in range(100):
        z = design @ w
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        gradient = design.T @ (p - label)
        gradient[:k] += 2 * strength * (w[:k] - prior)
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design
        hessian[np.arange(k), np.arange(k)] += 2 * strength
        stuck = np.r_[
            ((w[:k] <= 0) & (gradient[:k] > 0)) | ((w[:k] >= upper) & (gradient[:k] < 0)), False
        ]
        free = ~stuck
        step = np.zeros_like(w)
        try:
            step[free] = np.linalg.solve(
                hessian[np.ix_(free, free)] + 1e-9 * np.eye(int(free.sum())), gradient[free]
            )
        except np.linalg.LinAlgError:
            return None
        scale = 1.0
        while True:
            trial = w - scale * step
            trial[:k] = np.clip(trial[:k], 0.0, upper)
            value = loss(trial)
            if value <= current or scale < 1e-6:
                break
            scale /= 2
        moved = float(np.max(np.abs(trial - w)))
        w, current = trial, value
        if moved < 1e-9:
            break
    return w if np.all(np.isfinite(w)) else None


# --------------------------------------------------------------------------------------------
# One chunk of sources


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted unique values by a plain sort (``np.unique`` hashes, slower on int64 keys)."""
    keys = np.sort(keys)
    first = np.empty(len(keys), dtype=bool)
    if len(keys):
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def _mark(sorted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Boolean mask over ``sorted_keys``: which of them are in ``wanted``."""
    mask = np.zeros(len(sorted_keys), dtype=bool)
    if len(sorted_keys) and len(wanted):
        pos = np.searchsorted(sorted_keys, wanted)
        inside = pos < len(sorted_keys)
        pos = pos[inside]
        mask[pos[sorted_keys[pos] == wanted[inside]]] = True
    return mask


def _chunk_keys(sorted_keys: np.ndarray, n: int, in_chunk: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return sorted_keys
    return sorted_keys[in_chunk[sorted_keys // n]]


def candidates(context: Context, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs of ``sources`` as sorted unique keys ``i * n + j`` and 2-hop values.

    The union of the 2-hop neighbours (whose value is the weighted count of common partners,
    their row of ``A · W · A``, 0 for the others), the kd-tree
    candidates and the feedback pairs. ``sources`` is a sorted run of the sources the context
    was built for. A pair's values depend only on the pair, never on which other sources are
    in the chunk.
    """
    encoded = context.encoded
    n = encoded.n
    two_hop = encoded.adjacency[sources] @ context.propagation
    two_hop.sort_indices()  # with sorted rows: the 2-hop keys come sorted
    hop_rows = np.repeat(sources.astype(np.int64), np.diff(two_hop.indptr))
    hop_keys = hop_rows * n + two_hop.indices.astype(np.int64)
    in_chunk = np.zeros(n, dtype=bool)
    in_chunk[sources] = True
    low, high = np.searchsorted(
        context.spatial_keys, [int(sources[0]) * n, (int(sources[-1]) + 1) * n]
    )
    others = np.concatenate(
        (context.spatial_keys[low:high], _chunk_keys(context.feedback_keys, n, in_chunk))
    )
    others = others[~_contained(others, hop_keys)]
    # Sorted keys keep each source's targets in order, which the gathers below profit from.
    keys = _sorted_unique(np.concatenate((hop_keys, others)))
    values = np.zeros(len(keys))
    values[_positions_found(keys, hop_keys)] = two_hop.data
    return keys, values, in_chunk


def _positions_found(sorted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions in ``sorted_keys`` of those ``wanted`` keys that occur there."""
    if len(sorted_keys) == 0 or len(wanted) == 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return pos[sorted_keys[pos] == wanted]


def _contained(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Boolean mask over ``keys``: which of them are in ``sorted_set``."""
    if len(sorted_set) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, keys), len(sorted_set) - 1)
    return sorted_set[pos] == keys


def _matches(context: Context, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Per pair, needs met both ways plus ``placement_gap_share`` per implied need met.

    With at most 32 tags, needs and implied needs share one 64-bit word (implied in the high
    half) and offers are doubled to match, so a pair costs four gathers instead of eight.
    """
    e = context.encoded
    share = context.config.placement_gap_share
    if context.packed_needs is not None:
        needs, offers = context.packed_needs, context.packed_offers
        x = needs[src] & offers[tgt]
        y = needs[tgt] & offers[src]
        low = np.uint64(0xFFFFFFFF)
        high = np.uint64(32)
        explicit = _bits(x & low) + _bits(y & low)
        implied = _bits(x >> high) + _bits(y >> high)
        return explicit + share * implied
    explicit = popcount(e.needs[src] & e.offers[tgt]) + popcount(e.needs[tgt] & e.offers[src])
    implied = popcount(e.gaps[src] & e.offers[tgt]) + popcount(e.gaps[tgt] & e.offers[src])
    return explicit + share * implied


def score_chunk(context: Context, sources: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Each source's ``k`` best admissible pairs with every component of their score.

    Returns arrays over the kept pairs, ordered by source, score descending, target id:
    ``src``, ``tgt``, ``score``, ``parts`` (``(P, len(SIGNALS))``), ``distance``, ``cross``,
    ``alliance``, ``prior`` and ``lift`` (kind table and kind lift), ``feedback``.
    """
    e = context.encoded
    cfg = context.config
    n = e.n
    sources = np.unique(sources)  # sorted
    keys, structure, in_chunk = candidates(context, sources)
    src, tgt = np.divmod(keys, n)

    # Forbidden: self, existing, rejected. Their keys are few per chunk: mark them by search.
    chunk_adj = e.adjacency[sources]
    existing = np.repeat(sources.astype(np.int64), np.diff(chunk_adj.indptr)) * n + (
        chunk_adj.indices.astype(np.int64)
    )
    forbidden = np.sort(
        np.concatenate(
            (
                existing,
                sources.astype(np.int64) * (n + 1),
                _chunk_keys(context.rejected_keys, n, in_chunk),
            )
        )
    )
    admissible = np.ones(len(keys), dtype=bool)
    admissible[_positions_found(keys, forbidden)] = False

    signals = _signals(context, src, tgt, structure)
    admissible &= signals.within_reach
    distance, pair_type = signals.distance, signals.pair_type
    complementarity = cfg.complementarity_weight * signals.complementarity
    structure_part = cfg.structure_weight * signals.structure
    geography = cfg.geography_weight * signals.geography
    kind = cfg.kind_weight * signals.kind
    ags_src, ags_tgt = e.ags_code[src], e.ags_code[tgt]
    cross = (ags_src != ags_tgt) & (ags_src >= 0) & (ags_tgt >= 0)
    cross_part = cfg.cross_municipal_bonus * cross
    feedback = np.zeros(len(keys))
    if len(context.feedback_keys):
        pos = np.searchsorted(context.feedback_keys, keys)
        pos = np.minimum(pos, len(context.feedback_keys) - 1)
        found = context.feedback_keys[pos] == keys
        feedback[found] = context.feedback_values[pos[found]]
    feedback_part = cfg.feedback_weight * feedback
    # The same order as SIGNALS, so that the score is exactly the sum of the parts.
    total = complementarity + structure_part + geography + cross_part + kind + feedback_part
    # Drop what no list can hold: inadmissible pairs, scores <= min_score, and scores more
    # than relative_cutoff below their source's best (the best of its list). Cutting here,
    # before the top-k ordering, spares most of the sorting.
    ranked = np.where(admissible & (total > cfg.min_score), total, -np.inf)
    if math.isfinite(cfg.relative_cutoff) and len(ranked):
        starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
        best = np.maximum.reduceat(ranked, starts)
        best = np.repeat(best, np.diff(np.r_[starts, len(src)]))
        ranked[ranked < best - cfg.relative_cutoff] = -np.inf
    chosen = _top_k(src, tgt, ranked, e.tie, k)
    parts = np.column_stack(
        (
            complementarity[chosen],
            structure_part[chosen],
            geography[chosen],
            cross_part[chosen],
            kind[chosen],
            feedback_part[chosen],
        )
    ).reshape(len(chosen), len(SIGNALS))
    chosen_type = pair_type[chosen]
    return {
        "src": src[chosen],
        "tgt": tgt[chosen],
        "score": total[chosen],
        "parts": parts,
        "distance": distance[chosen],
        "cross": cross[chosen],
        "alliance": context.pair_alliance[chosen_type],
        "prior": context.pair_prior[chosen_type],
        "lift": context.pair_lift[chosen_type],
        "feedback": feedback[chosen],
    }


def _top_k(
    src: np.ndarray, tgt: np.ndarray, total: np.ndarray, tie: np.ndarray, k: int
) -> np.ndarray:
    """Positions of each source's ``k`` best finite scores: descending, ties by target id.

    ``src`` is sorted. One ``argsort`` of the float key ``group · span - score`` orders the
    pairs by source and roughly by score (scores closer than about ``1e-10`` may swap); the
    ``k``-th score of each source found there, lowered by a margin far above that error,
    keeps a superset of the exact top ``k``, which an exact ``lexsort`` orders.
    """
    valid = np.flatnonzero(np.isfinite(total))
    if len(valid) == 0 or k == 0:
        return np.zeros(0, dtype=np.int64)
    src, tgt, total = src[valid], tgt[valid], total[valid]
    boundary = np.r_[True, src[1:] != src[:-1]]
    group = np.cumsum(boundary) - 1
    starts = np.flatnonzero(boundary)
    counts = np.diff(np.r_[starts, len(src)])
    if counts.max() > k:
        low, high = float(total.min()), float(total.max())
        span = high - low + 1.0
        rough = np.argsort(group * span + (high - total))
        position = np.arange(len(src)) - starts[group[rough]]
        kth = np.full(len(starts), -np.inf)
        at_k = position == k - 1
        kth[group[rough[at_k]]] = total[rough[at_k]]
        margin = 1e-9 * span * len(starts)
        candidates_ = np.flatnonzero(total >= kth[group] - margin)
    else:
        candidates_ = np.arange(len(src))
    order = np.lexsort((tie[tgt[candidates_]], -total[candidates_], group[candidates_]))
    picked = candidates_[order]
    picked_group = group[picked]
    first = np.searchsorted(picked_group, picked_group, side="left")
    return valid[picked[(np.arange(len(picked)) - first) < k]]

"""Stable allocation of trainees to training placements with capacities (hospital–residents)."""

from __future__ import annotations

__all__ = [
    "deferred_acceptance",
    "placement_optimal",
    "blocking_pairs",
    "match_statistics",
    "validate_instance",
]

import heapq
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence, Sized
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain
from numbers import Integral
from typing import Any, Literal, TypeVar

import numpy as np

from network.gc_pause import gc_paused
from network.matching.exceptions import (
    CapacityError,
    DuplicatePreferenceError,
    InvalidPreferencesError,
    MatchingError,
    MissingCapacityError,
    UnknownPlacementError,
    UnknownTraineeError,
)

T = TypeVar("T", bound=Hashable)
P = TypeVar("P", bound=Hashable)

_OPTIMAL = {
    "trainee": "trainee",
    "resident": "trainee",
    "placement": "placement",
    "hospital": "placement",
}


def deferred_acceptance(
    trainee_prefs: Mapping[T, Sequence[P]],
    placement_prefs: Mapping[P, Sequence[T]],
    capacities: Mapping[P, int],
    *,
    optimal: Literal["trainee", "placement"] = "trainee",
) -> dict[T, P | None]:
    """Stable allocation of trainees to placements with capacities (deferred acceptance).

    Solves the hospital–residents problem: every trainee ranks placements, every placement
    ranks trainees and offers ``capacities[p]`` seats. A trainee and a placement can only be
    matched if both ranked each other (mutual acceptability); a ranking of someone who did not
    rank back is ignored. The result is *stable*: no trainee and placement would both rather be
    together than with their current partners (see :func:`blocking_pairs`). Among all stable
    matchings it is the one every trainee likes best (``optimal="trainee"``, the
    resident-optimal matching of the NRMP) or the one every placement likes best
    (``optimal="placement"``). Both are unique, so the result does not depend on the order of
    the dicts.

    Parameters
    ----------
    trainee_prefs : mapping of trainee to sequence of placements
        Each trainee's placements, most preferred first. Every trainee is a key, also one that
        ranks nothing. Ids are any hashable (``str``, ``int``, ...).
    placement_prefs : mapping of placement to sequence of trainees
        Each placement's trainees, most preferred first. Every placement is a key.
    capacities : mapping of placement to int
        Number of seats of each placement (a non-negative integer); exactly the keys of
        ``placement_prefs``.
    optimal : {"trainee", "placement"}, optional (default="trainee")
        Which side the stable matching is best for. ``"resident"`` and ``"hospital"`` are
        accepted as synonyms.

    Returns
    -------
    dict
        Maps every trainee (in the order of ``trainee_prefs``) to its placement, or to ``None``
        if it stays unmatched.

    Raises
    ------
    MatchingError
        If ``optimal`` is not one of the values above, or the input is invalid; see
        :func:`validate_instance` for the subclasses raised.

    See Also
    --------
    placement_optimal : The placement-optimal stable matching.
    blocking_pairs : Verify a matching.
    match_statistics : Matched share, rank distribution and unfilled seats of a matching.

    Notes
    -----
    The input gets the checks of :func:`validate_instance`, but the costly ones are fused into
    the encoding: ids are mapped to integers ``0..n-1`` (an unknown id shows up as a failed
    lookup), and each ranked pair ``(t, p)`` to the key ``t * m + p`` on both sides (a repeat
    shows up as an equal key after sorting, a mutually acceptable pair as a key found on both
    sides). Only if something fails is :func:`validate_instance` run for the precise error.
    Each kept pair then carries its position in the trainee's and in the placement's list,
    so both sides compare by ``<`` on integers; the encoding takes :math:`O(L \\log L)` for
    :math:`L` list entries. Placements with zero seats accept nobody.

    Trainee-proposing (``optimal="trainee"``), after Gale & Shapley [1]_ and the applicant
    proposing algorithm of Roth & Peranson [2]_:

    1. Every trainee is free; every placement holds a min-heap of its seats, each seat filled
       with a sentinel that is worse than every real trainee.
    2. Take a free trainee ``t`` (the next in input order, or the one just displaced) and the
       next placement ``p`` on its list that it has not applied to yet; if the list is
       exhausted, ``t`` stays unmatched.
    3. If ``p`` prefers ``t`` to the worst held application (the heap top, also kept in a
       flat list for a cheap rejection test), ``t`` replaces it, and a displaced real trainee
       applies next (step 2). Otherwise ``p`` rejects ``t``; go to 2 with the same ``t``.
    4. Repeat until no trainee is free. Each trainee applies to each placement at most once,
       so there are at most :math:`L` applications at :math:`O(\\log c)` each for
       :math:`c` seats. The order of applications does not change the result.

    Placement-proposing (``optimal="placement"``):

    1. Every trainee holds no offer; every placement with free seats is active.
    2. Take any active placement ``p``; while it has fewer held offers than seats, offer a seat
       to the next trainee on its list.
    3. The trainee keeps the offer if it prefers ``p`` to the offer it holds, and releases the
       old placement, which becomes active again; otherwise it declines.
    4. Repeat until no placement is active; at most :math:`L` offers are made.

    Examples
    --------
    The example of the ``matching`` library's README:

    >>> trainee_prefs = {
    ...     "A": ["C"],
    ...     "S": ["C", "M"],
    ...     "D": ["C", "M", "G"],
    ...     "J": ["C", "G", "M"],
    ...     "L": ["M", "C", "G"],
    ... }
    >>> placement_prefs = {
    ...     "M": ["D", "L", "S", "J"],
    ...     "C": ["D", "A", "S", "L", "J"],
    ...     "G": ["D", "J", "L"],
    ... }
    >>> capacities = {"M": 2, "C": 2, "G": 2}
    >>> deferred_acceptance(trainee_prefs, placement_prefs, capacities)
    {'A': 'C', 'S': 'M', 'D': 'C', 'J': 'G', 'L': 'M'}

    Two trainees who each prefer the placement that prefers the other:

    >>> trainee_prefs = {1: ["x", "y"], 2: ["y", "x"]}
    >>> placement_prefs = {"x": [2, 1], "y": [1, 2]}
    >>> deferred_acceptance(trainee_prefs, placement_prefs, {"x": 1, "y": 1})
    {1: 'x', 2: 'y'}
    >>> deferred_acceptance(trainee_prefs, placement_prefs, {"x": 1, "y": 1}, optimal="placement")
    {1: 'y', 2: 'x'}

    References
    ----------
    .. [1] D. Gale and L. S. Shapley, "College Admissions and the Stability of Marriage",
       The American Mathematical Monthly 69(1), 9–15, 1962.
    .. [2] A. E. Roth and E. Peranson, "The Redesign of the Matching Market for American
       Physicians: Some Engineering Aspects of Economic Design", American Economic Review
       89(4), 748–780, 1999.
    """
    side = _OPTIMAL.get(optimal) if isinstance(optimal, str) else None
    if side is None:
        raise MatchingError(
            f"optimal must be 'trainee' or 'placement', not {optimal!r}",
            code="invalid_optimal",
            optimal=optimal,
        )
    _check_shapes(trainee_prefs, placement_prefs, capacities)
    with gc_paused():  # the solver makes no reference cycles; spare the collector's passes
        try:
            instance = _encode(trainee_prefs, placement_prefs, capacities)
        except _InvalidInstance as err:
            validate_instance(trainee_prefs, placement_prefs, capacities)  # the precise error
            raise MatchingError("the preference lists changed while being read") from err
        solve = _trainee_proposing if side == "trainee" else _placement_proposing
        names = [*instance.placements, None]  # index -1 (unmatched) decodes to None
        return dict(zip(instance.trainees, map(names.__getitem__, solve(instance)), strict=True))


def placement_optimal(
    trainee_prefs: Mapping[T, Sequence[P]],
    placement_prefs: Mapping[P, Sequence[T]],
    capacities: Mapping[P, int],
) -> dict[T, P | None]:
    """The placement-optimal (hospital-optimal) stable matching.

    Same as ``deferred_acceptance(..., optimal="placement")``: among all stable matchings the
    one every placement likes best and every trainee likes least.

    Parameters
    ----------
    trainee_prefs, placement_prefs, capacities
        As in :func:`deferred_acceptance`.

    Returns
    -------
    dict
        Maps every trainee to its placement or ``None``.

    Raises
    ------
    MatchingError
        If the input is invalid (see :func:`validate_instance`).

    Examples
    --------
    >>> placement_optimal({1: ["x", "y"], 2: ["y", "x"]}, {"x": [2, 1], "y": [1, 2]},
    ...                   {"x": 1, "y": 1})
    {1: 'y', 2: 'x'}
    """
    return deferred_acceptance(trainee_prefs, placement_prefs, capacities, optimal="placement")


def validate_instance(
    trainee_prefs: Mapping[T, Sequence[P]],
    placement_prefs: Mapping[P, Sequence[T]],
    capacities: Mapping[P, int],
) -> None:
    """Check an instance of the hospital–residents problem; raise on the first problem found.

    The checks, in order:

    1. The three arguments are mappings; no placement id is ``None`` (it means "unmatched").
    2. Every placement of ``placement_prefs`` has a capacity, every capacity belongs to a
       placement of ``placement_prefs``, and each capacity is a non-negative integer
       (``bool`` and ``float`` are refused).
    3. Every preference list is an ordered sequence (not a ``str``, ``set`` or ``dict``) of
       hashable ids, without repeats.
    4. Every placement ranked by a trainee is a key of ``placement_prefs``, and every trainee
       ranked by a placement is a key of ``trainee_prefs``.

    Ranking someone who does not rank back is allowed (the pair is simply not acceptable).
    Nothing is changed.

    Parameters
    ----------
    trainee_prefs, placement_prefs, capacities
        As in :func:`deferred_acceptance`.

    Raises
    ------
    InvalidPreferencesError
        A preference list or an id is unusable (step 1 and 3).
    MissingCapacityError, CapacityError
        A capacity is missing or not a non-negative integer (step 2).
    UnknownPlacementError
        A capacity or a trainee names a placement that is not a key of ``placement_prefs``.
    UnknownTraineeError
        A placement ranks a trainee that is not a key of ``trainee_prefs``.
    DuplicatePreferenceError
        An id appears twice in one list.

    All derive from :class:`~network.matching.exceptions.MatchingError` (a ``ValueError``) and
    carry the offending ids in ``err.params``.

    Examples
    --------
    >>> validate_instance({"t1": ["p1"]}, {"p1": ["t1"]}, {"p1": 1})
    >>> validate_instance({"t1": ["p1", "p9"]}, {"p1": ["t1"]}, {"p1": 1})
    Traceback (most recent call last):
    ...
    network.matching.exceptions.UnknownPlacementError: trainee 't1' ranks unknown placement 'p9'
    >>> validate_instance({"t1": ["p1"]}, {"p1": ["t1"]}, {"p1": -2})
    Traceback (most recent call last):
    ...
    network.matching.exceptions.CapacityError: capacity of placement 'p1' must be a non-negative integer, not -2
    """
    _check_shapes(trainee_prefs, placement_prefs, capacities)
    _check_lists(trainee_prefs, "trainee")
    _check_lists(placement_prefs, "placement")
    _check_known(trainee_prefs, placement_prefs, "trainee")
    _check_known(placement_prefs, trainee_prefs, "placement")


def blocking_pairs(
    trainee_prefs: Mapping[T, Sequence[P]],
    placement_prefs: Mapping[P, Sequence[T]],
    capacities: Mapping[P, int],
    matching: Mapping[T, P | None],
) -> list[tuple[T, P]]:
    """Every trainee–placement pair that would rather be together than keep ``matching``.

    A pair ``(t, p)`` blocks ``matching`` if all of these hold:

    1. ``t`` and ``p`` ranked each other (mutually acceptable);
    2. ``t`` is unmatched, or prefers ``p`` to its current placement (a current placement that
       ``t`` did not rank counts as worse than every ranked one);
    3. ``p`` has a free seat, or prefers ``t`` to the worst trainee assigned to it (an
       assigned trainee that ``p`` did not rank counts as worst).

    A matching without blocking pairs is stable.

    Parameters
    ----------
    trainee_prefs, placement_prefs, capacities
        As in :func:`deferred_acceptance`.
    matching : mapping of trainee to placement or None
        The assignment to check. A trainee missing from it counts as unmatched.

    Returns
    -------
    list of (trainee, placement)
        In the order of ``trainee_prefs``, then of each trainee's list; empty if stable.

    Raises
    ------
    MatchingError
        If the instance is invalid (see :func:`validate_instance`), or ``matching`` names a
        trainee or a placement that does not exist (``UnknownTraineeError``,
        ``UnknownPlacementError``).

    Examples
    --------
    >>> trainee_prefs = {1: ["x", "y"], 2: ["y", "x"]}
    >>> placement_prefs = {"x": [2, 1], "y": [1, 2]}
    >>> capacities = {"x": 1, "y": 1}
    >>> blocking_pairs(trainee_prefs, placement_prefs, capacities, {1: "x", 2: "y"})
    []
    >>> blocking_pairs(trainee_prefs, placement_prefs, capacities, {1: "y", 2: "x"})
    []
    >>> blocking_pairs(trainee_prefs, placement_prefs, capacities, {1: "x", 2: None})
    [(2, 'y'), (2, 'x')]
    """
    validate_instance(trainee_prefs, placement_prefs, capacities)
    _check_matching(matching, trainee_prefs, placement_prefs)
    rank = {
        p: dict(zip(prefs, range(len(prefs)), strict=True)) for p, prefs in placement_prefs.items()
    }
    load: Counter = Counter()
    worst: dict[Any, float] = {}
    for t, p in matching.items():
        if p is None:
            continue
        load[p] += 1
        r = rank[p].get(t, float("inf"))
        if r > worst.get(p, -1):
            worst[p] = r
    pairs = []
    for t, prefs in trainee_prefs.items():
        current = matching.get(t)
        for p in prefs:
            if p == current:
                break
            r = rank[p].get(t)
            if r is None:
                continue
            if load[p] < capacities[p] or r < worst.get(p, -1):
                pairs.append((t, p))
    return pairs


def match_statistics(
    trainee_prefs: Mapping[T, Sequence[P]],
    matching: Mapping[T, P | None],
    capacities: Mapping[P, int],
) -> dict[str, Any]:
    """Summary figures of a matching for the round view.

    Parameters
    ----------
    trainee_prefs : mapping of trainee to sequence of placements
        Each trainee's list, as given to :func:`deferred_acceptance`; the rank of a match is
        its 1-based position in this list.
    matching : mapping of trainee to placement or None
        The assignment, e.g. the result of :func:`deferred_acceptance`. A trainee missing from
        it counts as unmatched.
    capacities : mapping of placement to int
        Seats of each placement.

    Returns
    -------
    dict
        ``trainees``, ``matched``, ``unmatched`` (counts); ``matched_share`` (matched /
        trainees, 0.0 if there are none); ``rank_distribution`` ({rank: count} over matched
        trainees, ranks ascending, 1 = first choice); ``mean_rank`` (``None`` if nobody is
        matched); ``seats``, ``filled_seats``, ``unfilled_seats`` (seats left free, summed over
        placements); ``placements`` and ``unfilled_placements`` (placements with a free seat).

    Raises
    ------
    MatchingError
        If a trainee is matched to a placement it did not rank or that has no capacity, or a
        placement holds more trainees than seats.

    Examples
    --------
    >>> trainee_prefs = {"a": ["x", "y"], "b": ["x", "y"], "c": ["x"]}
    >>> stats = match_statistics(trainee_prefs, {"a": "x", "b": "y", "c": None}, {"x": 1, "y": 2})
    >>> stats["matched_share"], stats["rank_distribution"], stats["unfilled_seats"]
    (0.6666666666666666, {1: 1, 2: 1}, 1)
    """
    ranks: Counter = Counter()
    load: Counter = Counter()
    for t, prefs in trainee_prefs.items():
        p = matching.get(t)
        if p is None:
            continue
        if p not in capacities:
            raise UnknownPlacementError(
                f"trainee {t!r} is matched to unknown placement {p!r}",
                code="matching_unknown_placement",
                owner=t,
                id=p,
            )
        try:
            ranks[list(prefs).index(p) + 1] += 1
        except ValueError as err:
            raise MatchingError(
                f"trainee {t!r} is matched to placement {p!r}, which it did not rank",
                code="unranked_assignment",
                owner=t,
                id=p,
            ) from err
        load[p] += 1
    for p, count in load.items():
        if count > capacities[p]:
            raise CapacityError(
                f"placement {p!r} holds {count} trainees but has {capacities[p]} seats",
                code="over_capacity",
                id=p,
                count=count,
                capacity=capacities[p],
            )
    n = len(trainee_prefs)
    matched = sum(ranks.values())
    seats = sum(int(c) for c in capacities.values())
    unfilled = [int(c) - load[p] for p, c in capacities.items() if load[p] < c]
    return {
        "trainees": n,
        "matched": matched,
        "unmatched": n - matched,
        "matched_share": matched / n if n else 0.0,
        "rank_distribution": dict(sorted(ranks.items())),
        "mean_rank": sum(r * k for r, k in ranks.items()) / matched if matched else None,
        "seats": seats,
        "filled_seats": matched,
        "unfilled_seats": sum(unfilled),
        "placements": len(capacities),
        "unfilled_placements": len(unfilled),
    }


# --------------------------------------------------------------------------- validation


def _check_shapes(trainee_prefs: Mapping, placement_prefs: Mapping, capacities: Mapping) -> None:
    """The cheap checks (one step per key): containers, capacities, list types."""
    for name, value in (
        ("trainee_prefs", trainee_prefs),
        ("placement_prefs", placement_prefs),
        ("capacities", capacities),
    ):
        if not isinstance(value, Mapping):
            raise InvalidPreferencesError(
                f"{name} must be a mapping, not {type(value).__name__}",
                code="not_a_mapping",
                name=name,
                kind=type(value).__name__,
            )
    if None in placement_prefs:
        raise InvalidPreferencesError(
            "None cannot be a placement id (it means 'unmatched')", code="none_placement"
        )
    for p in placement_prefs:
        if p not in capacities:
            raise MissingCapacityError(f"placement {p!r} has no capacity", id=p)
    for p, c in capacities.items():
        if p not in placement_prefs:
            raise UnknownPlacementError(
                f"capacity given for unknown placement {p!r} (it has no preference list)",
                code="capacity_for_unknown_placement",
                id=p,
            )
        if type(c) is int and c >= 0:
            continue
        if isinstance(c, bool) or not isinstance(c, Integral) or c < 0:
            raise CapacityError(
                f"capacity of placement {p!r} must be a non-negative integer, not {c!r}",
                id=p,
                capacity=c,
            )
    for prefs, side in ((trainee_prefs, "trainee"), (placement_prefs, "placement")):
        for owner, items in prefs.items():
            kind = type(items)
            if kind is list or kind is tuple:
                continue
            if isinstance(items, str | bytes | AbstractSet | Mapping) or not (
                isinstance(items, Iterable) and isinstance(items, Sized)
            ):
                raise InvalidPreferencesError(
                    f"the preference list of {side} {owner!r} must be an ordered sequence, "
                    f"not {kind.__name__}",
                    side=side,
                    owner=owner,
                    kind=kind.__name__,
                )


def _check_lists(prefs: Mapping, side: str) -> None:
    """Every id hashable; no id twice in one list."""
    lists = prefs.values()
    try:
        sizes = sum(map(len, map(set, lists)))
    except TypeError as err:
        owner, item = _first_unhashable(prefs)
        raise InvalidPreferencesError(
            f"the preference list of {side} {owner!r} holds an unhashable id {item!r}",
            code="unhashable_id",
            side=side,
            owner=owner,
            id=item,
        ) from err
    if sizes != sum(map(len, lists)):
        for owner, items in prefs.items():
            seen = set()
            for item in items:
                if item in seen:
                    raise DuplicatePreferenceError(
                        f"{side} {owner!r} ranks {item!r} more than once",
                        side=side,
                        owner=owner,
                        id=item,
                    )
                seen.add(item)


def _first_unhashable(prefs: Mapping) -> tuple[Any, Any]:
    for owner, items in prefs.items():
        for item in items:
            try:
                hash(item)
            except TypeError:
                return owner, item
    return None, None  # pragma: no cover - only called after a TypeError


def _check_known(prefs: Mapping, others: Mapping, side: str) -> None:
    """Every id ranked on one side is a key of the other side's mapping."""
    if not set(chain.from_iterable(prefs.values())).difference(others):
        return
    other_side = "placement" if side == "trainee" else "trainee"
    error = UnknownPlacementError if side == "trainee" else UnknownTraineeError
    for owner, items in prefs.items():
        for item in items:
            if item not in others:
                raise error(
                    f"{side} {owner!r} ranks unknown {other_side} {item!r}",
                    side=side,
                    owner=owner,
                    id=item,
                )


def _check_matching(matching: Mapping, trainee_prefs: Mapping, placement_prefs: Mapping) -> None:
    if not isinstance(matching, Mapping):
        raise InvalidPreferencesError(
            f"matching must be a mapping, not {type(matching).__name__}",
            code="not_a_mapping",
            name="matching",
            kind=type(matching).__name__,
        )
    for t, p in matching.items():
        if t not in trainee_prefs:
            raise UnknownTraineeError(
                f"matching names unknown trainee {t!r}", code="matching_unknown_trainee", id=t
            )
        if p is not None and p not in placement_prefs:
            raise UnknownPlacementError(
                f"matching assigns trainee {t!r} to unknown placement {p!r}",
                code="matching_unknown_placement",
                owner=t,
                id=p,
            )


# ----------------------------------------------------------------------------- encoding


class _InvalidInstance(Exception):
    """Raised by :func:`_encode` when a lookup or a key check fails; never leaves the module."""


@dataclass(frozen=True, slots=True)
class _Instance:
    """An instance on integer ids, reduced to the mutually acceptable pairs with seats.

    Trainees are ``0..n-1`` and placements ``0..m-1`` in the order of the input dicts. Kept
    pair ``k`` joins trainee ``pair_t[k]`` and placement ``pair_p[k]``; pairs are sorted by
    trainee, then by the trainee's preference. ``pair_t_rank[k]`` and ``pair_p_rank[k]`` are
    the 0-based positions of the partner in the trainee's and in the placement's list.
    ``seats[p]`` is the capacity, capped at the number of kept pairs of ``p``.
    """

    trainees: list
    placements: list
    seats: np.ndarray
    pair_t: np.ndarray
    pair_p: np.ndarray
    pair_t_rank: np.ndarray
    pair_p_rank: np.ndarray


def _encode(trainee_prefs: Mapping, placement_prefs: Mapping, capacities: Mapping) -> _Instance:
    """Map ids to integers and find the mutually acceptable pairs, in :math:`O(L \\log L)`.

    Raises :class:`_InvalidInstance` on an unknown or unhashable id or a repeat within a list
    (the checks of :func:`validate_instance`, done here as a by-product of the encoding).
    """
    trainees = list(trainee_prefs)
    placements = list(placement_prefs)
    n, m = len(trainees), len(placements)
    t_index = dict(zip(trainees, range(n), strict=True))
    p_index = dict(zip(placements, range(m), strict=True))
    t_lists = list(trainee_prefs.values())
    p_lists = list(placement_prefs.values())
    t_len = np.fromiter(map(len, t_lists), dtype=np.int64, count=n)
    p_len = np.fromiter(map(len, p_lists), dtype=np.int64, count=m)
    t_total, p_total = int(t_len.sum()), int(p_len.sum())
    try:
        t_place = np.fromiter(
            map(p_index.__getitem__, chain.from_iterable(t_lists)), dtype=np.int64, count=t_total
        )
        p_trainee = np.fromiter(
            map(t_index.__getitem__, chain.from_iterable(p_lists)), dtype=np.int64, count=p_total
        )
    except (KeyError, TypeError, ValueError) as err:  # unknown, unhashable, list changed size
        raise _InvalidInstance from err
    t_first = np.cumsum(t_len) - t_len
    p_first = np.cumsum(p_len) - p_len
    t_owner = np.repeat(np.arange(n, dtype=np.int64), t_len)

    # The pair (t, p) has the key t * m + p on both sides. A key twice on one side is a repeat
    # in a list; a trainee-side key found among the placement-side keys is a mutual pair.
    # (In-place arithmetic: at 600,000 entries every temporary array costs page faults.)
    t_key = t_owner * m
    t_key += t_place
    p_key = p_trainee * m
    p_key += np.repeat(np.arange(m, dtype=np.int64), p_len)
    p_order = np.argsort(p_key)
    p_sorted = p_key[p_order]
    del p_key, p_trainee
    if _has_repeat(p_sorted) or _has_repeat(np.sort(t_key)):
        raise _InvalidInstance
    caps = np.fromiter((min(capacities[p], t_total) for p in placements), dtype=np.int64, count=m)
    if p_total:
        where = np.searchsorted(p_sorted, t_key)
        np.minimum(where, p_total - 1, out=where)
        mutual = p_sorted[where] == t_key
        mutual &= caps[t_place] > 0
        keep = np.flatnonzero(mutual)
    else:
        where = keep = np.zeros(0, dtype=np.int64)
    pair_t = t_owner[keep]
    pair_p = t_place[keep]
    pair_p_rank = p_order[where[keep]]
    pair_p_rank -= p_first[pair_p]
    pair_t_rank = keep - t_first[pair_t]
    return _Instance(
        trainees=trainees,
        placements=placements,
        seats=np.minimum(caps, np.bincount(pair_p, minlength=m)),
        pair_t=pair_t,
        pair_p=pair_p,
        pair_t_rank=pair_t_rank,
        pair_p_rank=pair_p_rank,
    )


def _has_repeat(sorted_keys: np.ndarray) -> bool:
    return bool(sorted_keys.size > 1 and (sorted_keys[1:] == sorted_keys[:-1]).any())


# ---------------------------------------------------------------------------- algorithms


def _trainee_proposing(inst: _Instance) -> list[int]:
    """Trainee-optimal stable assignment: placement index per trainee, -1 if unmatched."""
    n = len(inst.trainees)
    # A held application is stored as -(rank at the placement * n + trainee): the min-heap
    # top is the worst held trainee, and the trainee is the remainder modulo n. The loop
    # reads the pair arrays through memoryviews: no list of 600,000 int objects to build.
    codes = inst.pair_p_rank * n
    codes += inst.pair_t
    np.negative(codes, out=codes)
    neg_codes = memoryview(codes)
    places = memoryview(np.ascontiguousarray(inst.pair_p))
    end_of = np.cumsum(np.bincount(inst.pair_t, minlength=n)).tolist()
    next_of = [0, *end_of[:-1]]  # next pair each trainee applies with
    seats = inst.seats.tolist()
    sentinel = -(int(inst.pair_p_rank.max(initial=0)) + 1) * n - 1  # worse than everyone
    heaps = [[sentinel] * s for s in seats]
    worst = [sentinel if s else 0 for s in seats]  # heap tops; 0 beats no code: no seat
    replace = heapq.heapreplace
    for start in range(n):
        t = start
        while t >= 0:  # t applies; a trainee it displaces applies next
            k, end, displaced = next_of[t], end_of[t], -1
            while k < end:
                p = places[k]
                code = neg_codes[k]
                k += 1
                if code > worst[p]:  # p prefers t to its worst held application
                    heap = heaps[p]
                    out = replace(heap, code)
                    worst[p] = heap[0]
                    if out != sentinel:
                        displaced = -out % n
                    break
            next_of[t] = k
            t = displaced
    assigned = [-1] * n
    for p, heap in enumerate(heaps):
        for code in heap:
            if code != sentinel:
                assigned[-code % n] = p
    return assigned


def _placement_proposing(inst: _Instance) -> list[int]:
    """Placement-optimal stable assignment: placement index per trainee, -1 if unmatched."""
    n, m = len(inst.trainees), len(inst.placements)
    # Each placement's acceptable trainees, best first.
    order = np.lexsort((inst.pair_p_rank, inst.pair_p))
    offer_trainee = inst.pair_t[order].tolist()
    offer_rank = inst.pair_t_rank[order].tolist()  # where the trainee ranks the placement
    end_of = np.cumsum(np.bincount(inst.pair_p, minlength=m)).tolist()
    next_of = [0, *end_of[:-1]]
    seats = inst.seats.tolist()
    held = [0] * m
    best = [int(inst.pair_t_rank.max(initial=-1)) + 1] * n  # held offer's rank; none: past all
    holder = [-1] * n
    active = [p for p in range(m - 1, -1, -1) if seats[p]]
    pop, push = active.pop, active.append
    while active:
        p = pop()
        k, end, h, s = next_of[p], end_of[p], held[p], seats[p]
        while h < s and k < end:
            t = offer_trainee[k]
            r = offer_rank[k]
            k += 1
            if r < best[t]:  # t prefers p to the offer it holds
                old = holder[t]
                if old >= 0:
                    held[old] -= 1
                    push(old)
                best[t] = r
                holder[t] = p
                h += 1
        next_of[p] = k
        held[p] = h
    return holder

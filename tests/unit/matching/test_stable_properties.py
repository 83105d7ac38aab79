"""Hypothesis properties of ``deferred_acceptance``, checked against the ``matching`` library."""

from __future__ import annotations

import copy
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.matching.exceptions import (
    DuplicatePreferenceError,
    UnknownPlacementError,
    UnknownTraineeError,
)
from network.matching.stable import (
    blocking_pairs,
    deferred_acceptance,
    match_statistics,
    validate_instance,
)

HospitalResident = pytest.importorskip("matching.games").HospitalResident

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIDES = ("trainee", "placement")


@st.composite
def instances(draw, max_trainees=10, max_placements=6):
    """Random instances with one-sided rankings, empty lists and zero capacities.

    Ids mix ``str`` and ``int``. Lists are random orders cut short by a random number of
    entries, so they shrink towards complete lists, where the trainee- and placement-optimal
    matchings differ most often. In half of the instances each placement ranks the trainees
    who applied to it (minus a few), in the other half any trainees.
    """
    n = draw(st.integers(0, max_trainees))
    m = draw(st.integers(0, max_placements))
    trainees = [f"t{i}" if i % 2 else i for i in range(n)]
    placements = [f"p{j}" for j in range(m)]

    def ordered_subset(items):
        order = draw(st.permutations(items))
        return order[: len(order) - draw(st.integers(0, len(order)))]

    trainee_prefs = {t: ordered_subset(placements) for t in trainees}
    applicants_only = draw(st.booleans())
    placement_prefs = {}
    for p in placements:
        if applicants_only:
            placement_prefs[p] = ordered_subset([t for t in trainees if p in trainee_prefs[t]])
        else:
            placement_prefs[p] = ordered_subset(trainees)
    capacities = {p: draw(st.integers(0, 3)) for p in placements}
    return trainee_prefs, placement_prefs, capacities


@st.composite
def complete_instances(draw, max_side=6):
    """Everyone ranks everyone on the other side, mostly one seat each: the hard case.

    Here the trainee- and placement-optimal matchings often differ.
    """
    n = draw(st.integers(2, max_side))
    m = draw(st.integers(2, max_side))
    trainees = list(range(n))
    placements = [f"p{j}" for j in range(m)]
    trainee_prefs = {t: draw(st.permutations(placements)) for t in trainees}
    placement_prefs = {p: draw(st.permutations(trainees)) for p in placements}
    capacities = {p: draw(st.sampled_from([1, 1, 1, 2])) for p in placements}
    return trainee_prefs, placement_prefs, capacities


ANY_INSTANCE = st.one_of(instances(), complete_instances())


def _library_matching(trainee_prefs, placement_prefs, capacities, optimal):
    """The ``matching`` library's answer by name, on inputs cleaned to what it expects.

    The library wants mutual lists, non-empty lists and positive capacities; players without
    any acceptable partner cannot be matched, so dropping them changes nothing.
    """
    residents = {
        t: [p for p in prefs if capacities[p] > 0 and t in placement_prefs[p]]
        for t, prefs in trainee_prefs.items()
    }
    residents = {t: prefs for t, prefs in residents.items() if prefs}
    hospitals = {
        p: [t for t in prefs if t in residents and p in residents[t]]
        for p, prefs in placement_prefs.items()
    }
    hospitals = {p: prefs for p, prefs in hospitals.items() if prefs}
    if not residents:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(
            residents, hospitals, {p: capacities[p] for p in hospitals}
        )
        solved = game.solve(optimal="resident" if optimal == "trainee" else "hospital")
    return {r.name: h.name for h, matched in solved.items() for r in matched}


def _pairs(matching):
    return {t: p for t, p in matching.items() if p is not None}


@SETTINGS
@given(ANY_INSTANCE, st.sampled_from(SIDES))
def test_no_blocking_pair(instance, optimal):
    matching = deferred_acceptance(*instance, optimal=optimal)
    assert blocking_pairs(*instance, matching) == []


@SETTINGS
@given(instances(), st.sampled_from(SIDES))
def test_feasible_and_complete(instance, optimal):
    trainee_prefs, placement_prefs, capacities = instance
    matching = deferred_acceptance(*instance, optimal=optimal)
    assert list(matching) == list(trainee_prefs)
    load = {}
    for t, p in matching.items():
        if p is None:
            continue
        assert p in trainee_prefs[t] and t in placement_prefs[p]  # mutually acceptable
        load[p] = load.get(p, 0) + 1
    assert all(count <= capacities[p] for p, count in load.items())
    stats = match_statistics(trainee_prefs, matching, capacities)
    assert stats["matched"] == sum(load.values())
    assert stats["unfilled_seats"] == sum(capacities.values()) - stats["matched"]


@SETTINGS
@given(ANY_INSTANCE, st.sampled_from(SIDES))
def test_equals_the_matching_library(instance, optimal):
    ours = _pairs(deferred_acceptance(*instance, optimal=optimal))
    assert ours == _library_matching(*instance, optimal)


@SETTINGS
@given(ANY_INSTANCE)
def test_trainee_optimal_is_best_for_every_trainee(instance):
    trainee_prefs, placement_prefs, capacities = instance
    best = deferred_acceptance(*instance)
    worst = deferred_acceptance(*instance, optimal="placement")

    def rank(t, p):
        return len(trainee_prefs[t]) if p is None else trainee_prefs[t].index(p)

    assert all(rank(t, best[t]) <= rank(t, worst[t]) for t in trainee_prefs)
    # Rural hospitals theorem: the same trainees are matched and each placement fills the
    # same number of seats in every stable matching.
    assert {t for t, p in best.items() if p is None} == {t for t, p in worst.items() if p is None}
    filled = [sorted(map(str, (p for p in m.values() if p is not None))) for m in (best, worst)]
    assert filled[0] == filled[1]


@SETTINGS
@given(instances(), st.sampled_from(SIDES), st.randoms(use_true_random=False))
def test_inputs_untouched_and_order_irrelevant(instance, optimal, rnd):
    before = copy.deepcopy(instance)
    expected = deferred_acceptance(*instance, optimal=optimal)
    assert instance == before
    trainee_prefs, placement_prefs, capacities = instance
    shuffled = []
    for mapping in (trainee_prefs, placement_prefs, capacities):
        items = list(mapping.items())
        rnd.shuffle(items)
        shuffled.append(dict(items))
    again = deferred_acceptance(*shuffled, optimal=optimal)
    assert again == expected


@SETTINGS
@given(instances(max_trainees=6, max_placements=4), st.data())
def test_injected_errors_are_reported_by_validator_and_solver(instance, data):
    trainee_prefs, placement_prefs, capacities = copy.deepcopy(instance)
    kinds = []
    if trainee_prefs:
        kinds += ["unknown_placement", "duplicate_trainee_list"]
    if placement_prefs:
        kinds.append("unknown_trainee")
    if placement_prefs and trainee_prefs and any(placement_prefs.values()):
        kinds.append("duplicate_placement_list")
    if not kinds:
        return
    kind = data.draw(st.sampled_from(kinds))
    if kind == "unknown_placement":
        t = data.draw(st.sampled_from(sorted(trainee_prefs, key=str)))
        trainee_prefs[t] = [*trainee_prefs[t], "nowhere"]
        error = UnknownPlacementError
    elif kind == "unknown_trainee":
        p = data.draw(st.sampled_from(sorted(placement_prefs)))
        placement_prefs[p] = ["ghost", *placement_prefs[p]]
        error = UnknownTraineeError
    elif kind == "duplicate_trainee_list":
        t = data.draw(st.sampled_from(sorted(trainee_prefs, key=str)))
        if not trainee_prefs[t]:
            if not placement_prefs:
                return
            trainee_prefs[t] = [next(iter(placement_prefs))]
        trainee_prefs[t] = [*trainee_prefs[t], trainee_prefs[t][0]]
        error = DuplicatePreferenceError
    else:
        p = data.draw(st.sampled_from(sorted(p for p, prefs in placement_prefs.items() if prefs)))
        placement_prefs[p] = [*placement_prefs[p], placement_prefs[p][0]]
        error = DuplicatePreferenceError
    with pytest.raises(error) as by_validator:
        validate_instance(trainee_prefs, placement_prefs, capacities)
    for optimal in SIDES:
        with pytest.raises(error) as by_solver:
            deferred_acceptance(trainee_prefs, placement_prefs, capacities, optimal=optimal)
        assert str(by_solver.value) == str(by_validator.value)

"""Hand-made examples, validation, purity and determinism of ``network.matching.stable``."""

from __future__ import annotations

import ast
import copy
import random
import sys
from pathlib import Path

import pytest

import network.matching.exceptions as exceptions_module
import network.matching.stable as stable_module
from network.matching.exceptions import (
    CapacityError,
    DuplicatePreferenceError,
    InvalidPreferencesError,
    MatchingError,
    MissingCapacityError,
    UnknownPlacementError,
    UnknownTraineeError,
)
from network.matching.stable import (
    blocking_pairs,
    deferred_acceptance,
    match_statistics,
    placement_optimal,
    validate_instance,
)

# The example of the `matching` library's README (daffidwilde/matching).
README_TRAINEES = {
    "A": ["C"],
    "S": ["C", "M"],
    "D": ["C", "M", "G"],
    "J": ["C", "G", "M"],
    "L": ["M", "C", "G"],
}
README_PLACEMENTS = {
    "M": ["D", "L", "S", "J"],
    "C": ["D", "A", "S", "L", "J"],
    "G": ["D", "J", "L"],
}
README_CAPACITIES = {"M": 2, "C": 2, "G": 2}

# Gale & Shapley (1962), the 3x3 example with three stable matchings: every man gets his first
# choice, every woman gets her first choice, or everyone gets their second choice. With one
# seat per placement it is a hospital–residents instance.
GS_TRAINEES = {"alpha": ["A", "B", "C"], "beta": ["B", "C", "A"], "gamma": ["C", "A", "B"]}
GS_PLACEMENTS = {
    "A": ["beta", "gamma", "alpha"],
    "B": ["gamma", "alpha", "beta"],
    "C": ["alpha", "beta", "gamma"],
}
GS_CAPACITIES = {"A": 1, "B": 1, "C": 1}

# Capacities above one: the big placement h1 prefers r3 and r4, who prefer the small ones.
CAP_TRAINEES = {"r1": ["h1", "h2"], "r2": ["h1", "h3"], "r3": ["h2", "h1"], "r4": ["h3", "h1"]}
CAP_PLACEMENTS = {"h1": ["r3", "r4", "r1", "r2"], "h2": ["r1", "r3"], "h3": ["r2", "r4"]}
CAP_CAPACITIES = {"h1": 2, "h2": 1, "h3": 1}


class TestDeferredAcceptance:
    def test_readme_example(self):
        expected = {"A": "C", "S": "M", "D": "C", "J": "G", "L": "M"}
        args = (README_TRAINEES, README_PLACEMENTS, README_CAPACITIES)
        assert deferred_acceptance(*args) == expected
        assert deferred_acceptance(*args, optimal="placement") == expected

    def test_gale_shapley_trainee_optimal(self):
        result = deferred_acceptance(GS_TRAINEES, GS_PLACEMENTS, GS_CAPACITIES)
        assert result == {"alpha": "A", "beta": "B", "gamma": "C"}

    def test_gale_shapley_placement_optimal(self):
        result = deferred_acceptance(GS_TRAINEES, GS_PLACEMENTS, GS_CAPACITIES, optimal="placement")
        assert result == {"alpha": "C", "beta": "A", "gamma": "B"}

    def test_gale_shapley_middle_matching_is_stable_too(self):
        middle = {"alpha": "B", "beta": "C", "gamma": "A"}
        assert blocking_pairs(GS_TRAINEES, GS_PLACEMENTS, GS_CAPACITIES, middle) == []

    def test_capacities_trainee_optimal(self):
        result = deferred_acceptance(CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES)
        assert result == {"r1": "h1", "r2": "h1", "r3": "h2", "r4": "h3"}

    def test_capacities_placement_optimal(self):
        result = placement_optimal(CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES)
        assert result == {"r1": "h2", "r2": "h3", "r3": "h1", "r4": "h1"}

    def test_library_issue_67_example(self):
        groups = {
            "Group 1": ["Intellectual property", "Privacy"],
            "Group 2": ["Privacy", "Fairness in AI"],
            "Group 3": ["Privacy", "Social media"],
        }
        topics = {
            "Fairness in AI": ["Group 2"],
            "Intellectual property": ["Group 1"],
            "Privacy": ["Group 3", "Group 2", "Group 1"],
            "Social media": ["Group 3"],
        }
        result = deferred_acceptance(groups, topics, dict.fromkeys(topics, 2))
        assert result == {
            "Group 1": "Intellectual property",
            "Group 2": "Privacy",
            "Group 3": "Privacy",
        }

    def test_trainee_who_loses_every_option_stays_unmatched(self):
        result = deferred_acceptance(
            {"A": ["X"], "B": ["X", "Y"]}, {"X": ["B", "A"], "Y": ["B"]}, {"X": 1, "Y": 1}
        )
        assert result == {"A": None, "B": "X"}

    def test_one_sided_rankings_are_ignored(self):
        # t1 ranks p1 first, but p1 does not rank t1; p2 ranks t3, who does not rank p2.
        trainee_prefs = {"t1": ["p1", "p2"], "t2": ["p1"], "t3": ["p1"]}
        placement_prefs = {"p1": ["t2", "t3"], "p2": ["t3", "t1"]}
        result = deferred_acceptance(trainee_prefs, placement_prefs, {"p1": 1, "p2": 1})
        assert result == {"t1": "p2", "t2": "p1", "t3": None}

    def test_zero_capacity_takes_nobody(self):
        result = deferred_acceptance({"t": ["p", "q"]}, {"p": ["t"], "q": ["t"]}, {"p": 0, "q": 1})
        assert result == {"t": "q"}

    def test_capacity_larger_than_applicants(self):
        result = deferred_acceptance(
            {1: ["p"], 2: ["p"]}, {"p": [2, 1]}, {"p": 10**30}, optimal="placement"
        )
        assert result == {1: "p", 2: "p"}

    def test_every_trainee_is_a_key_in_input_order(self):
        trainee_prefs = {"z": [], "a": ["p"], "m": ["p"]}
        result = deferred_acceptance(trainee_prefs, {"p": ["m", "a"]}, {"p": 1})
        assert list(result) == ["z", "a", "m"]
        assert result == {"z": None, "a": None, "m": "p"}

    @pytest.mark.parametrize("optimal", ["trainee", "placement"])
    def test_empty_instances(self, optimal):
        assert deferred_acceptance({}, {}, {}, optimal=optimal) == {}
        assert deferred_acceptance({"t": []}, {}, {}, optimal=optimal) == {"t": None}
        assert deferred_acceptance({}, {"p": []}, {"p": 3}, optimal=optimal) == {}

    def test_integer_and_tuple_ids_and_tuple_lists(self):
        trainee_prefs = {1: (("x", 1), 7), 2: (7,)}
        placement_prefs = {("x", 1): (1,), 7: (2, 1)}
        result = deferred_acceptance(trainee_prefs, placement_prefs, {("x", 1): 1, 7: 1})
        assert result == {1: ("x", 1), 2: 7}

    def test_trainee_and_placement_ids_may_overlap(self):
        result = deferred_acceptance({0: [0, 1], 1: [0]}, {0: [1, 0], 1: [0]}, {0: 1, 1: 1})
        assert result == {0: 1, 1: 0}

    @pytest.mark.parametrize("alias, side", [("resident", "trainee"), ("hospital", "placement")])
    def test_library_names_for_the_sides(self, alias, side):
        args = (CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES)
        assert deferred_acceptance(*args, optimal=alias) == deferred_acceptance(*args, optimal=side)

    @pytest.mark.parametrize("optimal", ["best", "", None, 1])
    def test_unknown_optimal_raises(self, optimal):
        with pytest.raises(MatchingError, match="optimal"):
            deferred_acceptance(CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES, optimal=optimal)

    @pytest.mark.parametrize("optimal", ["trainee", "placement"])
    def test_inputs_are_not_mutated(self, optimal):
        args = (CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES)
        before = copy.deepcopy(args)
        deferred_acceptance(*args, optimal=optimal)
        blocking_pairs(*args, {"r1": "h1"})
        match_statistics(CAP_TRAINEES, {"r1": "h1"}, CAP_CAPACITIES)
        assert args == before

    @pytest.mark.parametrize("optimal", ["trainee", "placement"])
    def test_result_does_not_depend_on_dict_order(self, optimal):
        rng = random.Random(7)
        expected = deferred_acceptance(
            README_TRAINEES, README_PLACEMENTS, README_CAPACITIES, optimal=optimal
        )
        for _ in range(20):
            trainees = list(README_TRAINEES.items())
            placements = list(README_PLACEMENTS.items())
            rng.shuffle(trainees)
            rng.shuffle(placements)
            result = deferred_acceptance(
                dict(trainees), dict(placements), README_CAPACITIES, optimal=optimal
            )
            assert result == expected

    def test_repeated_calls_give_the_same_result(self):
        args = (GS_TRAINEES, GS_PLACEMENTS, GS_CAPACITIES)
        assert deferred_acceptance(*args) == deferred_acceptance(*args)


def _raises(error, match, trainee_prefs, placement_prefs, capacities):
    """Both the validator and the solvers raise ``error`` with the same message."""
    with pytest.raises(error, match=match) as by_validator:
        validate_instance(trainee_prefs, placement_prefs, capacities)
    for optimal in ("trainee", "placement"):
        with pytest.raises(error, match=match) as by_solver:
            deferred_acceptance(trainee_prefs, placement_prefs, capacities, optimal=optimal)
        assert str(by_solver.value) == str(by_validator.value)
        assert type(by_solver.value) is type(by_validator.value)
    return by_validator.value


class TestValidation:
    def test_valid_instance_passes(self):
        assert validate_instance(CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES) is None

    def test_trainee_ranks_unknown_placement(self):
        err = _raises(
            UnknownPlacementError,
            "trainee 't1' ranks unknown placement 'nowhere'",
            {"t1": ["p", "nowhere"]},
            {"p": ["t1"]},
            {"p": 1},
        )
        assert err.params == {"side": "trainee", "owner": "t1", "id": "nowhere"}
        assert err.code == "unknown_placement"

    def test_placement_ranks_unknown_trainee(self):
        err = _raises(
            UnknownTraineeError,
            "placement 'p' ranks unknown trainee 'ghost'",
            {"t1": ["p"]},
            {"p": ["ghost", "t1"]},
            {"p": 1},
        )
        assert err.params == {"side": "placement", "owner": "p", "id": "ghost"}

    def test_duplicate_in_trainee_list(self):
        err = _raises(
            DuplicatePreferenceError,
            "trainee 't1' ranks 'p' more than once",
            {"t1": ["p", "q", "p"]},
            {"p": ["t1"], "q": []},
            {"p": 1, "q": 1},
        )
        assert err.params == {"side": "trainee", "owner": "t1", "id": "p"}

    def test_duplicate_in_placement_list(self):
        _raises(
            DuplicatePreferenceError,
            "placement 'p' ranks 't1' more than once",
            {"t1": ["p"], "t2": []},
            {"p": ["t1", "t2", "t1"]},
            {"p": 1},
        )

    def test_duplicate_of_a_one_sided_ranking_is_still_an_error(self):
        _raises(
            DuplicatePreferenceError,
            "ranks 'q' more than once",
            {"t1": ["q", "q"]},
            {"p": ["t1"], "q": []},
            {"p": 1, "q": 1},
        )

    @pytest.mark.parametrize("capacity", [-1, 1.0, 2.5, "3", None, True])
    def test_capacity_must_be_non_negative_integer(self, capacity):
        err = _raises(
            CapacityError, "capacity of placement 'p'", {"t": ["p"]}, {"p": ["t"]}, {"p": capacity}
        )
        assert err.params["id"] == "p"

    def test_numpy_integer_capacity_is_fine(self):
        np = pytest.importorskip("numpy")
        assert deferred_acceptance({"t": ["p"]}, {"p": ["t"]}, {"p": np.int64(1)}) == {"t": "p"}

    def test_missing_capacity(self):
        err = _raises(
            MissingCapacityError,
            "placement 'q' has no capacity",
            {"t": ["p"]},
            {"p": ["t"], "q": []},
            {"p": 1},
        )
        assert isinstance(err, CapacityError)

    def test_capacity_for_unknown_placement(self):
        _raises(
            UnknownPlacementError,
            "capacity given for unknown placement 'q'",
            {"t": ["p"]},
            {"p": ["t"]},
            {"p": 1, "q": 2},
        )

    @pytest.mark.parametrize("bad", ["p", {"p"}, {"p": 1}, 5, iter(["p"])])
    def test_preference_list_must_be_an_ordered_sequence(self, bad):
        _raises(
            InvalidPreferencesError, "must be an ordered sequence", {"t": bad}, {"p": []}, {"p": 1}
        )

    def test_unhashable_id(self):
        _raises(InvalidPreferencesError, "unhashable", {"t": [["p"]]}, {"p": []}, {"p": 1})

    @pytest.mark.parametrize("position", [0, 1, 2])
    def test_arguments_must_be_mappings(self, position):
        args = [{"t": ["p"]}, {"p": ["t"]}, {"p": 1}]
        args[position] = list(args[position].items())
        _raises(InvalidPreferencesError, "must be a mapping", *args)

    def test_none_is_no_placement_id(self):
        _raises(InvalidPreferencesError, "None", {"t": [None]}, {None: ["t"]}, {None: 1})

    def test_errors_are_value_errors(self):
        for error in (
            UnknownPlacementError,
            UnknownTraineeError,
            DuplicatePreferenceError,
            CapacityError,
            MissingCapacityError,
            InvalidPreferencesError,
        ):
            assert issubclass(error, MatchingError)
            assert issubclass(error, ValueError)

    def test_errors_render_german_first_and_english(self):
        with pytest.raises(UnknownPlacementError) as info:
            validate_instance({"t1": ["nowhere"]}, {}, {})
        err = info.value
        assert err.text() == err.text("de")
        assert "'nowhere'" in err.text("de") and "Einsatzort" in err.text("de")
        assert err.text("en") == str(err) == "trainee 't1' ranks unknown placement 'nowhere'"

    @pytest.mark.parametrize(
        "args",
        [
            ({"t": ["p"]}, {"p": ["t"]}, {"p": -1}),
            ({"t": ["p"]}, {"p": ["t"]}, {}),
            ({"t": ["p"]}, {"p": ["t"]}, {"p": 1, "q": 1}),
            ({"t": ["p", "p"]}, {"p": ["t"]}, {"p": 1}),
            ({"t": ["p"]}, {"p": ["u"]}, {"p": 1}),
            ({"t": "p"}, {"p": ["t"]}, {"p": 1}),
            ({"t": [["p"]]}, {"p": ["t"]}, {"p": 1}),
        ],
    )
    def test_every_error_has_a_german_text(self, args):
        with pytest.raises(MatchingError) as info:
            validate_instance(*args)
        german = info.value.text("de")
        assert german and german != info.value.text("en")
        assert info.value.code


class TestBlockingPairs:
    def test_solutions_are_stable(self):
        for args in (
            (README_TRAINEES, README_PLACEMENTS, README_CAPACITIES),
            (GS_TRAINEES, GS_PLACEMENTS, GS_CAPACITIES),
            (CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES),
        ):
            for optimal in ("trainee", "placement"):
                assert blocking_pairs(*args, deferred_acceptance(*args, optimal=optimal)) == []

    def test_unstable_matching(self):
        matching = {"alpha": "A", "beta": "C", "gamma": "B"}
        assert blocking_pairs(GS_TRAINEES, GS_PLACEMENTS, GS_CAPACITIES, matching) == [
            ("gamma", "A")
        ]

    def test_free_seat_blocks_with_every_unmatched_acceptable_trainee(self):
        matching = {"r1": None, "r2": None, "r3": None, "r4": None}
        pairs = blocking_pairs(CAP_TRAINEES, CAP_PLACEMENTS, CAP_CAPACITIES, matching)
        assert pairs == [
            ("r1", "h1"),
            ("r1", "h2"),
            ("r2", "h1"),
            ("r2", "h3"),
            ("r3", "h2"),
            ("r3", "h1"),
            ("r4", "h3"),
            ("r4", "h1"),
        ]

    def test_missing_trainees_count_as_unmatched(self):
        assert blocking_pairs({"t": ["p"]}, {"p": ["t"]}, {"p": 1}, {}) == [("t", "p")]

    def test_one_sided_rankings_never_block(self):
        assert blocking_pairs({"t": ["p"]}, {"p": []}, {"p": 1}, {"t": None}) == []
        assert blocking_pairs({"t": []}, {"p": ["t"]}, {"p": 1}, {"t": None}) == []

    def test_unacceptable_assignment_is_worse_than_anything(self):
        # t sits at q, which it never ranked, and p holds u, whom p never ranked.
        pairs = blocking_pairs(
            {"t": ["p"], "u": []}, {"p": ["t"], "q": []}, {"p": 1, "q": 1}, {"t": "q", "u": "p"}
        )
        assert pairs == [("t", "p")]

    def test_zero_capacity_never_blocks(self):
        assert blocking_pairs({"t": ["p"]}, {"p": ["t"]}, {"p": 0}, {"t": None}) == []

    def test_matching_with_unknown_ids_raises(self):
        with pytest.raises(UnknownTraineeError):
            blocking_pairs({"t": ["p"]}, {"p": ["t"]}, {"p": 1}, {"x": "p"})
        with pytest.raises(UnknownPlacementError):
            blocking_pairs({"t": ["p"]}, {"p": ["t"]}, {"p": 1}, {"t": "x"})


class TestMatchStatistics:
    def test_figures(self):
        matching = deferred_acceptance(README_TRAINEES, README_PLACEMENTS, README_CAPACITIES)
        stats = match_statistics(README_TRAINEES, matching, README_CAPACITIES)
        assert stats == {
            "trainees": 5,
            "matched": 5,
            "unmatched": 0,
            "matched_share": 1.0,
            "rank_distribution": {1: 3, 2: 2},
            "mean_rank": pytest.approx(1.4),
            "seats": 6,
            "filled_seats": 5,
            "unfilled_seats": 1,
            "placements": 3,
            "unfilled_placements": 1,
        }

    def test_nobody_matched(self):
        stats = match_statistics({"t": ["p"]}, {"t": None}, {"p": 2})
        assert stats["matched_share"] == 0.0
        assert stats["mean_rank"] is None
        assert stats["rank_distribution"] == {}
        assert stats["unfilled_seats"] == 2

    def test_empty(self):
        stats = match_statistics({}, {}, {})
        assert stats["trainees"] == 0 and stats["matched_share"] == 0.0 and stats["seats"] == 0

    def test_inconsistent_matchings_raise(self):
        with pytest.raises(MatchingError, match="did not rank"):
            match_statistics({"t": ["p"]}, {"t": "q"}, {"p": 1, "q": 1})
        with pytest.raises(UnknownPlacementError):
            match_statistics({"t": ["p"]}, {"t": "x"}, {"p": 1})
        with pytest.raises(CapacityError, match="seats"):
            match_statistics({"t": ["p"], "u": ["p"]}, {"t": "p", "u": "p"}, {"p": 1})


@pytest.mark.parametrize("module", [stable_module, exceptions_module])
def test_pure_module_imports_only_allowed_packages(module):
    # Static, because ``network/__init__.py`` itself imports Flask for ``create_app``.
    allowed = {"numpy", "scipy", "networkx", "network"} | set(sys.stdlib_module_names)
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [(node.module or "").split(".")[0]]
        else:
            continue
        assert set(roots) <= allowed, roots

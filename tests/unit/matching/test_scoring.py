"""Match scores: each component by hand, reasons, ranking, and scalar vs vectorised agreement."""

from __future__ import annotations

import copy
import math
import pickle
import random
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.matching.exceptions import MatchingError
from network.matching.geo import haversine_km
from network.matching.scoring import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    REASON_CODES,
    SCORE_RESOLUTION,
    Candidate,
    Position,
    Reason,
    ScoreWeights,
    ScoringInputError,
    distance_fit,
    explain,
    rank_candidates,
    rank_positions,
    score_all,
    score_pair,
    start_fit,
)
from network.reference import load_municipalities, load_professions
from network.vocabulary import EMPLOYER_BENEFITS, POSITION_TYPES

LAT, LON = 52.0, 7.5  # a point in the Münsterland
KM_PER_DEG_LAT = haversine_km(0, 0, 1, 0)


def north(km: float) -> float:
    """The latitude ``km`` kilometres north of LAT on the same meridian."""
    return LAT + km / KM_PER_DEG_LAT


def cand(**overrides) -> Candidate:
    values = {
        "id": "c",
        "lat": LAT,
        "lon": LON,
        "max_distance_km": 30.0,
        "professions": frozenset({"pflegefachperson"}),
    }
    values.update(overrides)
    return Candidate(**values)


def pos(**overrides) -> Position:
    values = {
        "id": "p",
        "lat": LAT,
        "lon": LON,
        "position_type": "apprenticeship",
        "profession": "pflegefachperson",
    }
    values.update(overrides)
    return Position(**values)


def codes(reasons) -> list[str]:
    return [reason.code for reason in reasons]


class TestWeights:
    def test_defaults_are_normalised(self):
        assert sum(DEFAULT_WEIGHTS.normalised().values()) == pytest.approx(1.0)
        assert set(DEFAULT_WEIGHTS.normalised()) == set(COMPONENTS)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"distance": -0.1},
            {"distance": math.nan},
            {"distance_floor": 1.5},
            {"start_unknown": 2},
            {"start_tolerance_days": -1},
            {"profession": True},
            dict.fromkeys(COMPONENTS, 0),
        ],
    )
    def test_rejects_bad_weights(self, kwargs):
        with pytest.raises(ScoringInputError) as info:
            ScoreWeights(**kwargs)
        assert isinstance(info.value, MatchingError)
        assert info.value.text().startswith("Ungültige Eingabe")

    def test_is_frozen(self):
        with pytest.raises(AttributeError):
            DEFAULT_WEIGHTS.distance = 1.0  # type: ignore[misc]


class TestDistance:
    @pytest.mark.parametrize(("km", "fit"), [(0.0, 1.0), (15.0, 0.6), (30.0, 0.2)])
    def test_decay_at_zero_half_and_full_radius(self, km, fit):
        assert distance_fit(km, 30.0, 0.2) == pytest.approx(fit)
        match = score_pair(cand(), pos(lat=north(km)))
        assert match is not None
        assert match.components["distance"] == pytest.approx(fit, abs=1e-6)
        assert match.distance_km == pytest.approx(km, abs=1e-6)

    def test_decay_is_monotone_and_smooth(self):
        values = [distance_fit(km, 40.0, 0.2) for km in np.linspace(0, 40, 81)]
        assert all(a >= b for a, b in zip(values, values[1:], strict=False))
        assert distance_fit(0.4, 40.0, 0.2) == pytest.approx(1.0, abs=1e-3)  # flat at 0 km

    def test_out_of_radius_is_excluded(self):
        far = pos(lat=north(30.5))
        assert score_pair(cand(), far) is None
        reasons = explain(cand(), far)
        assert "too_far" in codes(reasons)
        assert len(score_all([cand()], [far])) == 0
        assert rank_positions(cand(), [far]) == []

    def test_zero_radius_only_matches_the_same_place(self):
        home = cand(max_distance_km=0)
        assert score_pair(home, pos()).components["distance"] == 1.0
        assert score_pair(home, pos(lat=north(0.1))) is None

    def test_distance_reason_text(self):
        reason = next(r for r in explain(cand(), pos(lat=north(12.2))) if r.code == "distance")
        assert reason.text() == "12 km entfernt"
        assert reason.text("en") == "12 km away"
        assert reason.params["km"] == pytest.approx(12.2)


class TestProfessionAndType:
    def test_profession_must_match(self):
        assert score_pair(cand(), pos(profession="mfa")) is None
        assert "profession_mismatch" in codes(explain(cand(), pos(profession="mfa")))

    def test_one_of_several_professions(self):
        match = score_pair(cand(professions={"mfa", "pflegefachperson"}), pos(profession="mfa"))
        assert match.components["profession"] == 1.0
        assert codes(match.reasons)[0] == "profession_match"

    def test_no_profession_means_open_to_all(self):
        match = score_pair(cand(professions=frozenset()), pos(profession="physiotherapie"))
        assert match.components["profession"] == DEFAULT_WEIGHTS.open_preference
        assert codes(match.reasons)[0] == "profession_open"

    def test_explicit_wish_beats_open(self):
        wish = score_pair(cand(), pos())
        open_ = score_pair(cand(professions=frozenset()), pos())
        assert wish.score > open_.score

    def test_type_filter(self):
        wants_job = cand(position_types={"job"})
        assert score_pair(wants_job, pos()) is None
        assert "type_mismatch" in codes(explain(wants_job, pos()))
        assert score_pair(wants_job, pos(position_type="job")).components["position_type"] == 1
        assert score_pair(cand(), pos()).components["position_type"] == 0.5

    def test_unknown_position_type_is_rejected(self):
        with pytest.raises(ScoringInputError):
            pos(position_type="gig")
        with pytest.raises(ScoringInputError):
            cand(position_types={"gig"})


class TestStart:
    earliest = date(2025, 9, 1)

    @pytest.mark.parametrize(
        ("start", "fit", "code"),
        [
            (date(2025, 9, 1), 1.0, "start_fits"),
            (date(2026, 4, 1), 1.0, "start_fits"),
            (date(2025, 7, 18), 0.5, "start_early"),  # 45 of 90 days early
            (date(2025, 3, 1), 0.0, "start_early"),
            (None, 0.5, "start_open"),
        ],
    )
    def test_start_fit(self, start, fit, code):
        match = score_pair(cand(earliest_start=self.earliest), pos(start=start))
        assert match.components["start"] == pytest.approx(fit)
        assert code in codes(match.reasons)
        assert start_fit(start, self.earliest) == pytest.approx(fit)

    def test_candidate_without_earliest_start_is_neutral(self):
        match = score_pair(cand(), pos(start=date(2025, 9, 1)))
        assert match.components["start"] == DEFAULT_WEIGHTS.start_unknown
        reason = next(r for r in match.reasons if r.component == "start")
        assert reason.code == "start_any"
        assert reason.text() == "Start am 01.09.2025"

    def test_early_start_texts(self):
        match = score_pair(cand(earliest_start=self.earliest), pos(start=date(2025, 8, 31)))
        reason = next(r for r in match.reasons if r.code == "start_early")
        assert reason.params["days"] == 1
        assert reason.text() == "Start 1 Tag vor dem frühesten Wunschtermin (31.08.2025)"
        assert reason.text("en") == "Starts 1 day before the earliest possible start (2025-08-31)"

    def test_zero_tolerance(self):
        weights = replace(DEFAULT_WEIGHTS, start_tolerance_days=0)
        early = pos(start=date(2025, 8, 31))
        assert start_fit(early.start, self.earliest, weights) == 0.0
        assert start_fit(self.earliest, self.earliest, weights) == 1.0
        c = cand(earliest_start=self.earliest)
        table = score_all([c], [early, replace(early, id="q", start=None)], weights=weights)
        scalar = [
            score_pair(c, p, weights=weights).score
            for p in (early, replace(early, id="q", start=None))
        ]
        assert sorted(table.score.tolist()) == pytest.approx(sorted(scalar), abs=2e-9)


class TestBenefits:
    def test_share_of_wanted_benefits(self):
        c = cand(wanted_benefits={"housing", "childcare"})
        match = score_pair(c, pos(benefits={"housing", "mobility"}))
        assert match.components["benefits"] == 0.5
        texts = match.texts()
        assert "Wohnung angeboten" in texts
        assert "Kinderbetreuung nicht angeboten" in texts
        assert "Housing offered" in match.texts("en")

    def test_nothing_wanted_is_full_fit_without_reasons(self):
        match = score_pair(cand(), pos(benefits={"housing"}))
        assert match.components["benefits"] == 1.0
        assert not [r for r in match.reasons if r.component == "benefits"]

    def test_more_benefits_score_higher(self):
        c = cand(wanted_benefits={"housing", "childcare", "mobility"})
        scores = [
            score_pair(c, pos(benefits=offered)).score
            for offered in (set(), {"housing"}, {"housing", "childcare", "mobility"})
        ]
        assert scores == sorted(scores) and len(set(scores)) == 3


class TestRequirements:
    def test_driving_licence_missing(self):
        match = score_pair(cand(), pos(requirements={"driving_licence"}))
        assert match.components["requirements"] == 0.0
        assert "Führerschein fehlt" in match.texts()
        assert "Driving licence missing" in match.texts("en")
        ok = score_pair(cand(driving_licence=True), pos(requirements={"driving_licence"}))
        assert ok.components["requirements"] == 1.0
        assert "driving_licence_ok" in codes(ok.reasons)

    @pytest.mark.parametrize("spoken", [{"de"}, {"lang:de"}, {"DE"}])
    def test_language_codes(self, spoken):
        match = score_pair(cand(languages=spoken), pos(requirements={"lang:de", "lang:en"}))
        assert match.components["requirements"] == 0.5
        assert "Sprachkenntnisse Deutsch vorhanden" in match.texts()
        assert "Sprachkenntnisse Englisch fehlen" in match.texts()

    def test_qualification(self):
        p = pos(requirements={"pflegefachperson", "driving_licence"})
        match = score_pair(cand(qualifications={"pflegefachperson"}), p)
        assert match.components["requirements"] == 0.5
        assert codes(match.reasons)[-2:] == ["driving_licence_missing", "qualification_ok"]

    def test_requirements_never_filter(self):
        assert score_pair(cand(), pos(requirements={"driving_licence", "lang:nl"})) is not None


class TestReasons:
    def test_reasons_follow_the_contributing_components(self):
        c = cand(
            earliest_start=date(2025, 9, 1),
            wanted_benefits={"housing"},
            position_types={"apprenticeship"},
        )
        p = pos(start=date(2025, 10, 1), benefits={"housing"}, requirements={"driving_licence"})
        match = score_pair(c, p)
        assert [r.component for r in match.reasons] == list(COMPONENTS)
        assert codes(match.reasons) == [
            "profession_match",
            "type_match",
            "distance",
            "start_fits",
            "benefit_offered",
            "driving_licence_missing",
        ]
        for reason in match.reasons:
            assert REASON_CODES[reason.code] == reason.component
            expected = "negative" if match.components[reason.component] == 0 else "positive"
            assert reason.polarity == expected

    def test_zero_weight_drops_soft_reasons_but_not_filters(self):
        weights = ScoreWeights(start=0, benefits=0, requirements=0)
        c = cand(earliest_start=date(2025, 9, 1), wanted_benefits={"housing"})
        p = pos(start=date(2025, 10, 1), requirements={"driving_licence"})
        assert codes(score_pair(c, p, weights=weights).reasons) == [
            "profession_match",
            "type_open",
            "distance",
        ]

    def test_every_code_renders_in_both_languages(self):
        params = {
            "profession": "mfa",
            "position_type": "job",
            "km": 3.4,
            "max_km": 20.0,
            "start": "2025-09-01",
            "earliest": "2025-08-01",
            "days": 3,
            "benefit": "housing",
            "language": "de",
            "qualification": "pflegefachperson",
        }
        for code, component in REASON_CODES.items():
            reason = Reason(code, params, component)
            de, en = reason.text("de"), reason.text("en")
            assert de and en and "{" not in de + en

    def test_labels_come_from_the_vocabularies(self):
        reasons = explain(cand(professions={"mfa"}), pos(profession="mfa", position_type="job"))
        texts = [r.text() for r in reasons]
        assert f"Angebotsart: {POSITION_TYPES['job'].de}" in texts
        mfa = next(p for p in load_professions() if p.code == "mfa")
        assert f"Beruf passt: {mfa.name_de}" in texts
        assert Reason("benefit_offered", {"benefit": "childcare"}).text("en") == (
            f"{EMPLOYER_BENEFITS['childcare'].en} offered"
        )

    def test_matches_pickle(self):
        match = score_pair(cand(wanted_benefits={"housing"}), pos(requirements={"lang:de"}))
        assert pickle.loads(pickle.dumps(match)) == match

    def test_score_is_the_weighted_mean_of_the_components(self):
        c = cand(earliest_start=date(2025, 9, 1), wanted_benefits={"housing", "mobility"})
        p = pos(lat=north(9), start=date(2025, 8, 1), benefits={"housing"})
        match = score_pair(c, p)
        share = DEFAULT_WEIGHTS.normalised()
        expected = sum(share[name] * match.components[name] for name in COMPONENTS)
        assert match.score == pytest.approx(expected, abs=SCORE_RESOLUTION)
        assert 0 <= match.score <= 1


class TestRanking:
    def test_rank_positions_best_first_with_id_ties(self):
        positions = [
            pos(id="b"),
            pos(id="a"),
            pos(id="far", lat=north(20)),
            pos(id="mfa", profession="mfa"),
        ]
        ranked = rank_positions(cand(), positions)
        assert [m.position_id for m in ranked] == ["a", "b", "far"]
        assert ranked[0].score == ranked[1].score > ranked[2].score
        assert [m.position_id for m in rank_positions(cand(), positions, limit=1)] == ["a"]
        assert rank_positions(cand(), positions, limit=0) == []

    def test_rank_candidates_uses_each_radius(self):
        p = pos()
        candidates = [
            cand(id=2, lat=north(25), max_distance_km=30),
            cand(id=1, lat=north(25), max_distance_km=30),
            cand(id=3, lat=north(25), max_distance_km=20),
            cand(id=0, lat=north(1), max_distance_km=30),
        ]
        ranked = rank_candidates(p, candidates)
        assert [m.candidate_id for m in ranked] == [0, 1, 2]
        assert [m.candidate_id for m in rank_candidates(p, candidates, limit=2)] == [0, 1]

    def test_matches_carry_reasons(self):
        [match] = rank_positions(cand(), [pos(lat=north(5))])
        assert match.reasons == explain(cand(), pos(lat=north(5)))
        assert match.distance_km == pytest.approx(5, abs=1e-6)

    def test_bad_options(self):
        with pytest.raises(ScoringInputError):
            rank_positions(cand(), [pos()], limit=-1)
        with pytest.raises(ScoringInputError):
            score_all([cand()], [pos()], top_k=1.5)
        with pytest.raises(ScoringInputError):
            score_all([cand(), cand()], [pos()])
        with pytest.raises(ScoringInputError):
            score_all([cand()], [pos(), pos()])
        with pytest.raises(ScoringInputError):
            score_all([pos()], [pos()])
        with pytest.raises(ScoringInputError):
            score_all([cand()], [pos()], weights={"distance": 1})


# -- random instances -------------------------------------------------------------------------

_PROFESSIONS = [p.code for p in load_professions()][:6]
_TYPES = list(POSITION_TYPES)[:3]
_BENEFITS = list(EMPLOYER_BENEFITS)[:3]
_REQUIREMENTS = ["driving_licence", "lang:de", "lang:en", "pflegefachperson"]


def _random_instance(seed: int, n: int, m: int) -> tuple[list[Candidate], list[Position]]:
    rng = random.Random(seed)
    towns = load_municipalities()
    base = date(2025, 8, 1)

    def place():
        town = rng.choice(towns)
        return town.latitude + rng.gauss(0, 0.03), town.longitude + rng.gauss(0, 0.04)

    def some(values, p):
        return frozenset(v for v in values if rng.random() < p)

    def day():
        return None if rng.random() < 0.3 else base + timedelta(days=rng.randrange(0, 200))

    candidates = []
    for i in range(n):
        lat, lon = place()
        candidates.append(
            Candidate(
                id=f"c{i}",
                lat=lat,
                lon=lon,
                max_distance_km=rng.choice([0.0, rng.uniform(5, 60)]) if i % 17 == 0
                else rng.uniform(5, 60),
                professions=some(_PROFESSIONS, 0.3),
                position_types=some(_TYPES, 0.3),
                earliest_start=day(),
                wanted_benefits=some(_BENEFITS, 0.3),
                driving_licence=rng.random() < 0.5,
                languages=some(["de", "en", "lang:tr"], 0.5),
                qualifications=some(["pflegefachperson"], 0.3),
            )
        )  # fmt: skip
    positions = []
    for j in range(m):
        lat, lon = place()
        positions.append(
            Position(
                id=f"p{j}",
                lat=lat,
                lon=lon,
                position_type=rng.choice(_TYPES),
                profession=rng.choice(_PROFESSIONS),
                start=day(),
                benefits=some(_BENEFITS, 0.4),
                requirements=some(_REQUIREMENTS, 0.3),
            )
        )
    # Duplicated locations produce exact score ties.
    positions.append(replace(positions[0], id="p-dup"))
    return candidates, positions


@pytest.fixture(scope="module")
def instance():
    return _random_instance(42, 150, 120)


class TestVectorised:
    def test_agrees_with_score_pair(self, instance):
        candidates, positions = instance
        table = score_all(candidates, positions)
        got = {
            (int(i), int(j)): (s, d)
            for i, j, s, d in zip(
                table.candidate_idx, table.position_idx, table.score, table.distance_km, strict=True
            )
        }
        expected = {}
        for i, c in enumerate(candidates):
            for j, p in enumerate(positions):
                match = score_pair(c, p)
                if match is not None:
                    expected[(i, j)] = (match.score, match.distance_km)
        assert got.keys() == expected.keys()
        assert len(got) == len(table) == table.pairs_scored > 100
        for key, (score, km) in expected.items():
            assert got[key][0] == pytest.approx(score, abs=2 * SCORE_RESOLUTION)
            assert got[key][1] == pytest.approx(km, abs=1e-6)

    @settings(max_examples=15, deadline=None)
    @given(st.integers(0, 10_000), st.sampled_from([None, 1, 3]))
    def test_agrees_on_random_instances(self, seed, top_k):
        candidates, positions = _random_instance(seed, 25, 30)
        table = score_all(candidates, positions, top_k=top_k)
        for i, c in enumerate(candidates):
            expected = [m for m in (score_pair(c, p) for p in positions) if m is not None]
            expected.sort(key=lambda m: (-m.score, m.position_id))
            if top_k is not None:
                expected = expected[:top_k]
            rows = table.rows_for(i)
            got_ids = [positions[j].id for j in table.position_idx[rows]]
            assert len(got_ids) == len(expected)
            got_scores = table.score[rows].tolist()
            assert got_scores == pytest.approx([m.score for m in expected], abs=2e-9)
            if all(
                abs(a - b) < 1e-12
                for a, b in zip(got_scores, [m.score for m in expected], strict=True)
            ):
                assert got_ids == [m.position_id for m in expected]

    def test_rows_are_ordered(self, instance):
        candidates, positions = instance
        table = score_all(candidates, positions)
        assert np.all(np.diff(table.candidate_idx) >= 0)
        for i in range(len(candidates)):
            rows = table.rows_for(i)
            keys = [
                (-s, positions[j].id)
                for s, j in zip(table.score[rows], table.position_idx[rows], strict=True)
            ]
            assert keys == sorted(keys)

    def test_top_k_is_a_prefix(self, instance):
        candidates, positions = instance
        full = score_all(candidates, positions)
        top = score_all(candidates, positions, top_k=3)
        assert top.pairs_scored == full.pairs_scored
        for i in range(len(candidates)):
            assert top.position_idx[top.rows_for(i)].tolist() == (
                full.position_idx[full.rows_for(i)][:3].tolist()
            )

    def test_rank_functions_agree_with_the_table(self, instance):
        candidates, positions = instance
        table = score_all(candidates, positions)
        for i in (0, 5, 17):
            ranked = rank_positions(candidates[i], positions)
            rows = table.rows_for(i)
            assert [m.position_id for m in ranked] == [
                positions[j].id for j in table.position_idx[rows]
            ]
        p = positions[-1]
        ranked = rank_candidates(p, candidates)
        expected = [m for m in (score_pair(c, p) for c in candidates) if m is not None]
        expected.sort(key=lambda m: (-m.score, m.candidate_id))
        assert [m.candidate_id for m in ranked] == [m.candidate_id for m in expected]

    def test_lazy_reasons_equal_explain(self, instance):
        candidates, positions = instance
        table = score_all(candidates, positions, top_k=2)
        for row in range(0, len(table), 7):
            match = table.match(row)
            c = candidates[table.candidate_idx[row]]
            p = positions[table.position_idx[row]]
            assert match.reasons == explain(c, p)
            assert (match.candidate_id, match.position_id) == (c.id, p.id)
            assert match.score == table.score[row]

    def test_deterministic_and_order_independent(self, instance):
        candidates, positions = instance
        first = score_all(candidates, positions)
        second = score_all(candidates, positions)
        assert np.array_equal(first.score, second.score)
        assert np.array_equal(first.position_idx, second.position_idx)
        shuffled_c, shuffled_p = candidates[::-1], positions[::-1]
        third = score_all(shuffled_c, shuffled_p)

        def by_ids(table, cs, ps):
            return {
                (cs[i].id, ps[j].id): s
                for i, j, s in zip(
                    table.candidate_idx, table.position_idx, table.score, strict=True
                )
            }

        assert by_ids(first, candidates, positions) == pytest.approx(
            by_ids(third, shuffled_c, shuffled_p), abs=2e-9
        )

    def test_inputs_are_not_mutated(self, instance):
        candidates, positions = instance
        before = (copy.deepcopy(candidates), copy.deepcopy(positions))
        score_all(candidates, positions, top_k=2)
        rank_positions(candidates[0], positions)
        rank_candidates(positions[0], candidates)
        assert (candidates, positions) == before

    def test_table_arrays_are_read_only(self, instance):
        table = score_all(*instance)
        with pytest.raises(ValueError):
            table.score[0] = 1.0
        assert not table.distance_km.flags.writeable

    def test_custom_weights_agree(self, instance):
        candidates, positions = instance
        weights = ScoreWeights(distance=1, start=2, benefits=0, distance_floor=0, start_unknown=0)
        table = score_all(candidates, positions, weights=weights, top_k=1)
        for row in range(len(table)):
            c = candidates[table.candidate_idx[row]]
            p = positions[table.position_idx[row]]
            assert table.score[row] == pytest.approx(
                score_pair(c, p, weights=weights).score, abs=2e-9
            )

    def test_empty_inputs(self):
        assert len(score_all([], [pos()])) == 0
        assert len(score_all([cand()], [])) == 0
        assert len(score_all([cand(professions={"hebamme"})], [pos()])) == 0
        assert rank_candidates(pos(), []) == []

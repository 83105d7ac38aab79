"""Collaboration suggestions: each signal by hand, the never-suggest rules, reasons, refresh."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import random

import pytest

from network.matching.exceptions import MatchingError
from network.matching.suggestions import (
    DEFAULT_CONFIG,
    REASON_CODES,
    InvalidFeedbackError,
    InvalidOrganisationError,
    InvalidSuggestionConfigError,
    Reason,
    Suggestion,
    SuggestionConfig,
    SuggestionError,
    UnknownOrganisationError,
    UnknownReasonError,
    calibrate,
    pair_fingerprint,
    reason_text,
    suggest,
)
from network.synthetic import generate_network
from network.vocabulary import ORGANISATION_KINDS, PLACEMENT_TAGS

RHEINE = "05566076"
EMSDETTEN = "05566008"
LAT0, LON0 = 52.28, 7.44
CFG = DEFAULT_CONFIG


def org(oid, kind="gp_practice", *, km=0.0, north_km=0.0, ags=RHEINE, offers=(), needs=(), **extra):
    """An organisation ``km`` east and ``north_km`` north of a fixed point near Rheine."""
    lat = LAT0 + north_km / 111.2
    lon = LON0 + km / (111.2 * math.cos(math.radians(LAT0)))
    return {
        "id": oid,
        "kind": kind,
        "ags": ags,
        "lat": lat,
        "lon": lon,
        "offers": set(offers),
        "needs": set(needs),
        **extra,
    }


def pair(result, source, target) -> Suggestion | None:
    return next((s for s in result[source] if s.target == target), None)


def targets(result, source) -> list:
    return [s.target for s in result[source]]


def weights_of(config: SuggestionConfig):
    return config


@pytest.fixture(scope="module")
def network():
    orgs, links = generate_network(500, seed=7)
    return orgs, [(c.source, c.target) for c in links]


class TestComplementarity:
    def test_one_way_need_met_by_offer(self):
        orgs = [
            org("A", needs={"telemedicine"}),
            org("B", km=2, offers={"telemedicine"}),
            org("C", km=2, north_km=0.0001),
        ]
        result = suggest(orgs, [])
        assert targets(result, "A") == ["B", "C"]
        ab, ac = pair(result, "A", "B"), pair(result, "A", "C")
        assert ab.signals["complementarity"] == pytest.approx(
            CFG.complementarity_weight * math.log(2)
        )
        assert ac.signals["complementarity"] == 0
        met = [r for r in ab.reasons if r.code == "need_met"]
        assert [r.params for r in met] == [{"needer": "A", "provider": "B", "tag": "telemedicine"}]
        assert met[0].text() == "A braucht Telemedizin-Infrastruktur, B bietet es an"
        assert met[0].text("en") == "A needs Telemedicine infrastructure, B offers it"
        # The pair is the same seen from B: the need is A's either way.
        assert pair(result, "B", "A").signals["complementarity"] == ab.signals["complementarity"]

    def test_both_ways_count_twice(self):
        orgs = [
            org("A", offers={"shuttle"}, needs={"childcare"}),
            org("B", km=1, offers={"childcare"}, needs={"shuttle"}),
            org("C", km=1, north_km=0.001, offers={"childcare"}),
        ]
        result = suggest(orgs, [])
        ab, ac = pair(result, "A", "B"), pair(result, "A", "C")
        assert ab.signals["complementarity"] == pytest.approx(
            CFG.complementarity_weight * math.log(3)
        )
        assert ac.signals["complementarity"] == pytest.approx(
            CFG.complementarity_weight * math.log(2)
        )
        needers = {
            (r.params["needer"], r.params["tag"]) for r in ab.reasons if r.code == "need_met"
        }
        assert needers == {("A", "childcare"), ("B", "shuttle")}

    def test_training_provider_lacking_a_placement_area_needs_it(self):
        orgs = [
            org("home", "care_home", offers={"training:nursing", "placement:longterm_inpatient"}),
            org("kids", "specialist_practice", km=3, offers={"placement:paediatric"}),
        ]
        ab = pair(suggest(orgs, []), "home", "kids")
        gap = [r for r in ab.reasons if r.code == "placement_gap"]
        assert [r.params["tag"] for r in gap] == ["placement:paediatric"]
        assert gap[0].params["needer"] == "home" and gap[0].params["provider"] == "kids"
        assert "braucht Praxiseinsatz Pädiatrie" in gap[0].text()
        expected = CFG.complementarity_weight * math.log1p(CFG.placement_gap_share)
        assert ab.signals["complementarity"] == pytest.approx(expected)

    def test_no_gap_for_what_one_offers_or_for_non_trainers(self):
        orgs = [
            org("home", "care_home", offers={"training:nursing", "placement:paediatric"}),
            org("gp", "gp_practice", km=1),  # trains nobody: no implied need
            org("kids", "specialist_practice", km=2, offers={"placement:paediatric"}),
        ]
        result = suggest(orgs, [])
        assert pair(result, "home", "kids").signals["complementarity"] == 0
        assert pair(result, "gp", "kids").signals["complementarity"] == 0

    def test_listed_need_counts_fully_not_as_gap(self):
        orgs = [
            org("school", "school", offers={"training:nursing"}, needs={"placement:psychiatric"}),
            org("psy", "hospital", km=5, offers={"placement:psychiatric"}),
        ]
        ab = pair(suggest(orgs, []), "school", "psy")
        assert {r.code for r in ab.reasons if r.signal == "complementarity"} == {"need_met"}
        assert ab.signals["complementarity"] == pytest.approx(
            CFG.complementarity_weight * math.log(2)
        )

    def test_every_mandatory_area_a_school_lacks_is_implied(self):
        provider = org("all", "hospital", km=5, offers=set(PLACEMENT_TAGS))
        ab = pair(suggest([org("school", "school"), provider], []), "school", "all")
        gaps = sorted(r.params["tag"] for r in ab.reasons if r.code == "placement_gap")
        assert gaps == sorted(PLACEMENT_TAGS)


class TestStructure:
    """A–C–B and A–D–B with deg C = 2, deg D = 3 (D also knows E)."""

    orgs = [
        org("A"),
        org("B", km=1),
        org("C", km=2),
        org("D", km=3),
        org("E", km=4),
    ]
    links = [("A", "C"), ("B", "C"), ("A", "D"), ("B", "D"), ("D", "E")]

    def test_resource_allocation(self):
        ab = pair(suggest(self.orgs, self.links), "A", "B")
        ra = 1 / 2 + 1 / 3
        expected = CFG.structure_weight * math.log1p(ra / CFG.structure_scale)
        assert ab.signals["structure"] == pytest.approx(expected)
        common = next(r for r in ab.reasons if r.code == "common_partners")
        assert common.params == {"partners": ["C", "D"], "count": 2}
        assert common.text() == "beide arbeiten mit C und D zusammen"
        assert common.text("en") == "both work with C and D"

    def test_adamic_adar(self):
        config = dataclasses.replace(CFG, structure_index="adamic_adar")
        ab = pair(suggest(self.orgs, self.links, config=config), "A", "B")
        aa = 1 / math.log(2) + 1 / math.log(3)
        assert ab.signals["structure"] == pytest.approx(
            config.structure_weight * math.log1p(aa / config.structure_scale)
        )

    def test_single_common_partner_and_none(self):
        result = suggest(self.orgs, self.links)
        ae = pair(result, "A", "E")  # via D only
        assert ae.signals["structure"] == pytest.approx(
            CFG.structure_weight * math.log1p((1 / 3) / CFG.structure_scale)
        )
        assert pair(result, "B", "E").signals["structure"] == pytest.approx(
            CFG.structure_weight * math.log1p((1 / 3) / CFG.structure_scale)
        )
        lonely = suggest([*self.orgs, org("F", km=0.5)], self.links)
        assert pair(lonely, "F", "A").signals["structure"] == 0
        assert all(r.code != "common_partners" for r in pair(lonely, "F", "A").reasons)

    def test_more_common_partners_than_named(self):
        hubs = [org(f"h{i}", km=i) for i in range(5)]
        links = [(h["id"], end) for h in hubs for end in ("A", "B")]
        ab = pair(suggest([org("A"), org("B", km=1), *hubs], links), "A", "B")
        common = next(r for r in ab.reasons if r.code == "common_partners")
        assert common.params["count"] == 5 and len(common.params["partners"]) == 3
        assert common.text().endswith("und 2 weiteren zusammen")


class TestGeography:
    def test_distance_decay(self):
        orgs = [org("A"), org("near", km=2), org("far", km=15)]
        result = suggest(orgs, [])
        assert targets(result, "A") == ["near", "far"]
        soft, reference = CFG.distance_softening_km, CFG.largest_reach_km()
        near = pair(result, "A", "near")
        assert near.distance_km == pytest.approx(2.0, rel=1e-3)
        assert near.signals["geography"] == pytest.approx(
            CFG.geography_weight * math.log((reference + soft) / (near.distance_km + soft)),
            rel=1e-4,
        )
        distance = next(r for r in near.reasons if r.code == "distance")
        assert distance.text() == "2,0 km entfernt" and distance.text("en") == "2.0 km apart"

    def test_reach_depends_on_kind(self):
        # GP practices reach 25 km, hospitals 60 km: a pair's reach is the larger one.
        orgs = [org("gp"), org("gp2", km=30), org("clinic", "hospital", km=30)]
        result = suggest(orgs, [])
        assert targets(result, "gp") == ["clinic"]
        assert "gp" not in targets(result, "gp2")
        assert CFG.reach_of("rescue_station") < CFG.reach_of("hospital")
        assert CFG.reach_of("gp_practice") < CFG.reach_of("school")

    def test_unknown_kind_gets_the_default_reach(self):
        inside = CFG.default_reach_km - 1
        orgs = [org("x", "other"), org("y", "other", km=inside), org("z", "other", km=inside + 3)]
        assert targets(suggest(orgs, []), "x") == ["y"]

    def test_cross_municipal_bonus(self):
        orgs = [
            org("A"),
            org("same", km=3),
            org("other", km=3, north_km=0.0001, ags=EMSDETTEN),
            org("unknown", km=3, north_km=-0.0001, ags=None),
        ]
        result = suggest(orgs, [])
        other, same = pair(result, "A", "other"), pair(result, "A", "same")
        assert other.cross_municipal and not same.cross_municipal
        assert other.signals["cross_municipal"] == CFG.cross_municipal_bonus
        assert same.signals["cross_municipal"] == 0
        assert pair(result, "A", "unknown").signals["cross_municipal"] == 0
        assert other.score - same.score == pytest.approx(CFG.cross_municipal_bonus, abs=1e-6)
        cross = next(r for r in other.reasons if r.code == "cross_municipal")
        assert cross.text() == "verbindet Rheine und Emsdetten"
        assert cross.text("en") == "connects Rheine and Emsdetten"

    def test_bonus_is_modest(self):
        assert CFG.cross_municipal_bonus < 0.1 * CFG.geography_weight * math.log(
            CFG.largest_reach_km()
        )


class TestKindCompatibility:
    def test_table_is_symmetric_with_defaults(self):
        kinds = [*ORGANISATION_KINDS, "other"]
        for a in kinds:
            for b in kinds:
                assert CFG.compatibility(a, b) == CFG.compatibility(b, a)
                assert 0 <= CFG.compatibility(a, b) <= 1
        assert CFG.compatibility("hospital", "care_home") > CFG.compatibility("pharmacy", "sme")
        assert CFG.compatibility("gp_practice", "mvz") >= 0.8
        assert CFG.compatibility("sme", "ambulatory_care") > CFG.unlisted_compatibility
        assert CFG.compatibility("other", "hospital") == CFG.unknown_kind_compatibility
        assert CFG.compatibility("pharmacy", "sme") == CFG.unlisted_compatibility

    def test_fitting_kinds_rank_higher(self):
        orgs = [
            org("home", "care_home"),
            org("clinic", "hospital", km=3),
            org("shop", "pharmacy", km=3, north_km=0.0001),
        ]
        result = suggest(orgs, [])
        assert targets(result, "home")[0] == "clinic"
        clinic, shop = pair(result, "home", "clinic"), pair(result, "home", "shop")
        assert clinic.signals["kind"] > shop.signals["kind"] > 0
        fit = next(r for r in clinic.reasons if r.code == "kind_fit")
        assert (
            fit.text()
            == "Stationäre Pflegeeinrichtung und Krankenhaus passen fachlich gut zusammen"
        )
        assert fit.text("en") == "Care home and Hospital are a good fit"

    def test_school_and_any_nursing_training_provider(self):
        orgs = [
            org("school", "school"),
            org("mvz", "mvz", km=2, offers={"training:nursing"}),
        ]
        ab = pair(suggest(orgs, []), "school", "mvz")
        alliance = next(r for r in ab.reasons if r.code == "training_alliance")
        assert alliance.params == {"school": "school", "trainer": "mvz"}
        assert ab.signals["kind"] == pytest.approx(
            CFG.kind_weight * math.log1p(CFG.training_alliance_compatibility)
        )

    def test_observed_mixing_moves_the_kind_signal(self):
        # Many links between pharmacies and SMEs: the network says they fit after all.
        orgs = [org(f"p{i}", "pharmacy", km=i % 5) for i in range(30)]
        orgs += [org(f"s{i}", "sme", km=i % 5, north_km=1) for i in range(30)]
        orgs += [org(f"g{i}", "gp_practice", km=i % 5, north_km=-1) for i in range(60)]
        orgs += [org("p_new", "pharmacy", km=1, north_km=2), org("s_new", "sme", km=1, north_km=3)]
        links = [(f"p{i}", f"s{(i + j) % 30}") for i in range(30) for j in range(3)]
        config = dataclasses.replace(CFG, calibrate=False)
        ab = pair(suggest(orgs, links, config=config), "p_new", "s_new")
        assert ab.signals["kind"] > CFG.kind_weight * math.log1p(CFG.unlisted_compatibility)
        fit = next(r for r in ab.reasons if r.code == "kind_fit")
        assert fit.params["lift"] > 1.5 and "-mal so oft" in fit.text()


class TestNeverSuggested:
    orgs = [org("A"), org("B", km=1), org("C", km=2), org("D", km=3)]

    def test_existing_pairs_and_self(self):
        result = suggest(self.orgs, [("A", "B")])
        assert "B" not in targets(result, "A") and "A" not in targets(result, "B")
        assert all(s.source != s.target for items in result.values() for s in items)

    def test_rejected_pairs_either_direction(self):
        result = suggest(self.orgs, [], rejected=[("C", "A")])
        assert "C" not in targets(result, "A") and "A" not in targets(result, "C")
        assert "B" in targets(result, "A")

    def test_out_of_reach_even_with_common_partners_or_interest(self):
        orgs = [org("A"), org("far", km=40), org("hub", "other", km=20)]
        links = [("A", "hub"), ("far", "hub")]
        result = suggest(orgs, links, feedback={("A", "far"): 1.0})
        assert "far" not in targets(result, "A") and "A" not in targets(result, "far")

    def test_every_id_is_a_key(self):
        orgs = [*self.orgs, org("alone", km=500)]
        result = suggest(orgs, [])
        assert list(result) == ["A", "B", "C", "D", "alone"]
        assert result["alone"] == []
        assert all(v == [] for v in suggest(orgs, [], k=0).values())


class TestReasonsAndScores:
    def test_reasons_match_exactly_the_nonzero_signals(self, network):
        orgs, links = network
        result = suggest(orgs, links)
        seen_codes = set()
        for source, items in result.items():
            assert len(items) <= 10
            scores = [s.score for s in items]
            assert scores == sorted(scores, reverse=True)
            for s in items:
                assert s.source == source
                assert set(s.signals) == set(REASON_CODES.values())
                nonzero = {name for name, part in s.signals.items() if part != 0}
                assert {r.signal for r in s.reasons} == nonzero
                assert sum(s.signals.values()) == pytest.approx(s.score, abs=1e-9)
                assert all(r.text() and r.text("en") for r in s.reasons)
                seen_codes.update(r.code for r in s.reasons)
        assert {"need_met", "common_partners", "distance", "kind_fit"} <= seen_codes

    def test_reasons_are_ordered_by_contribution(self, network):
        orgs, links = network
        for items in list(suggest(orgs, links).values())[:50]:
            for s in items:
                parts = [abs(s.signals[r.signal]) for r in s.reasons]
                assert parts == sorted(parts, reverse=True)

    def test_deterministic_and_independent_of_input_order(self, network):
        orgs, links = network
        first = suggest(orgs, links)
        assert suggest(orgs, links) == first
        shuffled_orgs, shuffled_links = list(orgs), list(links)
        random.Random(3).shuffle(shuffled_orgs)
        random.Random(4).shuffle(shuffled_links)
        again = suggest(shuffled_orgs, shuffled_links)
        assert {k: targets(again, k) for k in first} == {k: targets(first, k) for k in first}

    def test_ties_are_broken_by_id(self):
        # Four organisations exactly alike at the same spot: order by id.
        orgs = [org("A")] + [org(x, km=2) for x in ("d", "b", "c")]
        assert targets(suggest(orgs, []), "A") == ["b", "c", "d"]

    def test_relative_cutoff_drops_weak_tail(self):
        orgs = [org("A"), org("near", km=0.1), org("far", km=24)]
        full = dataclasses.replace(CFG, relative_cutoff=math.inf)
        assert targets(suggest(orgs, [], config=full), "A") == ["near", "far"]
        tight = dataclasses.replace(CFG, relative_cutoff=0.5)
        assert targets(suggest(orgs, [], config=tight), "A") == ["near"]

    def test_lazy_reasons_compare_pickle_and_repr(self, network):
        orgs, links = network
        result = suggest(orgs, links)
        s = next(items[0] for items in result.values() if items)
        copy_ = pickle.loads(pickle.dumps(s))
        assert copy_ == s and copy_.reasons == s.reasons
        eager = Suggestion(
            s.source, s.target, s.score, s.reasons, s.signals, s.distance_km, s.cross_municipal
        )
        assert eager == s and hash(eager) == hash(s)
        assert "Suggestion(" in repr(s) and dataclasses.asdict(s)["reasons"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.score = 1.0


class TestUnknownKind:
    def test_other_kind_without_tags_gets_structure_and_geography(self):
        orgs = [
            org("x", "other"),
            org("partner", "gp_practice", km=2),
            org("friend", "mvz", km=4),
            org("neighbour", "pharmacy", km=1, north_km=1),
        ]
        result = suggest(orgs, [("x", "partner"), ("partner", "friend")])
        assert set(targets(result, "x")) == {"friend", "neighbour"}
        friend = pair(result, "x", "friend")
        assert friend.signals["structure"] > 0 and friend.signals["geography"] > 0
        assert pair(result, "x", "neighbour").signals["geography"] > 0
        kind = next(r for r in friend.reasons if r.code == "kind_fit")
        assert kind.text() == "other und MVZ können zusammenarbeiten"


class TestFeedback:
    orgs = [org("A"), org("B", km=3), org("C", km=3, north_km=0.0001)]

    def test_interest_raises_and_not_relevant_lowers(self):
        plain = suggest(self.orgs, [])
        base = pair(plain, "A", "B").score
        liked = suggest(self.orgs, [], feedback={("A", "B"): 1.0})
        assert pair(liked, "A", "B").score == pytest.approx(base + CFG.feedback_weight)
        reason = next(r for r in pair(liked, "A", "B").reasons if r.code == "feedback")
        assert reason.text() == "als interessant markiert"
        disliked = suggest(self.orgs, [], feedback={("B", "A"): -0.5})
        assert pair(disliked, "A", "B").score == pytest.approx(base - 0.5 * CFG.feedback_weight)
        assert targets(disliked, "A") == ["C", "B"]
        assert (
            next(r for r in pair(disliked, "A", "B").reasons if r.code == "feedback").text("en")
            == "marked as not relevant"
        )

    def test_both_directions_are_averaged(self):
        result = suggest(self.orgs, [], feedback={("A", "B"): 1.0, ("B", "A"): -0.5})
        assert pair(result, "A", "B").signals["feedback"] == pytest.approx(
            0.25 * CFG.feedback_weight
        )

    def test_interest_makes_a_pair_a_candidate(self):
        orgs = [org("A")] + [org(f"n{i}", km=0.1 * (i + 1)) for i in range(30)] + [org("Z", km=20)]
        config = dataclasses.replace(CFG, candidates_nearest=3, relative_cutoff=math.inf)
        assert "Z" not in targets(suggest(orgs, [], config=config), "A")
        liked = suggest(orgs, [], feedback={("A", "Z"): 1.0}, config=config)
        assert "Z" in targets(liked, "A")

    def test_invalid_and_stale_feedback(self):
        with pytest.raises(InvalidFeedbackError):
            suggest(self.orgs, [], feedback={("A", "B"): 2})
        with pytest.raises(InvalidFeedbackError):
            suggest(self.orgs, [], feedback={("A", "B"): "yes"})
        assert suggest(self.orgs, [], feedback={("A", "gone"): 1.0}) == suggest(self.orgs, [])


class TestIncrementalRefresh:
    def test_only_gives_the_lists_of_a_full_run(self, network):
        orgs, links = network
        full = suggest(orgs, links, rejected=[(1, 2)], feedback={(3, 4): 0.5})
        some = [orgs[i].id for i in (0, 3, 17, 250, 499, 120)]
        part = suggest(orgs, links, rejected=[(1, 2)], feedback={(3, 4): 0.5}, only=some)
        assert list(part) == some
        for oid in some:
            assert part[oid] == full[oid]

    def test_unknown_only_id(self):
        with pytest.raises(UnknownOrganisationError):
            suggest([org("A")], [], only=["nope"])

    def test_calibrate_then_refresh_without_recalibrating(self, network):
        orgs, links = network
        learned = calibrate(orgs, links)
        assert not learned.calibrate
        for name in (
            "complementarity_weight",
            "structure_weight",
            "geography_weight",
            "kind_weight",
        ):
            assert 0 <= getattr(learned, name) <= CFG.calibration_max_weight
        assert suggest(orgs, links, config=learned) == suggest(orgs, links)


class TestInputs:
    def test_inputs_are_not_mutated(self, network):
        orgs = [
            org("A", offers={"shuttle"}, needs={"childcare"}),
            org("B", km=1, offers={"childcare"}),
            org("C", km=2),
        ]
        links = [("A", "C")]
        rejected = [("B", "C")]
        feedback = {("A", "B"): 0.5}
        before = copy.deepcopy((orgs, links, rejected, feedback))
        suggest(orgs, links, rejected=rejected, feedback=feedback)
        assert (orgs, links, rejected, feedback) == before
        synthetic_orgs, synthetic_links = network
        snapshot = copy.deepcopy(synthetic_links)
        suggest(synthetic_orgs, synthetic_links)
        assert synthetic_links == snapshot

    def test_dataclasses_and_collaboration_objects(self):
        orgs, links = generate_network(150, seed=2)
        from_objects = suggest(orgs, links)
        as_dicts = [
            {
                f: getattr(o, f)
                for f in ("id", "kind", "ags", "lat", "lon", "offers", "needs", "name")
            }
            for o in orgs
        ]
        from_dicts = suggest(as_dicts, [(c.source, c.target) for c in links])
        assert from_objects == from_dicts
        assert any(s.reasons for items in from_objects.values() for s in items)

    @pytest.mark.parametrize("ids", [[("x", 1), ("y", 2), ("z", 3)], [10, "ten", 10.5]])
    def test_any_hashable_ids(self, ids):
        orgs = [org(i, km=n) for n, i in enumerate(ids)]
        result = suggest(orgs, [(ids[0], ids[1])])
        assert list(result) == ids
        assert targets(result, ids[0]) == [ids[2]]

    def test_names_appear_in_reasons(self):
        orgs = [
            org(1, needs={"childcare"}, name="Praxis Dr. Albers"),
            org(2, km=1, offers={"childcare"}, name="Kita Sonnenschein"),
        ]
        ab = pair(suggest(orgs, []), 1, 2)
        assert ab.texts()[1 if ab.reasons[0].code == "distance" else 0] == (
            "Praxis Dr. Albers braucht Kinderbetreuung, Kita Sonnenschein bietet es an"
        )

    @pytest.mark.parametrize(
        ("orgs", "links", "error"),
        [
            ([org("A"), org("A", km=1)], [], InvalidOrganisationError),
            ([{"kind": "gp_practice", "lat": 52, "lon": 7}], [], InvalidOrganisationError),
            ([org("A") | {"lat": float("nan")}], [], InvalidOrganisationError),
            ([org("A") | {"lat": None}], [], InvalidOrganisationError),
            ([org("A") | {"offers": "telemedicine"}], [], InvalidOrganisationError),
            ([org("A")], [("A", "B")], UnknownOrganisationError),
            ([org("A")], [("A",)], InvalidOrganisationError),
        ],
    )
    def test_bad_input_raises(self, orgs, links, error):
        with pytest.raises(error) as info:
            suggest(orgs, links)
        assert isinstance(info.value, MatchingError) and info.value.text()

    @pytest.mark.parametrize("k", [-1, 2.5, "10", True])
    def test_bad_k(self, k):
        with pytest.raises(SuggestionError):
            suggest([org("A")], [], k=k)

    def test_bad_config(self):
        with pytest.raises(InvalidSuggestionConfigError):
            SuggestionConfig(structure_index="katz")
        with pytest.raises(InvalidSuggestionConfigError):
            SuggestionConfig(kind_compatibility={("a", "b"): 0.5, ("b", "a"): 0.6})
        with pytest.raises(InvalidSuggestionConfigError):
            SuggestionConfig(reach_km={"hospital": 0})
        with pytest.raises(InvalidSuggestionConfigError):
            suggest([org("A")], [], config={"k": 1})


class TestFingerprint:
    a = {"id": 1, "kind": "gp_practice", "offers": {"childcare"}, "needs": {"shuttle"}}
    b = {"id": 2, "kind": "sme", "offers": ["shuttle", "housing:staff"], "needs": set()}

    def test_stable_and_order_independent(self):
        fp = pair_fingerprint(self.a, self.b)
        assert fp == pair_fingerprint(self.b, self.a)
        reordered = {**self.b, "offers": ["housing:staff", "shuttle"]}
        assert pair_fingerprint(self.a, reordered) == fp
        assert len(fp) == 32 and int(fp, 16) >= 0

    def test_changes_iff_offers_or_needs_change(self):
        fp = pair_fingerprint(self.a, self.b)
        assert pair_fingerprint({**self.a, "kind": "mvz", "name": "x", "lat": 1}, self.b) == fp
        assert pair_fingerprint({**self.a, "offers": {"childcare", "therapy"}}, self.b) != fp
        assert pair_fingerprint(self.a, {**self.b, "needs": {"marketing"}}) != fp
        # Moving a tag from offers to needs is a change too.
        assert (
            pair_fingerprint({**self.a, "offers": set(), "needs": {"shuttle", "childcare"}}, self.b)
            != fp
        )

    def test_objects(self):
        orgs, _ = generate_network(5, seed=1)
        as_dict = {"offers": orgs[0].offers, "needs": orgs[0].needs}
        assert pair_fingerprint(orgs[0], orgs[1]) == pair_fingerprint(as_dict, orgs[1])


class TestReasonText:
    @pytest.mark.parametrize(
        ("code", "params", "de", "en"),
        [
            ("distance", {"km": 14.2}, "14 km entfernt", "14 km apart"),
            ("distance", {"km": 0.04}, "weniger als 100 m entfernt", "less than 100 m apart"),
            (
                "common_partners",
                {"partners": ["C", "D", "E"], "count": 4},
                "beide arbeiten mit C, D, E und 1 weiteren zusammen",
                "both work with C, D, E and 1 more",
            ),
            (
                "cross_municipal",
                {"from": "Rheine", "to": "Emsdetten"},
                "verbindet Rheine und Emsdetten",
                "connects Rheine and Emsdetten",
            ),
            (
                "kind_fit",
                {"kind_a": "gp_practice", "kind_b": "gp_practice", "fit": 0.5, "lift": 2.34},
                "Einrichtungen der Art Hausarztpraxis arbeiten im Netzwerk 2,3-mal so oft "
                "zusammen wie im Durchschnitt",
                "organisations of the kind GP practice work together 2.3 times as often as "
                "average in the network",
            ),
        ],
    )
    def test_render(self, code, params, de, en):
        assert reason_text(code, params) == de == Reason(code, params).text()
        assert reason_text(code, params, "en") == en

    def test_unknown_code_or_missing_params(self):
        with pytest.raises(UnknownReasonError):
            reason_text("vibes", {})
        with pytest.raises(UnknownReasonError):
            reason_text("need_met", {"needer": "A"})

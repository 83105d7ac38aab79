"""Coverage of the five mandatory nursing placements (PflAPrV Anlage 7)."""

from __future__ import annotations

import copy

import networkx as nx
import pytest

from network.graph import (
    Collaboration,
    Coverage,
    InvalidInputError,
    OrgNode,
    build_graph,
    coverage_summary,
    placement_coverage,
)
from network.reference import load_nursing_placements
from network.vocabulary import PLACEMENT_TAGS

ACUTE, LONGTERM, AMBULATORY, PAEDIATRIC, PSYCHIATRIC = PLACEMENT_TAGS
KM = 1 / 111.2  # degrees of latitude per km (on a meridian)
RHEINE = "05566076"


def north(km: float) -> tuple[float, float]:
    return 52.0 + km * KM, 7.4


def network(extra_orgs=(), extra_edges=()):
    """A care home offering long-term care; partners: a hospital 10 km north (acute), a
    paediatric practice 50 km north, a pharmacy 5 km north (no placements)."""
    organisations = [
        OrgNode("care", "care_home", "Haus Ems", RHEINE, *north(0), offers={LONGTERM}),
        OrgNode("hospital", "hospital", "Klinikum", RHEINE, *north(10), offers={ACUTE}),
        OrgNode(
            "kids", "specialist_practice", "Kinderarzt", RHEINE, *north(50), offers={PAEDIATRIC}
        ),
        OrgNode("pharmacy", "pharmacy", "Apotheke", RHEINE, *north(5)),
        *extra_orgs,
    ]
    collaborations = [
        Collaboration("care", "hospital", "training"),
        Collaboration("care", "kids", "training"),
        Collaboration("care", "pharmacy", "cooperation"),
        *extra_edges,
    ]
    return build_graph(organisations, collaborations)


class TestPlacementCoverage:
    def test_own_partner_and_too_far(self):
        coverage = placement_coverage(network(), reach_km=30)
        care = coverage["care"]
        assert care.own == {LONGTERM}
        assert care.via_partners == {ACUTE: ["hospital"]}
        assert care.missing == {AMBULATORY, PAEDIATRIC, PSYCHIATRIC}
        assert care.distances_km["hospital"] == pytest.approx(10.0, abs=0.05)
        assert not care.complete

    def test_longer_reach_reaches_the_paediatric_partner(self):
        care = placement_coverage(network(), reach_km=60)["care"]
        assert care.via_partners == {ACUTE: ["hospital"], PAEDIATRIC: ["kids"]}
        assert care.missing == {AMBULATORY, PSYCHIATRIC}

    def test_providers_only(self):
        coverage = placement_coverage(network())
        # The hospital is a provider too; the practice and the pharmacy are not.
        assert list(coverage) == ["care", "hospital"]
        assert coverage["hospital"].own == {ACUTE}
        assert coverage["hospital"].via_partners == {LONGTERM: ["care"]}

    def test_training_tag_makes_a_provider(self):
        rehab = OrgNode(
            "rehab", "rehab_clinic", "Reha", RHEINE, *north(1), offers={"training:nursing"}
        )
        coverage = placement_coverage(network(extra_orgs=[rehab]))
        assert "rehab" in coverage
        assert coverage["rehab"].missing == set(PLACEMENT_TAGS)

    def test_inactive_collaborations_do_not_count(self):
        home_care = OrgNode(
            "home", "ambulatory_care", "Pflegedienst", RHEINE, *north(2), offers={AMBULATORY}
        )
        ended = Collaboration("care", "home", "training", status="ended")
        care = placement_coverage(network([home_care], [ended]))["care"]
        assert AMBULATORY in care.missing

    def test_nearest_partner_first(self):
        far = OrgNode("far", "hospital", "Klinik Süd", RHEINE, *north(25), offers={ACUTE})
        near = OrgNode("near", "hospital", "Klinik Nord", RHEINE, *north(3), offers={ACUTE})
        care = placement_coverage(
            network(
                [far, near],
                [
                    Collaboration("care", "far", "training"),
                    Collaboration("care", "near", "training"),
                ],
            )
        )["care"]
        assert care.via_partners[ACUTE] == ["near", "hospital", "far"]

    def test_partner_without_coordinates_is_not_in_reach(self):
        G = nx.Graph([("care", "x")])
        nx.set_node_attributes(
            G,
            {
                "care": {"kind": "care_home", "lat": 52.0, "lon": 7.0},
                "x": {"kind": "hospital", "offers": {ACUTE}, "lat": None, "lon": None},
            },
        )
        assert placement_coverage(G)["care"].missing == set(PLACEMENT_TAGS)

    def test_placement_tags_are_the_mandatory_areas_of_the_reference(self):
        mandatory = {
            p.tag
            for p in load_nursing_placements()
            if p.section in {"II.1", "II.2", "II.3", "III", "IV"}
        }
        assert mandatory == set(PLACEMENT_TAGS)

    def test_reasons_german_and_english(self):
        reasons = placement_coverage(network())["care"].reasons()
        assert [r.code for r in reasons] == ["via_partner", "own", "missing", "missing", "missing"]
        assert reasons[0].params["partners"] == ("hospital",)
        assert reasons[0].text() == (
            "Praxiseinsatz stationäre Akutpflege: über 1 Partner im Umkreis von 30 km (hospital)."
        )
        assert (
            reasons[1].text("en")
            == "Placement: inpatient long-term care: offered by the provider itself."
        )

    def test_as_dict(self):
        data = placement_coverage(network())["care"].as_dict()
        assert data["own"] == [LONGTERM]
        assert data["missing"] == [AMBULATORY, PAEDIATRIC, PSYCHIATRIC]

    def test_summary(self):
        coverage = placement_coverage(network())
        summary = coverage_summary(coverage)
        assert summary["providers"] == 2
        assert summary["complete"] == 0
        assert summary["missing_by_tag"][PSYCHIATRIC] == 2
        assert summary["own_by_tag"][ACUTE] == 1
        assert summary["via_partners_by_tag"][LONGTERM] == 1
        complete = Coverage(set(PLACEMENT_TAGS), {}, set())
        assert coverage_summary({"x": complete})["complete"] == 1

    def test_graph_not_mutated(self):
        G = network()
        before = copy.deepcopy((list(G.nodes(data=True)), list(G.edges(keys=True, data=True))))
        placement_coverage(G)
        assert (list(G.nodes(data=True)), list(G.edges(keys=True, data=True))) == before

    @pytest.mark.parametrize("reach", [-1, "far", None])
    def test_bad_reach(self, reach):
        with pytest.raises(InvalidInputError):
            placement_coverage(network(), reach_km=reach)

"""The shipped reference data is complete and consistent with its SOURCES.md."""

from network.reference import (
    load_boundaries,
    load_hospitals,
    load_municipalities,
    load_nursing_placements,
    load_professions,
)
from network.vocabulary import MODEL_REGIONS, PLACEMENT_TAGS, TAGS


def test_66_municipalities_with_real_keys():
    places = load_municipalities()
    assert len(places) == 66
    by_ags = {m.ags: m for m in places}
    assert by_ags["05515000"].name == "Münster"
    assert by_ags["05566076"].name == "Rheine"
    assert by_ags["05566040"].name == "Lengerich"  # not 05566052, which is Metelen
    assert sum(m.population for m in places if m.kreis_ags == "05566") == 443_690


def test_model_regions_are_real_municipalities():
    by_ags = {m.ags: m for m in load_municipalities()}
    for slug, (_name, members) in MODEL_REGIONS.items():
        for ags in members:
            assert by_ags[ags].model_region == slug
    assert {by_ags[a].name for a in MODEL_REGIONS["ladbergen-lengerich-lienen-tecklenburg"][1]} == {
        "Ladbergen",
        "Lengerich",
        "Lienen",
        "Tecklenburg",
    }


def test_hospitals_lie_in_known_municipalities():
    known = {m.ags for m in load_municipalities()}
    hospitals = load_hospitals()
    assert len(hospitals) == 51
    assert all(h.ags in known for h in hospitals)


def test_boundaries_match_municipalities():
    features = load_boundaries()["features"]
    assert {f["properties"]["ags"] for f in features} == {m.ags for m in load_municipalities()}


def test_placement_vocabulary_matches_pflaprv():
    placements = load_nursing_placements()
    assert sum(p.hours for p in placements) == 2500
    assert set(PLACEMENT_TAGS) <= {p.tag for p in placements}
    assert all(p.tag in TAGS for p in placements)
    assert any(p.code == "pflegefachperson" for p in load_professions())

"""Degree of supply, thresholds, planning CSV validation and recommendation fit (pure code)."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

from network.supply import analysis
from network.supply.analysis import (
    AreaFigures,
    Baseline,
    Gap,
    RecommendationInfo,
    SupplyError,
    detect_gaps,
    fit_recommendations,
    parse_planning_csv,
    supply_degree,
    supply_status,
)
from network.vocabulary import PLACEMENT_TAGS

OELDE = "05570028"
LENGERICH = "05566040"
KNOWN = {OELDE, LENGERICH, "05566032"}
HEADER = "planning_area,specialty,physicians_fte,inhabitants,as_of,source,ags,ratio\n"


def test_module_is_pure():
    tree = ast.parse(Path(analysis.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "flask_babel", "sqlalchemy", "werkzeug", "wtforms", "jinja2"}


def test_docstring_examples():
    result = doctest.testmod(analysis)
    assert result.attempted > 10 and result.failed == 0


class TestSupplyDegree:
    def test_worked_example_from_the_issue(self):
        # 10 GP FTE for 20,000 inhabitants at 1:1,609 → 20,000 / 1,609 = 12.43 needed → 80.45 %
        assert supply_degree(10, 20_000, 1_609) == pytest.approx(80.45)
        assert supply_degree(
            10, 20_000, analysis.SPECIALTY_RATIOS["hausaerzte"].ratio
        ) == pytest.approx(80.45)

    def test_exactly_required_physicians_is_100_percent(self):
        assert supply_degree(12.5, 20_112.5, 1_609) == pytest.approx(100.0)

    def test_zero_physicians(self):
        assert supply_degree(0, 5_000, 1_609) == 0.0

    @pytest.mark.parametrize(
        ("fte", "inhabitants", "ratio"),
        [(-1, 1000, 1609), (1, 0, 1609), (1, -5, 1609), (1, 1000, 0), (float("nan"), 1000, 1609)],
    )
    def test_refuses_impossible_values(self, fte, inhabitants, ratio):
        with pytest.raises(SupplyError):
            supply_degree(fte, inhabitants, ratio)


class TestThresholds:
    @pytest.mark.parametrize(
        ("degree", "status"),
        [
            (0.0, "under"),
            (74.99, "under"),
            (75.0, "normal"),
            (80.45, "normal"),
            (109.99, "normal"),
            (110.0, "over"),
            (131.2, "over"),
        ],
    )
    def test_gp_boundaries(self, degree, status):
        assert supply_status(degree, "gp") == status

    @pytest.mark.parametrize(
        ("degree", "status"),
        [(49.99, "under"), (50.0, "normal"), (74.0, "normal"), (110.0, "over")],
    )
    def test_specialist_boundaries(self, degree, status):
        assert supply_status(degree, "specialist") == status

    def test_boundaries_reached_by_computation(self):
        # 7.5 FTE where 10 are needed is exactly 75 %: not under-supplied.
        assert supply_status(supply_degree(7.5, 16_090, 1_609)) == "normal"
        # 11 FTE where 10 are needed is exactly 110 %: over-supplied.
        assert supply_status(supply_degree(11, 16_090, 1_609)) == "over"
        assert supply_status(supply_degree(7.49, 16_090, 1_609)) == "under"

    def test_float_noise_at_the_threshold_does_not_flip_the_status(self):
        assert supply_status(74.99999999999999) == "normal"
        assert supply_status(109.99999999999999) == "over"

    def test_none_and_unknown_group(self):
        assert supply_status(None) is None
        with pytest.raises(SupplyError):
            supply_status(80.0, "dentists")


def test_per_10000():
    assert analysis.per_10000(3, 15_000) == pytest.approx(2.0)
    assert analysis.per_10000(3, 0) is None


class TestRatios:
    def test_default_ratio_applies_without_a_given_one(self):
        assert analysis.ratio_for("hausaerzte") == 1609
        assert analysis.ratio_for("hausaerzte", None) == 1609

    def test_given_ratio_wins(self):
        assert analysis.ratio_for("hausaerzte", 1581) == 1581
        assert analysis.group_of("hausaerzte") == "gp"

    def test_specialists_need_their_ratio(self):
        assert analysis.ratio_for("augenaerzte") is None
        assert analysis.ratio_for("augenaerzte", 20840) == 20840
        assert analysis.group_of("augenaerzte") == "specialist"


class TestPlanningCsv:
    def test_good_rows_with_semicolons_decimal_comma_and_lost_leading_zero(self):
        text = (
            "Planungsbereich;Arztgruppe;Aerzte_VZA;Einwohner;Stand;Quelle;Gemeinden\n"
            'MB Oelde;Hausärzte;"10,0";20.000;01.07.2024;KVWL Bedarfsplan;5570028\n'
        )
        result = parse_planning_csv(text, KNOWN)
        assert result.problems == ()
        [row] = result.rows
        assert (row.planning_area, row.specialty, row.inhabitants, row.as_of, row.ags) == (
            "MB Oelde",
            "hausaerzte",
            20_000,
            "2024-07-01",
            (OELDE,),
        )
        assert row.degree == pytest.approx(80.45)

    def test_each_bad_value_is_reported_with_line_and_column(self):
        text = HEADER + (
            "A,hausaerzte,10,20000,2024-01-01,KVWL,05570028,\n"
            ",zahnaerzte,-1,zwanzig,2024-13-01,,0557002X 05999999,\n"
            "C,augenaerzte,3,90000,2024-01-01,KVWL,05566040,\n"
            "D,augenaerzte,3,90000,2024-01-01,KVWL,05566040 05566032,20000\n"
        )
        result = parse_planning_csv(text, KNOWN)
        assert [r.planning_area for r in result.rows] == ["A", "D"]
        found = {(p.line, p.field, p.code) for p in result.problems}
        assert found == {
            (3, "planning_area", "required"),
            (3, "specialty", "unknown_specialty"),
            (3, "physicians_fte", "negative"),
            (3, "inhabitants", "not_an_integer"),
            (3, "as_of", "bad_date"),
            (3, "source", "required"),
            (3, "ags", "bad_ags"),
            (3, "ags", "unknown_ags"),
            (4, "ratio", "ratio_required"),
        }
        assert result.rejected_lines == 2
        texts = {p.code: p.text() for p in result.problems}
        assert "05999999" in texts["unknown_ags"]
        assert "ratio" in texts["ratio_required"]
        assert "Arztgruppe" in texts["unknown_specialty"]
        assert "physician group" in next(
            p for p in result.problems if p.code == "unknown_specialty"
        ).text("en")

    def test_duplicates_in_one_file_are_refused(self):
        text = (
            HEADER
            + "A,hausaerzte,10,20000,2024-01-01,KVWL,05570028,\n"
            + "a,hausaerzte,11,20000,2024-01-01,KVWL,05570028,\n"
        )
        result = parse_planning_csv(text, KNOWN)
        assert len(result.rows) == 1
        [problem] = result.problems
        assert (problem.line, problem.code, problem.params["first"]) == (3, "duplicate", 2)

    def test_missing_columns_refuse_the_file(self):
        result = parse_planning_csv("planning_area,specialty\nA,hausaerzte\n", KNOWN)
        assert result.rows == ()
        [problem] = result.problems
        assert problem.code == "missing_columns" and "physicians_fte" in problem.text()

    def test_empty_file(self):
        assert parse_planning_csv("\n\n", KNOWN).problems[0].code == "empty"

    def test_blank_lines_are_skipped_and_line_numbers_stay_true(self):
        text = HEADER + "\nA,hausaerzte,x,20000,2024-01-01,KVWL,05570028,\n"
        [problem] = parse_planning_csv(text, KNOWN).problems
        assert problem.line == 3


def test_latest_figure_per_municipality_prefers_newest_then_lowest():
    figures = [
        {
            "planning_area": "A",
            "specialty": "hausaerzte",
            "physicians_fte": 10,
            "inhabitants": 20_000,
            "as_of": "2023-01-01",
            "municipalities": [OELDE],
        },
        {
            "planning_area": "A",
            "specialty": "hausaerzte",
            "physicians_fte": 14,
            "inhabitants": 20_000,
            "as_of": "2024-01-01",
            "municipalities": [OELDE],
        },
        {
            "planning_area": "B",
            "specialty": "hausaerzte",
            "physicians_fte": 5,
            "inhabitants": 20_000,
            "as_of": "2024-01-01",
            "municipalities": [OELDE, LENGERICH],
        },
        {
            "planning_area": "C",
            "specialty": "augenaerzte:20000",
            "physicians_fte": 1,
            "inhabitants": 90_000,
            "as_of": "2025-01-01",
            "municipalities": [OELDE],
        },
    ]
    latest = analysis.latest_figures(figures)
    assert latest[OELDE]["planning_area"] == "B" and latest[OELDE]["status"] == "under"
    assert latest[LENGERICH]["degree"] == pytest.approx(40.225)


def _area(**fields):
    defaults = dict(
        key=OELDE,
        name="Oelde",
        level="municipality",
        population=29_000,
        providers_by_kind={"gp_practice": 6, "care_home": 3, "hospital": 1},
        nursing_trainers=2,
        placement_types=frozenset(PLACEMENT_TAGS),
        nearest_hospital_km=3.0,
        urbanisation_degree=2,
        area_km2=102.0,
    )
    defaults.update(fields)
    return AreaFigures(**defaults)


REGION = Baseline(providers_per_10k=3.0, open_positions_per_10k=1.0, trainees_per_10k=1.0)


class TestGaps:
    def test_a_well_served_municipality_has_no_gap(self):
        assert detect_gaps(_area(), REGION) == ()

    def test_under_supplied_gp_area(self):
        gaps = detect_gaps(
            _area(
                gp_degree=70.0,
                gp_status="under",
                gp_planning_area="MB Oelde",
                gp_as_of="2024-01-01",
            ),
            REGION,
        )
        assert [g.code for g in gaps] == ["gp_under_supply"]
        assert "70,0 %" in gaps[0].text() and "MB Oelde" in gaps[0].text()
        assert "70.0 %" in gaps[0].text("en")

    def test_75_percent_is_tight_not_under_supplied(self):
        gaps = detect_gaps(_area(gp_degree=75.0, gp_status="normal"), REGION)
        assert [g.code for g in gaps] == ["gp_tight"]

    def test_missing_training_and_placements(self):
        gaps = detect_gaps(
            _area(nursing_trainers=0, placement_types=frozenset({"placement:ambulatory"})), REGION
        )
        codes = {g.code for g in gaps}
        assert codes == {"no_nursing_training", "missing_placements"}
        missing = next(g for g in gaps if g.code == "missing_placements")
        assert missing.params["count"] == 4 and missing.severity == pytest.approx(0.8)

    def test_low_density_remote_and_no_gp(self):
        area = _area(providers_by_kind={"pharmacy": 1}, population=20_000, nearest_hospital_km=24.0)
        codes = {g.code for g in detect_gaps(area, REGION)}
        assert codes == {"low_provider_density", "remote", "no_gp_registered"}

    def test_rural_area_counts_as_remote(self):
        [gap] = detect_gaps(
            _area(nearest_hospital_km=8.0, urbanisation_degree=3, area_km2=140.0), REGION
        )
        assert gap.code == "remote" and "140" in gap.text()

    def test_many_open_positions_and_few_trainees(self):
        area = _area(open_positions=12, training_places=4, trainees=0)
        codes = {g.code for g in detect_gaps(area, REGION)}
        assert codes == {"many_open_positions", "few_trainees"}


class TestFit:
    LIBRARY = [
        RecommendationInfo(1, frozenset({"gp_succession"}), "high"),
        RecommendationInfo(2, frozenset({"telemedicine"}), "high"),
        RecommendationInfo(3, frozenset({"nursing_recruitment", "networking"}), "medium"),
        RecommendationInfo(4, frozenset({"mobility"}), "low"),
        RecommendationInfo(5, frozenset({"childcare"}), "low"),
    ]

    def test_under_supplied_gp_area_gets_succession_then_telemedicine(self):
        gap = Gap("gp_under_supply", 0.6, {"degree": 70.0, "area": "A", "as_of": "2024-01-01"})
        fits = fit_recommendations([gap], self.LIBRARY)
        assert [(f.recommendation_id, f.score) for f in fits] == [(1, 0.6), (2, 0.48), (3, 0.23)]
        rec_id, score, reasons = fits[0]
        assert (rec_id, score, reasons) == (1, 0.6, (gap,))

    def test_missing_placements_bring_nursing_recruitment_first(self):
        gaps = detect_gaps(_area(nursing_trainers=0, placement_types=frozenset()), REGION)
        fits = fit_recommendations(gaps, self.LIBRARY)
        assert fits[0].recommendation_id == 3
        assert {g.code for g in fits[0].reasons} == {"no_nursing_training", "missing_placements"}
        assert 4 in [f.recommendation_id for f in fits]  # placements far away: mobility helps too
        assert 5 not in [f.recommendation_id for f in fits]

    def test_remote_municipality_gets_mobility(self):
        gaps = detect_gaps(_area(nearest_hospital_km=30.0), REGION)
        fits = fit_recommendations(gaps, self.LIBRARY)
        assert fits[0].recommendation_id == 4
        assert "30 km" in fits[0].reasons[0].text()

    def test_a_focused_answer_to_the_weightiest_gap_beats_a_broad_one(self):
        placements = frozenset(
            {"placement:acute_inpatient", "placement:longterm_inpatient", "placement:ambulatory"}
        )
        area = _area(
            gp_degree=64.4, gp_status="under", nursing_trainers=0, placement_types=placements
        )
        gaps = detect_gaps(area, REGION)
        assert [g.code for g in gaps] == [
            "gp_under_supply",
            "no_nursing_training",
            "missing_placements",
        ]
        library = [
            RecommendationInfo(1, frozenset({"gp_succession"}), "medium"),
            RecommendationInfo(2, frozenset({"marketing", "networking"}), "low"),
        ]
        fits = fit_recommendations(gaps, library)
        assert [(f.recommendation_id, f.score) for f in fits] == [(1, 1.05), (2, 0.63)]
        assert [g.code for g in fits[1].reasons] == [
            "gp_under_supply",
            "missing_placements",
            "no_nursing_training",
        ]

    def test_low_effort_breaks_ties(self):
        gap = Gap("remote", 0.5, {"km": 20})
        library = [
            RecommendationInfo(9, frozenset({"mobility"}), "high"),
            RecommendationInfo(8, frozenset({"mobility"}), "low"),
        ]
        assert [f.recommendation_id for f in fit_recommendations([gap], library)] == [8, 9]

    def test_no_gap_no_suggestion_and_limit(self):
        assert fit_recommendations([], self.LIBRARY) == []
        gaps = detect_gaps(
            _area(gp_degree=60.0, gp_status="under", nursing_trainers=0, nearest_hospital_km=40.0),
            REGION,
        )
        assert len(fit_recommendations(gaps, self.LIBRARY, limit=2)) == 2
        assert len(fit_recommendations(gaps, self.LIBRARY, limit=None)) == 4
        with pytest.raises(SupplyError):
            fit_recommendations(gaps, self.LIBRARY, limit=-1)


def test_aggregate_keeps_the_worst_degree_and_sums_counts():
    a = _area(
        key="1", name="A", population=10_000, gp_degree=95.0, gp_planning_area="X", open_positions=2
    )
    b = _area(
        key="2", name="B", population=30_000, gp_degree=70.0, gp_planning_area="Y", open_positions=1
    )
    region = analysis.aggregate([a, b], "r", "A–B", "model_region")
    assert region.population == 40_000
    assert region.open_positions == 3
    assert region.providers == 20
    assert (region.gp_degree, region.gp_planning_area) == (70.0, "Y")
    assert region.nearest_hospital_km is None


@pytest.mark.parametrize(
    ("as_of", "note", "expected"),
    [
        ("article 2019-05 (planning before the 2019 reform)", "", "pre_2019"),
        (
            "undated in stored copy (planning with 1 GP per 1,671 inhabitants, i.e. before the 2019 reform)",
            "",
            "pre_2019",
        ),
        ("Bedarfsplanungs-Richtlinie 2014 basis", "", "pre_2019"),
        ("undated in stored copy", "", "undated"),
        (
            "after the 2019 planning reform (article c. early 2020, date not in stored copy)",
            "",
            "dated",
        ),
        ("Bundesarztregister, end of 2019 (article 2020-04)", "", "dated"),
    ],
)
def test_fact_comparability_of_the_real_facts(as_of, note, expected):
    assert analysis.fact_comparability(as_of, note) == expected


def test_every_real_pre_2019_fact_is_recognised():
    from network.reference import load_gp_supply

    facts = load_gp_supply()
    pre = [f for f in facts if analysis.fact_comparability(f.as_of, f.note) == "pre_2019"]
    # The six 2019-05 degrees, Oelde's 1:1,671 figure and the five Versorgungsatlas 2014 counts.
    assert len(pre) == 12
    assert all("2019-05" in f.as_of or "1,671" in f.as_of or "2014" in f.as_of for f in pre)

"""Supply services: read the figures, import planning figures, manage recommendations.

The only writers of this area. They load rows, build plain data for
:mod:`network.supply.analysis`, persist, audit and commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from network.audit import record
from network.extensions import db
from network.i18n import current_language
from network.models import (
    CampaignPage,
    Municipality,
    Organisation,
    OrganisationTag,
    PlanningFigure,
    Position,
    Recommendation,
    SupplyFact,
    TraineeProfile,
)
from network.reference import load_hospitals
from network.supply import analysis
from network.vocabulary import MODEL_REGIONS, PLACEMENT_TAGS, RECOMMENDATION_TOPICS

__all__ = [
    "FIGURES",
    "EFFORTS",
    "GAP_CONDITIONS",
    "COLUMN_HELP",
    "TRAINING_POSITION_TYPES",
    "Figure",
    "SupplyOverview",
    "MunicipalityReport",
    "ImportReport",
    "overview",
    "municipality_report",
    "import_planning_figures",
    "planning_template_csv",
    "planning_rows",
    "delete_planning_figure",
    "specialty_table",
    "recommendation_library",
    "save_recommendation",
    "delete_recommendation",
    "recommendation_detail",
    "municipality_names",
]

Progress = Callable[[str, int, int], None]

#: Positions that are training offers (the rest are jobs).
TRAINING_POSITION_TYPES = ("apprenticeship", "placement")

EFFORTS: dict[str, Any] = {"low": _l("gering"), "medium": _l("mittel"), "high": _l("hoch")}

POPULATION_SOURCE = (
    "Zensus 2022 (15.05.2022), Statistische Ämter des Bundes und der Länder, dl-de/by-2-0"
)

_FACT_INDICATORS: dict[str, Any] = {
    "hausarzt_versorgungsgrad": _l("Versorgungsgrad Hausärzte"),
    "hausarzt_zulassung_gesperrt": _l(
        "Planungsbereich für neue Hausarztpraxen gesperrt (ab 110 %)"
    ),
    "hausaerzte_oberhalb_sperrgrenze": _l("Hausärzte oberhalb der Sperrgrenze"),
    "hausaerzte_je_100000_einwohner": _l("Hausärzte je 100.000 Einwohner"),
    "hausarzt_niederlassungsmoeglichkeiten": _l("Offene Hausarztsitze"),
}


#: The gap rules of :data:`analysis.GAP_RULES`, as the library page explains them.
GAP_CONDITIONS: dict[str, Any] = {
    "gp_under_supply": _l(
        "Hausärztlicher Versorgungsgrad unter 75 % (Unterversorgung wird geprüft)"
    ),
    "gp_tight": _l(
        "Hausärztlicher Versorgungsgrad von 75 % bis unter 90 % (nach Einschätzung der Krankenkassen beginnende Unterversorgung)"
    ),
    "no_gp_registered": _l(
        "Keine Hausarztpraxis und kein MVZ der Gemeinde im Netzwerk registriert"
    ),
    "no_nursing_training": _l(
        "Keine Organisation bietet Ausbildungsplätze Pflege an und kein Ausbildungsplatz ist offen"
    ),
    "missing_placements": _l(
        "Zwei oder mehr Pflichteinsätze der Pflegeausbildung bietet in der Gemeinde niemand an"
    ),
    "low_provider_density": _l(
        "Anbieter je 10.000 Einwohner unter der Hälfte des regionalen Medians"
    ),
    "remote": _l(
        "Nächstes Krankenhaus mehr als 15 km Luftlinie entfernt oder gering besiedelte Flächengemeinde (ab 100 km²)"
    ),
    "many_open_positions": _l(
        "Offene Stellen je 10.000 Einwohner mindestens das 1,5-Fache des regionalen Medians (ab 3 Stellen)"
    ),
    "few_trainees": _l(
        "Offene Ausbildungsplätze, aber Auszubildenden-Profile je 10.000 unter der Hälfte des Medians"
    ),
}

#: Meaning of each CSV column (the upload page's documentation).
COLUMN_HELP: dict[str, Any] = {
    "planning_area": _l("Planungsbereich, z. B. „Mittelbereich Oelde“"),
    "specialty": _l("Arztgruppe als Code (Tabelle unten), z. B. hausaerzte"),
    "physicians_fte": _l("Ärztinnen und Ärzte in Vollzeitäquivalenten, z. B. 24,5"),
    "inhabitants": _l("Einwohnerzahl des Planungsbereichs, die der Planung zugrunde liegt"),
    "as_of": _l("Stand der Zahlen, JJJJ-MM-TT oder TT.MM.JJJJ"),
    "source": _l("Quelle, z. B. „KVWL, Bedarfsplan, Stand …“"),
    "ags": _l(
        "Gemeindeschlüssel (AGS) der Gemeinden des Planungsbereichs, durch Leerzeichen oder | getrennt"
    ),
    "ratio": _l(
        "Einwohner je Arzt bei 100 %; Pflicht bei Arztgruppen ohne einheitliche Verhältniszahl"
    ),
}


@dataclass(frozen=True)
class Figure:
    """A figure that can colour the map: attribute of AreaFigures, label, unit, decimals."""

    code: str
    label: Any
    unit: str
    decimals: int
    coordinators_only: bool = False


FIGURES: tuple[Figure, ...] = (
    Figure("gp_degree", _l("Versorgungsgrad Hausärzte"), "%", 1),
    Figure("providers_per_10k", _l("Anbieter je 10.000 Einwohner"), "", 1),
    Figure("staff_per_10k", _l("Beschäftigte je 10.000 Einwohner"), "", 0),
    Figure("open_positions_per_10k", _l("Offene Stellen je 10.000 Einwohner"), "", 1),
    Figure(
        "training_places_per_10k", _l("Ausbildungs- und Praxisplätze je 10.000 Einwohner"), "", 1
    ),
    Figure("trainees_per_10k", _l("Auszubildende mit Profil je 10.000 Einwohner"), "", 1, True),
    Figure("population", _l("Einwohner"), "", 0),
)
FIGURE_CODES = {f.code for f in FIGURES}


@dataclass
class SupplyOverview:
    """Everything the public supply page shows."""

    municipalities: list[analysis.AreaFigures]
    model_regions: list[analysis.AreaFigures]
    kreise: list[analysis.AreaFigures]
    figures: list[Figure]
    selected: str
    map_data: dict[str, Any]
    planning: list[dict[str, Any]]
    chart: dict[str, Any]
    facts: dict[str, list[SupplyFact]]
    fact_labels: dict[str, Any]
    network_source: str
    synthetic: bool
    today: date


@dataclass
class MunicipalityReport:
    """A municipality's figures, the planning figures covering it and fitting recommendations."""

    municipality: Municipality
    figures: analysis.AreaFigures
    model_region: analysis.AreaFigures | None
    planning: list[dict[str, Any]]
    gaps: tuple[analysis.Gap, ...]
    suggestions: list[tuple[Recommendation, float, list[str]]]
    baseline: analysis.Baseline
    campaigns: list[CampaignPage]
    network_source: str
    synthetic: bool


@dataclass
class ImportReport:
    """What an upload of planning figures did: rows added and updated, lines refused and why."""

    created: int = 0
    updated: int = 0
    lines_read: int = 0
    problems: list[analysis.RowProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    @property
    def rejected_lines(self) -> int:
        return len({p.line for p in self.problems})


# --------------------------------------------------------------------------- figures


def _network_source(today: date) -> str:
    return str(
        _l(
            "Plattform Gesundheitsregion Münsterland: registrierte Organisationen, offene Stellen "
            "und Profile, Stand %(date)s; Einwohner: %(population)s",
            date=today.strftime("%d.%m.%Y"),
            population=POPULATION_SOURCE,
        )
    )


def _counts_by_ags() -> dict[str, dict[str, Any]]:
    """Per AGS: providers by kind, staff, open positions, training places, trainees, tags."""
    data: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "kinds": {},
            "staff": 0,
            "open_positions": 0,
            "training_places": 0,
            "trainees": 0,
            "nursing_trainers": 0,
            "placement_types": set(),
        }
    )
    rows = db.session.execute(
        sa.select(
            Organisation.ags,
            Organisation.kind,
            sa.func.count(Organisation.id),
            sa.func.coalesce(sa.func.sum(Organisation.staff_count), 0),
        ).group_by(Organisation.ags, Organisation.kind)
    )
    for ags, kind, count, staff in rows:
        data[ags]["kinds"][kind] = int(count)
        if kind in analysis.PROVIDER_KINDS:  # health-care staff, not the staff of companies
            data[ags]["staff"] += int(staff or 0)

    rows = db.session.execute(
        sa.select(
            Position.ags,
            Position.position_type,
            sa.func.count(Position.id),
            sa.func.coalesce(sa.func.sum(Position.seats), 0),
        )
        .where(Position.status == "open")
        .group_by(Position.ags, Position.position_type)
    )
    for ags, position_type, count, seats in rows:
        data[ags]["open_positions"] += int(count)
        if position_type in TRAINING_POSITION_TYPES:
            data[ags]["training_places"] += int(seats or 0)

    rows = db.session.execute(
        sa.select(TraineeProfile.home_ags, sa.func.count())
        .where(TraineeProfile.home_ags.is_not(None))
        .group_by(TraineeProfile.home_ags)
    )
    for ags, count in rows:
        data[ags]["trainees"] = int(count)

    offers = sa.select(
        Organisation.ags, OrganisationTag.tag, sa.func.count(sa.distinct(Organisation.id))
    ).join(OrganisationTag, OrganisationTag.organisation_id == Organisation.id)
    rows = db.session.execute(
        offers.where(
            OrganisationTag.direction == "offer",
            OrganisationTag.tag.in_(("training:nursing", *PLACEMENT_TAGS)),
        ).group_by(Organisation.ags, OrganisationTag.tag)
    )
    for ags, tag, count in rows:
        if tag == "training:nursing":
            data[ags]["nursing_trainers"] = int(count)
        else:
            data[ags]["placement_types"].add(tag)
    return data


def planning_rows() -> list[dict[str, Any]]:
    """Every uploaded planning figure as plain data with its degree and status."""
    rows = []
    for figure in db.session.scalars(
        sa.select(PlanningFigure).order_by(
            PlanningFigure.planning_area, PlanningFigure.specialty, PlanningFigure.as_of
        )
    ):
        code = figure.specialty
        ratio = analysis.ratio_for(code, figure.ratio)
        degree = (
            analysis.supply_degree(figure.physicians_fte, figure.inhabitants, ratio)
            if ratio and figure.inhabitants > 0
            else None
        )
        spec = analysis.SPECIALTY_RATIOS.get(code)
        rows.append(
            {
                "id": figure.id,
                "planning_area": figure.planning_area,
                "specialty": figure.specialty,
                "specialty_code": code,
                "specialty_label": spec.label(current_language()) if spec else code,
                "group": analysis.group_of(code),
                "physicians_fte": figure.physicians_fte,
                "inhabitants": figure.inhabitants,
                "as_of": figure.as_of,
                "source": figure.source,
                "municipalities": list(figure.municipalities),
                "ratio": ratio,
                "degree": degree,
                "status": analysis.supply_status(degree, analysis.group_of(code)),
            }
        )
    return rows


def _nearest_hospital_km(place: Municipality, hospitals: list[tuple[float, float]]) -> float | None:
    if not hospitals:
        return None
    return min(
        analysis.haversine_km(place.latitude, place.longitude, lat, lon) for lat, lon in hospitals
    )


def _municipal_figures() -> tuple[
    list[Municipality], list[analysis.AreaFigures], list[dict[str, Any]]
]:
    places = list(db.session.scalars(sa.select(Municipality).order_by(Municipality.name)))
    counts = _counts_by_ags()
    planning = planning_rows()
    latest = analysis.latest_figures(planning, "hausaerzte")
    hospitals = [(h.latitude, h.longitude) for h in load_hospitals() if h.kind == "hospital"]
    figures = []
    for place in places:
        c = counts.get(place.ags) or counts.default_factory()  # type: ignore[misc]
        area = analysis.AreaFigures(
            key=place.ags,
            name=place.name,
            level="municipality",
            population=place.population,
            providers_by_kind=dict(c["kinds"]),
            staff=c["staff"],
            open_positions=c["open_positions"],
            training_places=c["training_places"],
            trainees=c["trainees"],
            nursing_trainers=c["nursing_trainers"],
            placement_types=frozenset(c["placement_types"]),
            nearest_hospital_km=_nearest_hospital_km(place, hospitals),
            urbanisation_degree=place.urbanisation_degree,
            area_km2=place.area_km2,
            kreis=place.kreis,
        )
        figures.append(analysis.with_gp_figure(area, latest.get(place.ags)))
    return places, figures, planning


def _regions(places: list[Municipality], figures: list[analysis.AreaFigures]) -> tuple[list, list]:
    by_ags = {f.key: f for f in figures}
    model_regions = [
        analysis.aggregate([by_ags[a] for a in members if a in by_ags], slug, name, "model_region")
        for slug, (name, members) in MODEL_REGIONS.items()
        if any(a in by_ags for a in members)
    ]
    kreise: dict[str, list[analysis.AreaFigures]] = defaultdict(list)
    names: dict[str, str] = {}
    for place in places:
        kreise[place.kreis_ags].append(by_ags[place.ags])
        names[place.kreis_ags] = place.kreis
    kreis_rows = [
        analysis.aggregate(parts, k, names[k], "kreis") for k, parts in sorted(kreise.items())
    ]
    return model_regions, kreis_rows


def _has_synthetic() -> bool:
    return bool(
        db.session.scalar(
            sa.select(Organisation.id).where(Organisation.synthetic.is_(True)).limit(1)
        )
    )


def _figure_value(area: analysis.AreaFigures, code: str) -> float | None:
    value = getattr(area, code)
    return None if value is None else float(value)


def _map_data(
    figures: list[analysis.AreaFigures],
    visible: list[Figure],
    network_source: str,
    planning_source: str,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for figure in visible:
        values = {
            area.key: round(v, 3)
            for area in figures
            if (v := _figure_value(area, figure.code)) is not None
        }
        entry: dict[str, Any] = {
            "label": str(figure.label),
            "unit": figure.unit,
            "decimals": figure.decimals,
            "values": values,
            "source": planning_source if figure.code == "gp_degree" else network_source,
            # The legend sits on the map: a short form; the full source is printed below it.
            "legendSource": str(
                _l("Planungszahlen je Planungsbereich, Stand siehe Tabelle")
                if figure.code == "gp_degree"
                else _l(
                    "Plattformdaten, Stand %(date)s; Einwohner: Zensus 2022",
                    date=date.today().strftime("%d.%m.%Y"),
                )
            ),
        }
        if figure.code == "population":
            entry["source"] = POPULATION_SOURCE
            entry["legendSource"] = "Zensus 2022 (15.05.2022)"
        if figure.code == "gp_degree":
            # Class limits at the thresholds (just below, so 75.0 and 110.0 fall where the
            # guideline puts them: 75 % is not under-supplied, 110 % is over-supplied).
            entry["breaks"] = [74.9999, 89.9999, 109.9999]
            entry["palette"] = ["#b35806", "#fdb863", "#d8daeb", "#542788"]
            entry["statusLabels"] = {
                "under": str(_l("unter 75 %: Unterversorgung wird geprüft")),
                "over": str(_l("ab 110 %: überversorgt, gesperrt")),
            }
        data[figure.code] = entry
    return data


def _chart(planning: list[dict[str, Any]]) -> dict[str, Any]:
    """Degree over time per planning area and specialty, for Chart.js."""
    series: dict[str, dict[str, float]] = defaultdict(dict)
    for row in planning:
        if row["degree"] is None:
            continue
        series[f"{row['planning_area']} ({row['specialty_label']})"][row["as_of"]] = round(
            row["degree"], 1
        )
    labels = sorted({d for points in series.values() for d in points})
    return {
        "labels": labels,
        "datasets": [
            {"label": name, "data": [points.get(d) for d in labels]}
            for name, points in sorted(series.items())
        ],
        "thresholds": {
            "under": analysis.UNDER_SUPPLY_THRESHOLDS["gp"],
            "over": analysis.OVER_SUPPLY_THRESHOLD,
            "underLabel": str(_l("75 % (Unterversorgung Hausärzte)")),
            "overLabel": str(_l("110 % (Überversorgung)")),
        },
        "yLabel": str(_l("Versorgungsgrad in %")),
    }


def _facts() -> dict[str, list[SupplyFact]]:
    groups: dict[str, list[SupplyFact]] = {"dated": [], "undated": [], "pre_2019": []}
    for fact in db.session.scalars(
        sa.select(SupplyFact).order_by(SupplyFact.indicator, SupplyFact.region_name)
    ):
        groups[analysis.fact_comparability(fact.as_of, fact.note)].append(fact)
    return groups


def overview(figure: str | None = None, *, show_private: bool = False) -> SupplyOverview:
    """The figures per municipality, model region and Kreis, with map, chart and published facts.

    ``show_private`` adds the trainee figures (coordinators only: small counts of people).
    """
    places, figures, planning = _municipal_figures()
    model_regions, kreise = _regions(places, figures)
    visible = [f for f in FIGURES if show_private or not f.coordinators_only]
    today = date.today()
    network_source = _network_source(today)
    synthetic = _has_synthetic()
    if synthetic:
        network_source += " – " + str(_l("enthält synthetische Demodaten"))
    has_degree = any(f.gp_degree is not None for f in figures)
    codes = {f.code for f in visible}
    selected = figure if figure in codes else ("gp_degree" if has_degree else "providers_per_10k")
    planning_source = str(
        _l("Hochgeladene Planungszahlen; Quelle und Stand je Planungsbereich in der Tabelle")
    )
    return SupplyOverview(
        municipalities=figures,
        model_regions=model_regions,
        kreise=kreise,
        figures=visible,
        selected=selected,
        map_data={
            "selected": selected,
            "figures": _map_data(figures, visible, network_source, planning_source),
            "noData": str(_l("keine Daten")),
        },
        planning=planning,
        chart=_chart(planning),
        facts=_facts(),
        fact_labels=_FACT_INDICATORS,
        network_source=network_source,
        synthetic=synthetic,
        today=today,
    )


def _library_info() -> tuple[list[Recommendation], list[analysis.RecommendationInfo]]:
    recs = list(db.session.scalars(sa.select(Recommendation).order_by(Recommendation.id)))
    return recs, [analysis.RecommendationInfo(r.id, frozenset(r.topics), r.effort) for r in recs]


def municipality_report(ags: str) -> MunicipalityReport | None:
    """A municipality's figures with the recommendations that fit its gaps (``None``: unknown AGS)."""
    municipality = db.session.get(Municipality, ags)
    if municipality is None:
        return None
    places, figures, planning = _municipal_figures()
    by_ags = {f.key: f for f in figures}
    area = by_ags[ags]
    region_baseline = analysis.baseline(figures)
    gaps = analysis.detect_gaps(area, region_baseline)
    recs, infos = _library_info()
    by_id = {r.id: r for r in recs}
    language = current_language()
    suggestions = [
        (by_id[fit.recommendation_id], fit.score, [gap.text(language) for gap in fit.reasons])
        for fit in analysis.fit_recommendations(gaps, infos, limit=5)
    ]
    model_region = None
    if municipality.model_region:
        name, members = MODEL_REGIONS[municipality.model_region]
        model_region = analysis.aggregate(
            [by_ags[a] for a in members if a in by_ags],
            municipality.model_region,
            name,
            "model_region",
        )
    scope = sa.or_(CampaignPage.ags == ags, CampaignPage.kreis_ags == municipality.kreis_ags)
    if municipality.model_region:
        scope = sa.or_(scope, CampaignPage.model_region == municipality.model_region)
    campaigns = list(
        db.session.scalars(
            sa.select(CampaignPage)
            .where(CampaignPage.published.is_(True), scope)
            .order_by(CampaignPage.title)
        )
    )
    synthetic = _has_synthetic()
    network_source = _network_source(date.today())
    if synthetic:
        network_source += " – " + str(_l("enthält synthetische Demodaten"))
    return MunicipalityReport(
        municipality=municipality,
        figures=area,
        model_region=model_region,
        planning=[row for row in planning if ags in row["municipalities"]],
        gaps=gaps,
        suggestions=suggestions,
        baseline=region_baseline,
        campaigns=campaigns,
        network_source=network_source,
        synthetic=synthetic,
    )


# --------------------------------------------------------------------------- planning figures


def specialty_table(language: str | None = None) -> list[dict[str, Any]]:
    """The physician groups with ratio, threshold and source (documentation of the upload)."""
    language = language or current_language()
    return [
        {
            "code": spec.code,
            "label": spec.label(language),
            "ratio": spec.ratio,
            "group": spec.group,
            "under": analysis.UNDER_SUPPLY_THRESHOLDS[spec.group],
            "over": analysis.OVER_SUPPLY_THRESHOLD,
            "source": spec.source,
        }
        for spec in analysis.SPECIALTY_RATIOS.values()
    ]


def planning_template_csv() -> str:
    """An example file in the documented format (figures are placeholders, not real data)."""
    header = ",".join(name for name, _alias, _req, _doc in analysis.PLANNING_COLUMNS)
    return (
        header
        + "\n"
        + 'Beispiel-Planungsbereich A,hausaerzte,"24,5",41000,2025-01-01,'
        + '"Beispiel – bitte durch die Quelle ersetzen",05570028,\n'
        + "Beispiel-Planungsbereich B,augenaerzte,3,90000,2025-01-01,"
        + '"Beispiel – bitte durch die Quelle ersetzen",05566040 05566032,20000\n'
    )


def import_planning_figures(
    text: str, *, user_id: int | None = None, progress: Progress | None = None
) -> ImportReport:
    """Validate and store planning figures; good rows are kept even when others are refused.

    A row with the same planning area, specialty and date as a stored one replaces its values. Used by the upload page and by ``flask supply import-planning``.
    """
    report = progress or (lambda step, done, total: None)
    known = set(db.session.scalars(sa.select(Municipality.ags)))
    parsed = analysis.parse_planning_csv(text, known)
    result = ImportReport(lines_read=parsed.lines_read, problems=list(parsed.problems))
    total = len(parsed.rows)
    for done, row in enumerate(parsed.rows, start=1):
        existing = db.session.scalar(
            sa.select(PlanningFigure).where(
                PlanningFigure.planning_area == row.planning_area,
                PlanningFigure.specialty == row.specialty,
                PlanningFigure.as_of == row.as_of,
            )
        )
        figure = existing or PlanningFigure(
            planning_area=row.planning_area, specialty=row.specialty, as_of=row.as_of
        )
        figure.ratio = row.ratio
        figure.physicians_fte = row.physicians_fte
        figure.inhabitants = row.inhabitants
        figure.source = row.source
        figure.municipalities = list(row.ags)
        figure.uploaded_by_id = user_id
        db.session.add(figure)
        if existing is None:
            result.created += 1
        else:
            result.updated += 1
        report("planning figures", done, total)
    if result.imported or result.problems:
        record(
            "supply.planning_import",
            "planning_figure",
            "upload",
            actor_id=user_id,
            created=result.created,
            updated=result.updated,
            rejected_lines=result.rejected_lines,
        )
    db.session.commit()
    return result


def delete_planning_figure(figure: PlanningFigure, *, user_id: int | None) -> None:
    """Remove one uploaded planning figure (e.g. a wrong upload)."""
    record(
        "supply.planning_delete",
        "planning_figure",
        figure.id,
        actor_id=user_id,
        planning_area=figure.planning_area,
        specialty=figure.specialty,
        as_of=figure.as_of,
    )
    db.session.delete(figure)
    db.session.commit()


# --------------------------------------------------------------------------- recommendations


def recommendation_library(
    topic: str | None = None, effort: str | None = None
) -> list[Recommendation]:
    """The recommendations, optionally of one topic and/or effort, newest first."""
    query = sa.select(Recommendation).order_by(Recommendation.title)
    if effort in EFFORTS:
        query = query.where(Recommendation.effort == effort)
    recs = list(db.session.scalars(query))
    if topic in RECOMMENDATION_TOPICS:
        # Topics are a JSON list: filtering in Python works the same on SQLite and PostgreSQL,
        # and the library holds dozens, not thousands.
        recs = [r for r in recs if topic in r.topics]
    return recs


def recommendation_detail(rec: Recommendation) -> dict[str, Any]:
    """Where a recommendation currently fits: municipalities whose gaps it answers, best first."""
    places, figures, _planning = _municipal_figures()
    region_baseline = analysis.baseline(figures)
    info = [analysis.RecommendationInfo(rec.id, frozenset(rec.topics), rec.effort)]
    language = current_language()
    fits = []
    for area in figures:
        found = analysis.fit_recommendations(
            analysis.detect_gaps(area, region_baseline), info, limit=1
        )
        if found:
            fits.append((area, found[0].score, [g.text(language) for g in found[0].reasons]))
    fits.sort(key=lambda item: (-item[1], item[0].name))
    return {"fits": fits[:10]}


def save_recommendation(
    rec: Recommendation | None, data: dict[str, Any], *, user_id: int | None
) -> Recommendation:
    """Create (``rec`` is ``None``) or update a recommendation from form data."""
    created = rec is None
    if rec is None:
        rec = Recommendation(created_by_id=user_id)
        db.session.add(rec)
    rec.title = data["title"].strip()
    rec.summary = (data.get("summary") or "").strip()
    rec.body = (data.get("body") or "").strip()
    rec.topics = [t for t in data.get("topics") or [] if t in RECOMMENDATION_TOPICS]
    rec.effort = data.get("effort") if data.get("effort") in EFFORTS else "medium"
    rec.actors = (data.get("actors") or "").strip()
    rec.examples = (data.get("examples") or "").strip()
    db.session.flush()
    record(
        "supply.recommendation_create" if created else "supply.recommendation_update",
        "recommendation",
        rec.id,
        actor_id=user_id,
        title=rec.title,
    )
    db.session.commit()
    return rec


def delete_recommendation(rec: Recommendation, *, user_id: int | None) -> None:
    """Remove a recommendation from the library."""
    record(
        "supply.recommendation_delete", "recommendation", rec.id, actor_id=user_id, title=rec.title
    )
    db.session.delete(rec)
    db.session.commit()


def municipality_names() -> dict[str, str]:
    """AGS → name, for labelling planning areas."""
    return {
        ags: name
        for ags, name in db.session.execute(sa.select(Municipality.ags, Municipality.name))
    }

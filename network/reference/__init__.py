"""Real reference data of the Münsterland, shipped with the package.

The CSV and GeoJSON files in ``data/`` are copies of public sources; ``data/SOURCES.md`` gives each
file's origin, reference date and licence. This module only reads them: it imports nothing but the
standard library, so the pure domain packages and the benchmarks may use it too.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from network.vocabulary import model_region_of

__all__ = [
    "Municipality",
    "Hospital",
    "Profession",
    "NursingPlacement",
    "SupplyFact",
    "MUNICIPALITY_SOURCE",
    "HOSPITAL_SOURCE",
    "GEOJSON_ATTRIBUTION",
    "load_municipalities",
    "load_kreise",
    "load_hospitals",
    "load_professions",
    "load_nursing_placements",
    "load_gp_supply",
    "load_boundaries",
    "data_path",
]

MUNICIPALITY_SOURCE = (
    "Quelle: Statistisches Bundesamt (Destatis), Gemeindeverzeichnis GV-ISys, Stand 31.12.2021; "
    "Einwohner: Zensus 2022 (15.05.2022), Statistische Ämter des Bundes und der Länder; dl-de/by-2-0"
)
HOSPITAL_SOURCE = (
    "Quelle: Eurostat GISCO Healthcare services; Krankenhaus-Standortverzeichnis DKG/InEK, "
    "Stand 08.03.2020"
)
GEOJSON_ATTRIBUTION = "© GeoBasis-DE / BKG 2021, dl-de/by-2-0 (VG5000, Stand 01.01.2021)"


@dataclass(frozen=True, slots=True)
class Municipality:
    ags: str
    name: str
    name_official: str
    municipality_type: str
    kreis_ags: str
    kreis: str
    latitude: float
    longitude: float
    population: int
    population_date: str
    area_km2: float
    postcode: str
    urbanisation_degree: int
    model_region: str | None


@dataclass(frozen=True, slots=True)
class Hospital:
    facility_id: str
    display_name: str
    kind: str  # "hospital" or "day_clinic"
    psychiatry_hint: bool
    street: str
    house_number: str
    postcode: str
    ags: str
    latitude: float
    longitude: float
    ref_date: str


@dataclass(frozen=True, slots=True)
class Profession:
    code: str
    name_de: str
    name_en: str
    category: str
    duration_months: int | None
    typical_learning_sites: str
    legal_basis: str


@dataclass(frozen=True, slots=True)
class NursingPlacement:
    code: str
    section: str
    name_de: str
    name_en: str
    training_third: str
    hours: int
    eligible_institutions: str
    tag: str


@dataclass(frozen=True, slots=True)
class SupplyFact:
    region_type: str
    region_name: str
    kreis: str
    indicator: str
    value: str
    unit: str
    as_of: str
    source_url: str
    note: str


def data_path(name: str) -> Any:
    """A traversable path to one of the shipped data files."""
    return resources.files("network.reference").joinpath("data", name)


def _rows(name: str) -> list[dict[str, str]]:
    with data_path(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def load_municipalities() -> tuple[Municipality, ...]:
    """The 66 municipalities of the Münsterland, ordered by AGS."""
    return tuple(
        Municipality(
            ags=row["ags"],
            name=row["name"],
            name_official=row["name_official"],
            municipality_type=row["municipality_type"],
            kreis_ags=row["kreis_ags"],
            kreis=row["kreis"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            population=int(row["population"]),
            population_date=row["population_date"],
            area_km2=float(row["area_km2"]),
            postcode=row["postcode_admin"],
            urbanisation_degree=int(row["urbanisation_degree"]),
            model_region=model_region_of(row["ags"]),
        )
        for row in sorted(_rows("municipalities_muensterland.csv"), key=lambda r: r["ags"])
    )


@cache
def load_kreise() -> tuple[dict[str, str], ...]:
    """The five districts (rows of ``kreise_muensterland.csv``)."""
    return tuple(_rows("kreise_muensterland.csv"))


@cache
def load_hospitals() -> tuple[Hospital, ...]:
    """The 51 hospital sites of the register as of 2020-03-08."""
    return tuple(
        Hospital(
            facility_id=row["facility_id"],
            display_name=row["display_name"],
            kind=row["kind"],
            psychiatry_hint=row["psychiatry_hint"] == "yes",
            street=row["street"],
            house_number=row["house_number"],
            postcode=row["postcode"],
            ags=row["ags"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            ref_date=row["ref_date"],
        )
        for row in _rows("hospitals_muensterland.csv")
    )


@cache
def load_professions() -> tuple[Profession, ...]:
    """Training professions in health and care with their legal basis."""
    return tuple(
        Profession(
            code=row["code"],
            name_de=row["name_de"],
            name_en=row["name_en"],
            category=row["category"],
            duration_months=int(row["duration_months_fulltime"])
            if row["duration_months_fulltime"]
            else None,
            typical_learning_sites=row["typical_learning_sites"],
            legal_basis=row["legal_basis"],
        )
        for row in _rows("professions.csv")
    )


@cache
def load_nursing_placements() -> tuple[NursingPlacement, ...]:
    """Placement types of the generalist nursing training (PflAPrV Anlage 7)."""
    return tuple(
        NursingPlacement(
            code=row["code"],
            section=row["anlage7_section"],
            name_de=row["name_de"],
            name_en=row["name_en"],
            training_third=row["training_third"],
            hours=int(row["hours"]),
            eligible_institutions=row["eligible_institutions"],
            tag=row["suggested_tag"],
        )
        for row in _rows("nursing_placements.csv")
    )


@cache
def load_gp_supply() -> tuple[SupplyFact, ...]:
    """Published facts on GP supply planning (KVWL), each with source and date."""
    return tuple(
        SupplyFact(
            region_type=row["region_type"],
            region_name=row["region_name"],
            kreis=row["kreis"],
            indicator=row["indicator"],
            value=row["value"],
            unit=row["unit"],
            as_of=row["as_of"],
            source_url=row["source_url"],
            note=row["note"],
        )
        for row in _rows("gp_supply_muensterland.csv")
    )


@cache
def load_boundaries() -> dict[str, Any]:
    """Municipal boundaries as a GeoJSON FeatureCollection (for drawing, not for distances)."""
    with data_path("municipalities_muensterland.geojson").open(encoding="utf-8") as handle:
        return json.load(handle)

"""Plain-data view of an organisation's editable profile: snapshots, field diffs and merges.

Used by the edit form (what was the form based on?), the audit trail (what changed?) and the
conflict page (whose change wins?). Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

__all__ = [
    "FIELDS",
    "FIELD_LABELS",
    "TAG_FIELDS",
    "ProfileData",
    "snapshot",
    "normalise_snapshot",
    "diff",
    "merge_edits",
]

#: The editable fields in form order.
FIELDS: tuple[str, ...] = (
    "kind",
    "name",
    "street",
    "postcode",
    "ags",
    "latitude",
    "longitude",
    "contact_name",
    "contact_email",
    "phone",
    "website",
    "description",
    "services",
    "staff_count",
    "offers",
    "needs",
    "free_tags",
    "visibility",
)
TAG_FIELDS = ("offers", "needs")

FIELD_LABELS: dict[str, Any] = {
    "kind": _l("Art"),
    "name": _l("Name"),
    "street": _l("Straße und Hausnummer"),
    "postcode": _l("Postleitzahl"),
    "ags": _l("Gemeinde"),
    "latitude": _l("Breite (genauer Standort)"),
    "longitude": _l("Länge (genauer Standort)"),
    "contact_name": _l("Ansprechperson"),
    "contact_email": _l("E-Mail für Kontakt"),
    "phone": _l("Telefon"),
    "website": _l("Website"),
    "description": _l("Beschreibung"),
    "services": _l("Leistungen und Schwerpunkte"),
    "staff_count": _l("Beschäftigte"),
    "offers": _l("Wir bieten"),
    "needs": _l("Wir suchen"),
    "free_tags": _l("Weitere Schlagwörter"),
    "visibility": _l("Sichtbarkeit"),
    "synthetic": _l("Synthetische Demodaten"),
    "source": _l("Quelle"),
}


@dataclass(frozen=True)
class ProfileData:
    """The editable values of an organisation, normalised (the form and the import build it)."""

    kind: str
    name: str
    ags: str
    street: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None
    contact_name: str = ""
    contact_email: str = ""
    phone: str = ""
    website: str = ""
    description: str = ""
    services: str = ""
    staff_count: int | None = None
    offers: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    free_tags: str = ""
    visibility: str = "public"

    def as_snapshot(self) -> dict[str, Any]:
        """JSON-compatible values keyed by field (tags as sorted lists)."""
        values = {name: getattr(self, name) for name in FIELDS}
        for name in TAG_FIELDS:
            values[name] = sorted(values[name])
        return values

    @classmethod
    def from_snapshot(cls, values: Mapping[str, Any]) -> ProfileData:
        clean = normalise_snapshot(values)
        return cls(**{k: (frozenset(v) if k in TAG_FIELDS else v) for k, v in clean.items()})


def snapshot(org: Any) -> dict[str, Any]:
    """The editable values of an ``Organisation`` as plain data.

    The point is given only when it is exact; otherwise the municipality's centre is implied.
    """
    values: dict[str, Any] = {name: getattr(org, name) for name in FIELDS if name not in TAG_FIELDS}
    if not org.exact_location:
        values["latitude"] = values["longitude"] = None
    values["offers"] = sorted(org.offers)
    values["needs"] = sorted(org.needs)
    return normalise_snapshot(values)


def normalise_snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    """Fill missing fields and make values comparable (rounded coordinates, sorted tags)."""
    clean: dict[str, Any] = {}
    for name in FIELDS:
        value = values.get(name)
        if name in TAG_FIELDS:
            clean[name] = sorted({str(v) for v in (value or [])})
        elif name in ("latitude", "longitude"):
            try:
                clean[name] = None if value in (None, "") else round(float(value), 7)
            except (TypeError, ValueError):
                clean[name] = None
        elif name == "staff_count":
            try:
                clean[name] = None if value in (None, "") else int(value)
            except (TypeError, ValueError):
                clean[name] = None
        else:
            clean[name] = "" if value is None else str(value)
    if not clean["visibility"]:
        clean["visibility"] = "public"
    return clean


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field whose value differs (field order kept)."""
    old, new = normalise_snapshot(before), normalise_snapshot(after)
    return {name: [old[name], new[name]] for name in FIELDS if old[name] != new[name]}


def merge_edits(
    base: Mapping[str, Any] | None, current: Mapping[str, Any], mine: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Re-apply one user's edits (``base`` → ``mine``) on top of a newer ``current`` version.

    A field the user did not touch takes the current value; a field only the user changed keeps
    the user's value; offers and needs merge as sets (the user's additions and removals applied
    to the current set). Where both changed a field to different values the user's value is kept
    and the field is reported as a conflict, so nothing the user typed is lost.

    Parameters
    ----------
    base : mapping or None
        The values the user's form started from; ``None`` when unknown (then every submitted
        value counts as the user's change).
    current, mine : mapping
        The stored values now, and the values the user submitted.

    Returns
    -------
    (merged, conflicts) : (dict, list of str)

    Examples
    --------
    >>> base = {"kind": "mvz", "name": "A", "ags": "05566040", "offers": ["shuttle"]}
    >>> current = dict(base, name="A (neu)", offers=["shuttle", "childcare"])
    >>> mine = dict(base, phone="0541 1", offers=[])
    >>> merged, conflicts = merge_edits(base, current, mine)
    >>> merged["name"], merged["phone"], merged["offers"], conflicts
    ('A (neu)', '0541 1', ['childcare'], [])
    """
    now, wanted = normalise_snapshot(current), normalise_snapshot(mine)
    if base is None:
        return wanted, [name for name in FIELDS if now[name] != wanted[name]]
    start = normalise_snapshot(base)
    merged: dict[str, Any] = {}
    conflicts: list[str] = []
    for name in FIELDS:
        b, c, m = start[name], now[name], wanted[name]
        if name in TAG_FIELDS:
            removed, added = set(b) - set(m), set(m) - set(b)
            merged[name] = sorted((set(c) - removed) | added)
        elif m == b:
            merged[name] = c
        elif c in (b, m):
            merged[name] = m
        else:
            merged[name] = m
            conflicts.append(name)
    return merged, conflicts

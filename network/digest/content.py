"""What goes into one person's digest: a pure function of plain data.

:func:`build_digest` takes the recipient (:class:`Recipient`), the candidate facts
(:class:`DigestFacts`, loaded by :mod:`network.digest.services`) and the window
``(since, until]`` and returns a :class:`Digest` of sections. It decides three things the
database queries only approximate, so the rules live in one tested place:

1. *relevance by role* — coordinators see the review queue, new organisations and
   collaborations and notable changes of the network figures; providers see accepted
   introductions, applications to their own organisations and new organisations nearby that
   offer what they need; trainees see new positions for their saved searches and changes of
   their own applications; everyone sees new announcements;
2. *visibility* — organisations shown only to members are never in a digest of someone who is
   not a logged-in member of the platform; applications only reach the provider of that
   organisation or the applicant;
3. *novelty* — only what happened inside the window.

No Flask, no SQLAlchemy: the function is unit-tested with hand-made facts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from network.matching.geo import EARTH_RADIUS_KM, haversine_km

__all__ = [
    "NEARBY_KM",
    "MAX_ITEMS",
    "COORDINATOR_ROLES",
    "OwnOrganisation",
    "Recipient",
    "AnnouncementFact",
    "OrganisationFact",
    "CollaborationFact",
    "SuggestionFact",
    "ApplicationFact",
    "PositionFact",
    "NetworkFigures",
    "FigureChange",
    "NearbyOrganisation",
    "Introduction",
    "DigestFacts",
    "Section",
    "Digest",
    "build_digest",
    "may_see_organisation",
    "figure_changes",
]

#: New organisations count as "nearby" within this distance of one of the recipient's own.
NEARBY_KM = 25.0
#: At most this many entries per section; the rest is a count with a link.
MAX_ITEMS = 10
COORDINATOR_ROLES = frozenset({"coordinator", "admin"})
#: Application statuses a trainee hears about (their own withdrawal is not news to them).
REPORTED_APPLICATION_STATUSES = frozenset({"interview", "accepted", "rejected"})
#: A change of the cross-municipal share smaller than this (in percentage points) is noise.
SHARE_CHANGE_POINTS = 1.0


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class OwnOrganisation:
    """An organisation the recipient acts for (approved membership)."""

    id: int
    name: str
    latitude: float
    longitude: float
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    role: str
    language: str = "de"
    name: str = ""
    #: A confirmed, active account may see organisations whose visibility is "members".
    logged_in: bool = True
    organisations: tuple[OwnOrganisation, ...] = ()

    @property
    def organisation_ids(self) -> frozenset[int]:
        return frozenset(o.id for o in self.organisations)


@dataclass(frozen=True, slots=True)
class AnnouncementFact:
    id: int
    title: str
    created_at: datetime
    body: str = ""
    event_date: date | None = None
    location: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class OrganisationFact:
    id: int
    name: str
    kind: str
    created_at: datetime
    municipality: str = ""
    latitude: float = 0.0
    longitude: float = 0.0
    visibility: str = "public"
    offers: frozenset[str] = frozenset()
    url: str = ""


@dataclass(frozen=True, slots=True)
class CollaborationFact:
    id: int
    org_a_name: str
    org_b_name: str
    kind: str
    created_at: datetime
    cross_municipal: bool = False
    org_a_visibility: str = "public"
    org_b_visibility: str = "public"
    url: str = ""


@dataclass(frozen=True, slots=True)
class SuggestionFact:
    id: int
    org_a_id: int
    org_a_name: str
    org_b_id: int
    org_b_name: str
    status: str
    score: float = 0.0
    computed_at: datetime | None = None
    reviewed_at: datetime | None = None
    cross_municipal: bool = False
    reasons: tuple[str, ...] = ()
    url: str = ""

    def partner_of(self, organisation_ids: frozenset[int]) -> tuple[str, str]:
        """``(own name, partner name)`` as seen from one of ``organisation_ids``."""
        if self.org_a_id in organisation_ids:
            return self.org_a_name, self.org_b_name
        return self.org_b_name, self.org_a_name


@dataclass(frozen=True, slots=True)
class ApplicationFact:
    id: int
    position_title: str
    organisation_id: int
    organisation_name: str
    status: str
    created_at: datetime
    updated_at: datetime
    trainee_id: int | None = None
    applicant_name: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class PositionFact:
    id: int
    title: str
    organisation_name: str
    created_at: datetime
    position_type: str = ""
    profession: str = ""
    municipality: str = ""
    search_name: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class NetworkFigures:
    organisations: int
    collaborations: int
    cross_municipal: int

    @property
    def cross_municipal_share(self) -> float:
        """Share of collaborations that cross a municipal border, in percent."""
        return 100.0 * self.cross_municipal / self.collaborations if self.collaborations else 0.0


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """Candidate facts; anything outside the window or the recipient's view is dropped here."""

    announcements: Sequence[AnnouncementFact] = ()
    organisations: Sequence[OrganisationFact] = ()
    collaborations: Sequence[CollaborationFact] = ()
    open_suggestions: Sequence[SuggestionFact] = ()
    open_suggestion_count: int = 0
    accepted_suggestions: Sequence[SuggestionFact] = ()
    applications: Sequence[ApplicationFact] = ()
    positions: Sequence[PositionFact] = ()
    #: Network figures at ``until``, at ``since`` and one period before ``since``.
    figures: tuple[NetworkFigures, NetworkFigures, NetworkFigures] | None = None
    #: Absolute links to the full lists, by section key.
    links: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class FigureChange:
    """One network figure now and at the start of the period, and how it moved."""

    key: str  # organisations | collaborations | cross_municipal_share
    before: float
    now: float
    previous_change: float | None = None

    @property
    def change(self) -> float:
        return self.now - self.before


@dataclass(frozen=True, slots=True)
class NearbyOrganisation:
    organisation: OrganisationFact
    distance_km: float
    near: str  # the name of the recipient's own organisation it is near
    matching_offers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Introduction:
    """An accepted suggestion as seen from the recipient's side."""

    suggestion: SuggestionFact
    own_name: str
    partner_name: str


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the digest; ``items`` is cut at :data:`MAX_ITEMS`, ``total`` is not."""

    key: str
    items: tuple[Any, ...]
    total: int
    link: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


@dataclass(frozen=True, slots=True)
class Digest:
    recipient: Recipient
    since: datetime
    until: datetime
    sections: tuple[Section, ...]

    @property
    def item_count(self) -> int:
        return sum(section.total for section in self.sections)

    @property
    def is_empty(self) -> bool:
        return self.item_count == 0

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


# --------------------------------------------------------------------------- rules


def may_see_organisation(recipient: Recipient, visibility: str) -> bool:
    """Public organisations are for everyone; "members" ones only for logged-in members.

    Examples
    --------
    >>> may_see_organisation(Recipient(1, "trainee"), "members")
    True
    >>> may_see_organisation(Recipient(1, "trainee", logged_in=False), "members")
    False
    """
    if visibility == "public":
        return True
    if visibility == "members":
        return recipient.logged_in
    return False  # an unknown visibility is treated as the most restrictive


def _in_window(moment: datetime | None, since: datetime, until: datetime) -> bool:
    return moment is not None and since < moment <= until


def _section(key: str, items: Iterable[Any], links: dict[str, str], **extra: Any) -> Section | None:
    entries = tuple(items)
    if not entries:
        return None
    return Section(
        key=key, items=entries[:MAX_ITEMS], total=len(entries), link=links.get(key, ""), extra=extra
    )


def figure_changes(
    now: NetworkFigures, before: NetworkFigures, previous: NetworkFigures | None = None
) -> tuple[FigureChange, ...]:
    """The figures that moved notably during the period (counts: any change; share: ≥ 1 point).

    ``previous_change`` is the change in the period before, to compare the pace.

    Examples
    --------
    >>> changes = figure_changes(NetworkFigures(12, 8, 4), NetworkFigures(10, 8, 2), NetworkFigures(9, 7, 2))
    >>> [(c.key, round(c.change, 1), round(c.previous_change, 1)) for c in changes]
    [('organisations', 2, 1), ('cross_municipal_share', 25.0, -3.6)]
    """
    changes = []
    if now.organisations != before.organisations:
        changes.append(
            FigureChange(
                "organisations",
                before.organisations,
                now.organisations,
                None if previous is None else before.organisations - previous.organisations,
            )
        )
    if now.collaborations != before.collaborations:
        changes.append(
            FigureChange(
                "collaborations",
                before.collaborations,
                now.collaborations,
                None if previous is None else before.collaborations - previous.collaborations,
            )
        )
    share_now, share_before = now.cross_municipal_share, before.cross_municipal_share
    if abs(share_now - share_before) >= SHARE_CHANGE_POINTS:
        changes.append(
            FigureChange(
                "cross_municipal_share",
                share_before,
                share_now,
                None if previous is None else share_before - previous.cross_municipal_share,
            )
        )
    return tuple(changes)


def _search_box(latitude: float) -> tuple[float, float]:
    """Half-widths in degrees (latitude, longitude) of a box holding every point within
    :data:`NEARBY_KM` of a point at ``latitude`` (the classic spherical bounds, with a margin)."""
    angle = NEARBY_KM / EARTH_RADIUS_KM
    cos_lat = math.cos(math.radians(latitude))
    ratio = math.sin(angle) / cos_lat if cos_lat > 1e-12 else 2.0
    lon = 180.0 if ratio >= 1.0 else math.degrees(math.asin(ratio))
    return math.degrees(angle) * 1.001, lon * 1.001


def _nearby(
    recipient: Recipient, organisations: Iterable[OrganisationFact]
) -> list[NearbyOrganisation]:
    own_ids = recipient.organisation_ids
    # Two comparisons against a bounding box rule most candidates out; only those inside get
    # the great-circle distance.
    boxes = [(own, *_search_box(own.latitude)) for own in recipient.organisations if own.needs]
    found = []
    for candidate in organisations:
        if candidate.id in own_ids or not candidate.offers:
            continue
        best: NearbyOrganisation | None = None
        for own, lat_span, lon_span in boxes:
            if abs(candidate.latitude - own.latitude) > lat_span:
                continue
            if abs((candidate.longitude - own.longitude + 180.0) % 360.0 - 180.0) > lon_span:
                continue
            matching = candidate.offers & own.needs
            if not matching:
                continue
            distance = haversine_km(
                own.latitude, own.longitude, candidate.latitude, candidate.longitude
            )
            if distance <= NEARBY_KM and (best is None or distance < best.distance_km):
                best = NearbyOrganisation(
                    candidate, round(distance, 1), own.name, tuple(sorted(matching))
                )
        if best is not None:
            found.append(best)
    found.sort(key=lambda n: (n.distance_km, n.organisation.name))
    return found


def _newest_first(items: Iterable[Any], attribute: str) -> list[Any]:
    return sorted(items, key=lambda item: (getattr(item, attribute), item.id), reverse=True)


def build_digest(
    recipient: Recipient, facts: DigestFacts, since: datetime, until: datetime
) -> Digest:
    """The digest of ``recipient`` for the window ``(since, until]``.

    Parameters
    ----------
    recipient : Recipient
        Who receives it: role, language, the organisations they act for.
    facts : DigestFacts
        Candidate facts. They may include more than the recipient may see or than happened in
        the window; both are filtered here.
    since, until : datetime
        The window: strictly after ``since`` (the previous digest), up to ``until`` (now).

    Returns
    -------
    Digest
        Sections in a fixed order; empty sections are left out. ``Digest.is_empty`` means
        there is nothing to send.

    Examples
    --------
    >>> from datetime import UTC
    >>> t0, t1 = datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
    >>> news = AnnouncementFact(1, "Netzwerktreffen", created_at=datetime(2026, 11, 20, tzinfo=UTC))
    >>> digest = build_digest(Recipient(7, "trainee"), DigestFacts(announcements=[news]), t0, t1)
    >>> [(s.key, s.total) for s in digest.sections]
    [('announcements', 1)]
    >>> build_digest(Recipient(7, "trainee"), DigestFacts(), t0, t1).is_empty
    True
    """
    links = facts.links
    sections: list[Section | None] = []
    role = recipient.role
    own_ids = recipient.organisation_ids

    if role in COORDINATOR_ROLES:
        new_suggestions = [
            s
            for s in facts.open_suggestions
            if s.status == "open" and _in_window(s.computed_at, since, until)
        ]
        new_suggestions.sort(key=lambda s: (-s.score, s.id))
        sections.append(
            _section(
                "suggestions",
                new_suggestions,
                links,
                open_total=max(facts.open_suggestion_count, len(new_suggestions)),
            )
        )
        organisations = [
            o
            for o in facts.organisations
            if _in_window(o.created_at, since, until)
            and may_see_organisation(recipient, o.visibility)
        ]
        sections.append(
            _section("organisations", _newest_first(organisations, "created_at"), links)
        )
        collaborations = [
            c
            for c in facts.collaborations
            if _in_window(c.created_at, since, until)
            and may_see_organisation(recipient, c.org_a_visibility)
            and may_see_organisation(recipient, c.org_b_visibility)
        ]
        sections.append(
            _section("collaborations", _newest_first(collaborations, "created_at"), links)
        )
        if facts.figures is not None:
            now, before, previous = facts.figures
            sections.append(
                _section(
                    "figures", figure_changes(now, before, previous), links, now=now, before=before
                )
            )

    if role == "provider" and own_ids:
        introductions = [
            s
            for s in facts.accepted_suggestions
            if s.status == "accepted"
            and _in_window(s.reviewed_at, since, until)
            and (s.org_a_id in own_ids or s.org_b_id in own_ids)
        ]
        introductions.sort(key=lambda s: (s.reviewed_at, s.id), reverse=True)
        sections.append(
            _section(
                "introductions",
                [Introduction(s, *s.partner_of(own_ids)) for s in introductions],
                links,
            )
        )
        applications = [
            a
            for a in facts.applications
            if a.organisation_id in own_ids and _in_window(a.created_at, since, until)
        ]
        sections.append(_section("applications", _newest_first(applications, "created_at"), links))
        visible_new = [
            o
            for o in facts.organisations
            if _in_window(o.created_at, since, until)
            and may_see_organisation(recipient, o.visibility)
        ]
        sections.append(_section("nearby", _nearby(recipient, visible_new), links))

    if role == "trainee":
        seen: set[int] = set()
        positions = []
        for position in _newest_first(facts.positions, "created_at"):
            if position.id not in seen and _in_window(position.created_at, since, until):
                seen.add(position.id)
                positions.append(position)
        sections.append(_section("positions", positions, links))
        updates = [
            a
            for a in facts.applications
            if a.trainee_id == recipient.user_id
            and a.status in REPORTED_APPLICATION_STATUSES
            and _in_window(a.updated_at, since, until)
        ]
        sections.append(
            _section("application_updates", _newest_first(updates, "updated_at"), links)
        )

    announcements = [a for a in facts.announcements if _in_window(a.created_at, since, until)]
    announcements.sort(key=lambda a: (a.event_date or date.max, a.id))
    sections.append(_section("announcements", announcements, links))

    return Digest(
        recipient=recipient,
        since=since,
        until=until,
        sections=tuple(s for s in sections if s is not None),
    )

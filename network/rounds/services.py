"""Placement rounds: the only writers of the rounds area.

Views call one function of this module. The allocation itself is the pure
:func:`network.matching.stable.deferred_acceptance`: this module loads the rankings, builds the
plain preference dicts (trainee and placement ids as keys), calls it, and stores what it
returns (one :class:`RoundAssignment` per trainee, statistics from
:func:`~network.matching.stable.match_statistics`, and a SHA-256 digest of the inputs), with an
audit entry for every step. Proposed orders for providers come from
:func:`network.matching.scoring.rank_candidates`.

Life cycle of a round: ``draft`` (coordinator sets it up) → ``ranking`` (trainees and providers
rank) → ``matched`` (result computed; rankings are locked; the coordinator may re-run, or reopen
for rankings) → ``published`` (final: every change is refused with :class:`RoundConflict`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from network.audit import record
from network.extensions import db
from network.mail import queue_email
from network.mail.outbox import mail_context
from network.matching import scoring
from network.matching.exceptions import MatchingError
from network.matching.stable import (
    blocking_pairs,
    deferred_acceptance,
    match_statistics,
    validate_instance,
)
from network.models import (
    AllocationRound,
    AuditLog,
    Job,
    Membership,
    Municipality,
    Organisation,
    PlacementRanking,
    Position,
    RoundAssignment,
    RoundPlacement,
    RoundTrainee,
    TraineeProfile,
    TraineeRanking,
    User,
)
from network.models.base import utcnow
from network.vocabulary import PLACEMENT_TAGS, POSITION_TYPES, TAGS
from network.vocabulary import label as vocabulary_label

__all__ = [
    "ALGORITHM",
    "JOB_KIND",
    "STATUS_LABELS",
    "STATUS_BADGES",
    "RoundError",
    "RoundConflict",
    "RoundData",
    "PlacementData",
    "TraineeFilter",
    "RankItem",
    "RankingEditor",
    "Instance",
    "MatchOutcome",
    "RoundResult",
    "Verification",
    "local_today",
    "check_mutable",
    "is_eligible",
    "can_rank_placement",
    "rounds_overview",
    "round_overview",
    "create_round",
    "update_round",
    "delete_round",
    "organisation_choices",
    "position_choices",
    "add_placement",
    "remove_placement",
    "trainee_candidates",
    "profession_choices",
    "set_eligible_trainees",
    "open_round",
    "parse_order",
    "trainee_editor",
    "save_trainee_ranking",
    "trainee_outcome",
    "applicant_editor",
    "save_placement_ranking",
    "placement_outcome",
    "build_instance",
    "input_digest",
    "active_job",
    "round_job",
    "start_match",
    "run_match",
    "start_publish",
    "publish_round",
    "round_result",
    "export_csv",
    "verify_round",
    "audit_trail",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: Stored with every digest: a change of algorithm or of the input encoding changes the digest.
ALGORITHM = "deferred_acceptance:trainee-optimal:v1"
JOB_KIND = "rounds"
#: Rounds with up to this many ranking entries are matched (or published) within the request.
DEFAULT_SYNC_MAX_ENTRIES = 20_000
#: A job that has not finished after this long is taken to have died with its process.
STALE_JOB_AFTER = timedelta(minutes=30)
#: Default profession of a placement that is not tied to a position (rounds are for nursing).
DEFAULT_PROFESSION = "pflegefachperson"
CHOICE_LIMIT = 300
TRAINEE_LIST_LIMIT = 400
#: Trainees listed on a round's page (the counts cover everyone).
OVERVIEW_TRAINEES = 100
TIMEZONE = ZoneInfo("Europe/Berlin")

STATUS_LABELS: dict[str, Any] = {
    "draft": _l("Entwurf"),
    "ranking": _l("Rangfolgen offen"),
    "matched": _l("Zugeteilt, nicht veröffentlicht"),
    "published": _l("Veröffentlicht"),
}
STATUS_BADGES = {
    "draft": "badge-status-snoozed",
    "ranking": "badge-status-open",
    "matched": "badge-kind",
    "published": "badge-status-accepted",
}
#: Steps of a matching run, in order (the CLI shows one bar each; the browser one overall bar).
MATCH_STEPS = ("load", "proposals", "match", "store")
#: Publishing is one transaction (status and every mail, or nothing), so it has one step.
PUBLISH_STEPS = ("publish",)
STEP_LABELS: dict[str, Any] = {
    "load": _l("Rangfolgen werden geladen"),
    "proposals": _l("Fehlende Rangfolgen der Einrichtungen werden ergänzt"),
    "match": _l("Stabile Zuteilung wird berechnet"),
    "store": _l("Ergebnis wird gespeichert"),
    "publish": _l("Ergebnis wird veröffentlicht, Benachrichtigungen werden vorbereitet"),
}


def _(text: str, **values: Any) -> str:
    """``gettext``, also outside a request (CLI, threads, tests): then German, the source language."""
    try:
        return gettext(text, **values)
    except RuntimeError:
        return text % values if values else text


# --------------------------------------------------------------------------- errors


class RoundError(Exception):
    """A request the round cannot take; ``message`` is ready for the user (German first)."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RoundConflict(RoundError):
    """The round's state forbids the change (published, locked, a run in progress): HTTP 409."""

    status = 409


def _published_message() -> str:
    return _(
        "Diese Vergaberunde ist veröffentlicht. Ihr Ergebnis ist endgültig und kann nicht mehr "
        "geändert werden."
    )


def check_mutable(round_: AllocationRound) -> None:
    """Raise :class:`RoundConflict` when the round is published (nothing may change then)."""
    if round_.is_published:
        raise RoundConflict(_published_message())


def _require_status(round_: AllocationRound, *statuses: str, message: str) -> None:
    check_mutable(round_)
    if round_.status not in statuses:
        raise RoundConflict(message)


def local_today(now: datetime | None = None) -> date:
    """Today in the region's time zone (deadlines are local dates)."""
    return (now or utcnow()).astimezone(TIMEZONE).date()


def _language() -> str:
    from network.i18n import current_language

    try:
        return current_language()
    except RuntimeError:  # pragma: no cover - outside any context
        return "de"


# --------------------------------------------------------------------------- access


def is_eligible(round_: AllocationRound, user: Any) -> bool:
    """Whether ``user`` takes part in the round as a trainee."""
    return db.session.get(RoundTrainee, {"round_id": round_.id, "user_id": user.id}) is not None


def _member_organisation_ids(user: Any) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Membership.organisation_id).where(
                Membership.user_id == user.id, Membership.status == "approved"
            )
        )
    )


def can_rank_placement(user: Any, placement: RoundPlacement) -> bool:
    """Approved members of the placement's organisation (and administrators) rank its applicants."""
    if getattr(user, "role", None) == "admin":
        return True
    return placement.organisation_id in _member_organisation_ids(user)


# --------------------------------------------------------------------------- overviews


@dataclass
class RoundRow:
    """One round in a list, with the figures the viewer needs."""

    round: AllocationRound
    placements: int = 0
    seats: int = 0
    trainees: int = 0
    ranked_trainees: int = 0
    my_ranked: int = 0
    assignment: RoundAssignment | None = None
    my_placements: list[RoundPlacement] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.round.status, self.round.status))

    @property
    def badge(self) -> str:
        return STATUS_BADGES.get(self.round.status, "badge-kind")


def _counts(column: Any, round_ids: list[int], *, distinct: Any = None) -> dict[int, int]:
    if not round_ids:
        return {}
    counted = sa.func.count(sa.distinct(distinct)) if distinct is not None else sa.func.count()
    rows = db.session.execute(
        sa.select(column, counted).where(column.in_(round_ids)).group_by(column)
    ).all()
    return {round_id: count for round_id, count in rows}


def rounds_overview(user: Any) -> tuple[str, list[RoundRow]]:
    """The rounds ``user`` sees and the view they get: ``"coordinator"``, ``"provider"`` or
    ``"trainee"``; newest first."""
    order = (AllocationRound.created_at.desc(), AllocationRound.id.desc())
    if user.has_role("coordinator"):
        rounds = list(db.session.scalars(sa.select(AllocationRound).order_by(*order)))
        ids = [r.id for r in rounds]
        placements = _counts(RoundPlacement.round_id, ids)
        seats = (
            dict(
                db.session.execute(
                    sa.select(RoundPlacement.round_id, sa.func.sum(RoundPlacement.seats))
                    .where(RoundPlacement.round_id.in_(ids))
                    .group_by(RoundPlacement.round_id)
                ).all()
            )
            if ids
            else {}
        )
        trainees = _counts(RoundTrainee.round_id, ids)
        ranked = _counts(TraineeRanking.round_id, ids, distinct=TraineeRanking.user_id)
        rows = [
            RoundRow(
                r,
                placements=placements.get(r.id, 0),
                seats=int(seats.get(r.id) or 0),
                trainees=trainees.get(r.id, 0),
                ranked_trainees=ranked.get(r.id, 0),
            )
            for r in rounds
        ]
        return "coordinator", rows
    if user.role == "trainee":
        rounds = list(
            db.session.scalars(
                sa.select(AllocationRound)
                .join(RoundTrainee, RoundTrainee.round_id == AllocationRound.id)
                .where(RoundTrainee.user_id == user.id, AllocationRound.status != "draft")
                .order_by(*order)
            )
        )
        ids = [r.id for r in rounds]
        mine = (
            dict(
                db.session.execute(
                    sa.select(TraineeRanking.round_id, sa.func.count())
                    .where(TraineeRanking.round_id.in_(ids), TraineeRanking.user_id == user.id)
                    .group_by(TraineeRanking.round_id)
                ).all()
            )
            if ids
            else {}
        )
        assignments = (
            {
                a.round_id: a
                for a in db.session.scalars(
                    sa.select(RoundAssignment).where(
                        RoundAssignment.round_id.in_(ids), RoundAssignment.user_id == user.id
                    )
                )
            }
            if ids
            else {}
        )
        rows = [
            RoundRow(
                r,
                my_ranked=mine.get(r.id, 0),
                assignment=assignments.get(r.id) if r.is_published else None,
            )
            for r in rounds
        ]
        return "trainee", rows
    orgs = _member_organisation_ids(user)
    placements = (
        list(
            db.session.scalars(
                sa.select(RoundPlacement)
                .join(AllocationRound, AllocationRound.id == RoundPlacement.round_id)
                .where(RoundPlacement.organisation_id.in_(orgs), AllocationRound.status != "draft")
                .order_by(AllocationRound.created_at.desc(), RoundPlacement.id)
            )
        )
        if orgs
        else []
    )
    by_round: dict[int, RoundRow] = {}
    for placement in placements:
        row = by_round.setdefault(placement.round_id, RoundRow(placement.round))
        row.my_placements.append(placement)
    return "provider", list(by_round.values())


@dataclass
class PlacementRow:
    """A placement of a round with its applicants and the state of its provider ranking."""

    placement: RoundPlacement
    applicants: int = 0
    ranked: int = 0
    has_ranking: bool = False

    @property
    def unranked_applicants(self) -> int:
        return self.applicants - self.ranked if self.has_ranking else 0


@dataclass
class TraineeRow:
    user: User
    ranked: int = 0


@dataclass
class RoundOverview:
    """Everything the coordinator's page of a round shows."""

    round: AllocationRound
    placements: list[PlacementRow]
    trainees: list[TraineeRow]
    job: Job | None
    seats: int = 0
    trainee_count: int = 0
    ranked_trainees: int = 0
    assignments: int = 0

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.round.status, self.round.status))

    @property
    def badge(self) -> str:
        return STATUS_BADGES.get(self.round.status, "badge-kind")

    @property
    def unranked_placements(self) -> list[PlacementRow]:
        return [p for p in self.placements if p.applicants and not p.has_ranking]

    @property
    def incomplete_placements(self) -> list[PlacementRow]:
        return [p for p in self.placements if p.has_ranking and p.unranked_applicants]

    @property
    def deadline_passed(self) -> bool:
        deadline = self.round.ranking_deadline
        return deadline is not None and local_today() > deadline


def _eligible_ranking() -> sa.ColumnElement[bool]:
    """Join condition: a trainee ranking of someone (still) eligible in its round."""
    return sa.and_(
        RoundTrainee.round_id == TraineeRanking.round_id,
        RoundTrainee.user_id == TraineeRanking.user_id,
    )


def _placement_counts(round_id: int) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per placement: applicants, entries of the provider ranking, applicants in that ranking."""
    applicants = dict(
        db.session.execute(
            sa.select(TraineeRanking.placement_id, sa.func.count())
            .join(RoundTrainee, _eligible_ranking())
            .where(TraineeRanking.round_id == round_id)
            .group_by(TraineeRanking.placement_id)
        ).all()
    )
    entries = dict(
        db.session.execute(
            sa.select(PlacementRanking.placement_id, sa.func.count())
            .where(PlacementRanking.round_id == round_id)
            .group_by(PlacementRanking.placement_id)
        ).all()
    )
    ranked = dict(
        db.session.execute(
            sa.select(PlacementRanking.placement_id, sa.func.count())
            .join(
                TraineeRanking,
                sa.and_(
                    TraineeRanking.placement_id == PlacementRanking.placement_id,
                    TraineeRanking.user_id == PlacementRanking.user_id,
                ),
            )
            .join(RoundTrainee, _eligible_ranking())
            .where(PlacementRanking.round_id == round_id)
            .group_by(PlacementRanking.placement_id)
        ).all()
    )
    return applicants, entries, ranked


def round_overview(round_: AllocationRound) -> RoundOverview:
    """The coordinator's view of a round: placements, trainees, ranking progress, running job."""
    applicants, entries, ranked = _placement_counts(round_.id)
    placements = [
        PlacementRow(
            placement,
            applicants=applicants.get(placement.id, 0),
            ranked=ranked.get(placement.id, 0),
            has_ranking=entries.get(placement.id, 0) > 0,
        )
        for placement in round_.placements
    ]
    counts = dict(
        db.session.execute(
            sa.select(TraineeRanking.user_id, sa.func.count())
            .where(TraineeRanking.round_id == round_.id)
            .group_by(TraineeRanking.user_id)
        ).all()
    )
    eligible = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RoundTrainee)
        .where(RoundTrainee.round_id == round_.id)
    )
    users = db.session.scalars(
        sa.select(User)
        .join(RoundTrainee, RoundTrainee.user_id == User.id)
        .where(RoundTrainee.round_id == round_.id)
        .order_by(User.name, User.id)
        .limit(OVERVIEW_TRAINEES)
    ).all()
    assignments = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RoundAssignment)
        .where(RoundAssignment.round_id == round_.id)
    )
    return RoundOverview(
        round_,
        placements,
        [TraineeRow(u, counts.get(u.id, 0)) for u in users],
        active_job(round_) or _latest_job(round_),
        seats=sum(p.seats for p in round_.placements),
        trainee_count=int(eligible or 0),
        ranked_trainees=len(counts),
        assignments=assignments or 0,
    )


# --------------------------------------------------------------------------- round set-up


@dataclass
class RoundData:
    name: str
    description: str = ""
    ranking_deadline: date | None = None


def create_round(data: RoundData, actor: User) -> AllocationRound:
    """A new round in ``draft``; audited."""
    round_ = AllocationRound(
        name=data.name.strip(),
        description=(data.description or "").strip(),
        ranking_deadline=data.ranking_deadline,
        status="draft",
        created_by_id=actor.id,
        statistics={},
        result_digest="",
    )
    db.session.add(round_)
    db.session.flush()
    record(
        "rounds.created",
        "allocation_round",
        round_.id,
        actor_id=actor.id,
        name=round_.name,
        deadline=data.ranking_deadline.isoformat() if data.ranking_deadline else None,
    )
    db.session.commit()
    return round_


def update_round(round_: AllocationRound, data: RoundData, actor: User) -> AllocationRound:
    """Change name, description or deadline (until the round is published)."""
    check_mutable(round_)
    round_.name = data.name.strip()
    round_.description = (data.description or "").strip()
    round_.ranking_deadline = data.ranking_deadline
    record(
        "rounds.updated",
        "allocation_round",
        round_.id,
        actor_id=actor.id,
        name=round_.name,
        deadline=data.ranking_deadline.isoformat() if data.ranking_deadline else None,
    )
    db.session.commit()
    return round_


def delete_round(round_: AllocationRound, actor: User) -> None:
    """Delete a round that is still a draft (nobody has seen it)."""
    _require_status(
        round_,
        "draft",
        message=_(
            "Nur Entwürfe können gelöscht werden; diese Runde war schon offen für Rangfolgen."
        ),
    )
    round_id = round_.id
    record("rounds.deleted", "allocation_round", round_id, actor_id=actor.id, name=round_.name)
    _delete_children(round_id)
    db.session.execute(sa.delete(RoundPlacement).where(RoundPlacement.round_id == round_id))
    db.session.execute(sa.delete(AllocationRound).where(AllocationRound.id == round_id))
    db.session.commit()


def _delete_children(round_id: int, *, placement_id: int | None = None) -> None:
    """Delete rankings and assignments explicitly (SQLite does not always enforce cascades)."""
    for model in (RoundAssignment, PlacementRanking, TraineeRanking):
        statement = sa.delete(model).where(model.round_id == round_id)
        if placement_id is not None:
            statement = statement.where(model.placement_id == placement_id)
        db.session.execute(statement)
    if placement_id is None:
        db.session.execute(sa.delete(RoundTrainee).where(RoundTrainee.round_id == round_id))


def _structure_editable(round_: AllocationRound) -> None:
    _require_status(
        round_,
        "draft",
        "ranking",
        message=_(
            "Die Runde ist zugeteilt. Öffnen Sie sie wieder für Rangfolgen, um Einsatzorte oder "
            "Teilnehmende zu ändern."
        ),
    )
    _refuse_while_running(round_)


@dataclass
class PlacementData:
    organisation_id: int
    seats: int
    name: str = ""
    placement_tag: str = ""
    position_id: int | None = None


def _placement_kinds_clause() -> sa.ColumnElement[bool]:
    from network.models import OrganisationTag

    offers_placement = sa.exists().where(
        OrganisationTag.organisation_id == Organisation.id,
        OrganisationTag.direction == "offer",
        sa.or_(OrganisationTag.tag.like("placement:%"), OrganisationTag.tag == "training:nursing"),
    )
    nursing_kinds = Organisation.kind.in_(
        ("hospital", "care_home", "ambulatory_care", "rehab_clinic", "day_care")
    )
    return sa.or_(offers_placement, nursing_kinds)


def organisation_choices(query: str = "", include: Iterable[int] = ()) -> list[tuple[int, str]]:
    """Organisations for the placement form: matches of ``query`` (name or municipality), else
    those that offer nursing placements; at most :data:`CHOICE_LIMIT`, by name."""
    statement = sa.select(Organisation.id, Organisation.name, Municipality.name).join(
        Municipality, Municipality.ags == Organisation.ags
    )
    text = (query or "").strip()
    if text:
        pattern = f"%{text.lower()}%"
        statement = statement.where(
            sa.or_(
                sa.func.lower(Organisation.name).like(pattern),
                sa.func.lower(Municipality.name).like(pattern),
            )
        )
    else:
        statement = statement.where(_placement_kinds_clause())
    rows = db.session.execute(statement.order_by(Organisation.name).limit(CHOICE_LIMIT)).all()
    wanted = [i for i in include if i]
    seen = {row[0] for row in rows}
    missing = [i for i in wanted if i not in seen]
    if missing:
        rows += db.session.execute(
            sa.select(Organisation.id, Organisation.name, Municipality.name)
            .join(Municipality, Municipality.ags == Organisation.ags)
            .where(Organisation.id.in_(missing))
        ).all()
    return [(oid, f"{name} ({place})") for oid, name, place in rows]


def position_choices(include: Iterable[int] = ()) -> list[tuple[int, str]]:
    """Open placements and apprenticeships to tie a round placement to (at most 300)."""
    rows = db.session.execute(
        sa.select(Position.id, Position.title, Organisation.name)
        .join(Organisation, Organisation.id == Position.organisation_id)
        .where(
            sa.or_(Position.status == "open", Position.id.in_([i for i in include if i])),
            Position.position_type.in_(("placement", "apprenticeship")),
        )
        .order_by(Organisation.name, Position.title)
        .limit(CHOICE_LIMIT)
    ).all()
    return [(pid, f"{title} – {org}") for pid, title, org in rows]


def add_placement(round_: AllocationRound, data: PlacementData, actor: User) -> RoundPlacement:
    """Offer a placement with seats in the round (draft or while rankings are open)."""
    _structure_editable(round_)
    organisation = db.session.get(Organisation, data.organisation_id)
    if organisation is None:
        raise RoundError(_("Bitte wählen Sie eine Organisation."), field="organisation_id")
    position = None
    if data.position_id:
        position = db.session.get(Position, data.position_id)
        if position is None:
            raise RoundError(_("Diese Stelle gibt es nicht (mehr)."), field="position_id")
        if position.organisation_id != organisation.id:
            raise RoundError(
                _(
                    "Die Stelle „%(title)s“ gehört nicht zu %(organisation)s.",
                    title=position.title,
                    organisation=organisation.name,
                ),
                field="position_id",
            )
    tag = data.placement_tag or ""
    if tag and tag not in PLACEMENT_TAGS:
        raise RoundError(
            _("Bitte wählen Sie eine Einsatzart aus der Liste."), field="placement_tag"
        )
    if not isinstance(data.seats, int) or data.seats < 1:
        raise RoundError(_("Bitte geben Sie mindestens einen Platz an."), field="seats")
    name = (data.name or "").strip()
    if not name:
        if position is not None:
            name = position.title
        elif tag:
            name = f"{vocabulary_label(TAGS, tag, 'de')} – {organisation.name}"
        else:
            name = organisation.name
    placement = RoundPlacement(
        round_id=round_.id,
        organisation_id=organisation.id,
        position_id=position.id if position is not None else None,
        name=name[:200],
        placement_tag=tag,
        seats=data.seats,
    )
    db.session.add(placement)
    db.session.flush()
    record(
        "rounds.placement_added",
        "allocation_round",
        round_.id,
        actor_id=actor.id,
        placement_id=placement.id,
        organisation_id=organisation.id,
        name=placement.name,
        seats=placement.seats,
        tag=tag,
    )
    db.session.commit()
    return placement


def remove_placement(round_: AllocationRound, placement: RoundPlacement, actor: User) -> None:
    """Withdraw a placement; rankings that named it lose it."""
    _structure_editable(round_)
    record(
        "rounds.placement_removed",
        "allocation_round",
        round_.id,
        actor_id=actor.id,
        placement_id=placement.id,
        name=placement.name,
    )
    _delete_children(round_.id, placement_id=placement.id)
    round_.placements.remove(placement)
    db.session.commit()


# --------------------------------------------------------------------------- eligible trainees


@dataclass
class TraineeFilter:
    query: str = ""
    profession: str = ""
    only_selected: bool = False


@dataclass
class TraineeCandidate:
    user: User
    profile: TraineeProfile | None
    eligible: bool


def profession_choices() -> list[tuple[str, str]]:
    """Profession codes and names in the current language (for the trainee filter)."""
    from network.reference import load_professions

    english = _language() == "en"
    return [(p.code, p.name_en if english else p.name_de) for p in load_professions()]


def trainee_candidates(
    round_: AllocationRound, flt: TraineeFilter, *, limit: int = TRAINEE_LIST_LIMIT
) -> tuple[list[TraineeCandidate], int]:
    """Trainee accounts matching the filter (eligible ones first), and how many matched."""
    eligible_ids = set(
        db.session.scalars(
            sa.select(RoundTrainee.user_id).where(RoundTrainee.round_id == round_.id)
        )
    )
    statement = (
        sa.select(User, TraineeProfile)
        .outerjoin(TraineeProfile, TraineeProfile.user_id == User.id)
        .where(User.role == "trainee", User.active.is_(True))
    )
    text = (flt.query or "").strip().lower()
    if text:
        pattern = f"%{text}%"
        statement = statement.where(
            sa.or_(sa.func.lower(User.name).like(pattern), sa.func.lower(User.email).like(pattern))
        )
    if flt.profession:
        statement = statement.where(
            sa.cast(TraineeProfile.professions, sa.Text).like(f'%"{flt.profession}"%')
        )
    if flt.only_selected:
        statement = statement.where(User.id.in_(eligible_ids or {-1}))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
    eligible_first = sa.case((User.id.in_(eligible_ids or {-1}), 0), else_=1)
    rows = db.session.execute(
        statement.order_by(eligible_first, User.name, User.id).limit(limit)
    ).all()
    return [TraineeCandidate(u, p, u.id in eligible_ids) for u, p in rows], total


def set_eligible_trainees(
    round_: AllocationRound, shown: Iterable[int], selected: Iterable[int], actor: User
) -> tuple[int, int]:
    """Make the ``selected`` of the ``shown`` trainees eligible and the rest of them not.

    Trainees not shown keep their state (a filtered list changes only what it shows). Someone
    who is no longer eligible loses their rankings in this round. Returns (added, removed).
    """
    _structure_editable(round_)
    shown_ids, selected_ids = set(shown), set(selected)
    if not selected_ids <= shown_ids:
        shown_ids |= selected_ids
    known = (
        set(
            db.session.scalars(
                sa.select(User.id).where(User.id.in_(shown_ids), User.role == "trainee")
            )
        )
        if shown_ids
        else set()
    )
    if selected_ids - known:
        raise RoundError(_("Ausgewählt werden können nur Konten von Auszubildenden."))
    current = set(
        db.session.scalars(
            sa.select(RoundTrainee.user_id).where(RoundTrainee.round_id == round_.id)
        )
    )
    added = sorted(selected_ids - current)
    removed = sorted((current & shown_ids) - selected_ids)
    for user_id in added:
        db.session.add(RoundTrainee(round_id=round_.id, user_id=user_id))
    if removed:
        placement_ids = [p.id for p in round_.placements]
        db.session.execute(
            sa.delete(TraineeRanking).where(
                TraineeRanking.round_id == round_.id, TraineeRanking.user_id.in_(removed)
            )
        )
        if placement_ids:
            db.session.execute(
                sa.delete(PlacementRanking).where(
                    PlacementRanking.placement_id.in_(placement_ids),
                    PlacementRanking.user_id.in_(removed),
                )
            )
        db.session.execute(
            sa.delete(RoundAssignment).where(
                RoundAssignment.round_id == round_.id, RoundAssignment.user_id.in_(removed)
            )
        )
        db.session.execute(
            sa.delete(RoundTrainee).where(
                RoundTrainee.round_id == round_.id, RoundTrainee.user_id.in_(removed)
            )
        )
    if added or removed:
        record(
            "rounds.trainees_changed",
            "allocation_round",
            round_.id,
            actor_id=actor.id,
            added=added,
            removed=removed,
        )
    db.session.commit()
    return len(added), len(removed)


def open_round(round_: AllocationRound, actor: User) -> AllocationRound:
    """Open a draft for rankings, or reopen a matched round (its result is discarded)."""
    check_mutable(round_)
    _refuse_while_running(round_)
    if round_.status == "draft":
        if not any(p.seats > 0 for p in round_.placements):
            raise RoundError(
                _("Bitte legen Sie zuerst mindestens einen Einsatzort mit Plätzen an.")
            )
        has_trainees = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RoundTrainee)
            .where(RoundTrainee.round_id == round_.id)
        )
        if not has_trainees:
            raise RoundError(_("Bitte wählen Sie zuerst die teilnehmenden Auszubildenden aus."))
        round_.status = "ranking"
        record("rounds.opened", "allocation_round", round_.id, actor_id=actor.id)
    elif round_.status == "matched":
        db.session.execute(sa.delete(RoundAssignment).where(RoundAssignment.round_id == round_.id))
        round_.status = "ranking"
        round_.statistics = {}
        round_.result_digest = ""
        round_.matched_at = None
        record("rounds.reopened", "allocation_round", round_.id, actor_id=actor.id)
    else:
        raise RoundConflict(_("Die Runde ist bereits offen für Rangfolgen."))
    db.session.commit()
    return round_


# --------------------------------------------------------------------------- ranking editor


@dataclass
class RankItem:
    """One entry of a ranking list (a placement for trainees, an applicant for providers)."""

    id: int
    title: str
    subtitle: str = ""
    tag: str = ""
    seats: int | None = None
    score: float | None = None
    distance_km: float | None = None
    reasons: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class RankingEditor:
    """The state of a ranking form: ranked items in order, the others, and what just happened."""

    ranked: list[RankItem]
    unranked: list[RankItem]
    stored: list[int] | None
    notice: str = ""
    focus: str = ""
    proposal: bool = False

    @property
    def order(self) -> list[int]:
        return [item.id for item in self.ranked]

    @property
    def unsaved(self) -> bool:
        return self.stored is None or self.order != self.stored


def parse_order(values: Sequence[str]) -> list[int]:
    """The ids of a submitted ranking, in order; a malformed entry is refused."""
    order = []
    for value in values:
        try:
            order.append(int(str(value).strip()))
        except ValueError as err:
            raise RoundError(_("Die Rangfolge enthält einen ungültigen Eintrag.")) from err
    return order


def _apply_action(
    order: list[int], action: str, items: Mapping[int, RankItem]
) -> tuple[list[int], str, str]:
    """Apply ``up:ID``/``down:ID``/``add:ID``/``remove:ID``; return (order, focus id, notice)."""
    kind, _sep, raw = (action or "").partition(":")
    try:
        item_id = int(raw)
    except ValueError:
        return order, "", ""
    if item_id not in items:
        return order, "", ""
    title = items[item_id].title
    order = list(order)
    if kind == "add" and item_id not in order:
        order.append(item_id)
        return (
            order,
            f"rank-up-{item_id}",
            _("„%(name)s“ steht jetzt auf Rang %(rank)s.", name=title, rank=len(order)),
        )
    if item_id not in order:
        return order, "", ""
    index = order.index(item_id)
    if kind == "remove":
        order.pop(index)
        return (
            order,
            f"rank-add-{item_id}",
            _("„%(name)s“ ist nicht mehr in der Rangfolge.", name=title),
        )
    if kind == "up" and index > 0:
        order[index - 1], order[index] = order[index], order[index - 1]
        index -= 1
    elif kind == "down" and index < len(order) - 1:
        order[index + 1], order[index] = order[index], order[index + 1]
        index += 1
    elif kind not in ("up", "down"):
        return order, "", ""
    return (
        order,
        f"rank-{kind}-{item_id}",
        _("„%(name)s“ steht jetzt auf Rang %(rank)s.", name=title, rank=index + 1),
    )


def _editor(
    items: Mapping[int, RankItem],
    stored: list[int] | None,
    submitted: list[int] | None,
    action: str,
    *,
    proposal: list[int] | None = None,
) -> RankingEditor:
    is_proposal = False
    if submitted is not None:
        order = submitted
    elif stored is not None:
        order = stored
    else:
        order = proposal or []
        is_proposal = proposal is not None
    if action == "propose" and proposal is not None:
        order, is_proposal = list(proposal), True
    # Drop what is not (or no longer) part of the list, and repeats, without failing a move.
    seen: set[int] = set()
    clean = [i for i in order if i in items and not (i in seen or seen.add(i))]
    clean, focus, notice = _apply_action(clean, action, items)
    if action == "propose":
        notice = _("Der Vorschlag nach Passung ist eingesetzt. Prüfen Sie ihn und speichern Sie.")
    ranked = [items[i] for i in clean]
    chosen = set(clean)
    unranked = [item for key, item in items.items() if key not in chosen]
    return RankingEditor(ranked, unranked, stored, notice, focus, is_proposal)


def _friendly_error(
    err: MatchingError, trainees: Mapping[Any, str], placements: Mapping[Any, str]
) -> str:
    """A domain validation error in words of the page (names instead of ids)."""
    side = err.params.get("side")
    item = err.params.get("id")
    if err.code == "duplicate_preference":
        names = placements if side == "trainee" else trainees
        return _("„%(name)s“ steht mehrfach in der Rangfolge.", name=names.get(item, item))
    if err.code == "unknown_placement":
        return _("Ein Eintrag der Rangfolge ist kein Einsatzort dieser Runde.")
    if err.code == "unknown_trainee":
        return _("Ein Eintrag der Rangfolge hat sich nicht auf diesen Einsatzort beworben.")
    if err.code in ("invalid_capacity", "missing_capacity"):
        return _(
            "Der Einsatzort „%(name)s“ hat keine gültige Zahl von Plätzen (%(seats)s).",
            name=placements.get(item, item),
            seats=err.params.get("capacity", "–"),
        )
    return err.text(_language())


def _placement_item(placement: RoundPlacement, language: str) -> RankItem:
    org = placement.organisation
    place = org.municipality.name if org.municipality is not None else ""
    return RankItem(
        id=placement.id,
        title=placement.name,
        subtitle=f"{org.name}, {place}" if place else org.name,
        tag=vocabulary_label(TAGS, placement.placement_tag, language)
        if placement.placement_tag
        else "",
        seats=placement.seats,
    )


def _trainee_order(round_id: int, user_id: int) -> list[int] | None:
    order = list(
        db.session.scalars(
            sa.select(TraineeRanking.placement_id)
            .where(TraineeRanking.round_id == round_id, TraineeRanking.user_id == user_id)
            .order_by(TraineeRanking.rank)
        )
    )
    return order or None


def trainee_editor(
    round_: AllocationRound, user: User, submitted: list[int] | None = None, action: str = ""
) -> RankingEditor:
    """The trainee's ranking form: their stored order, or what they submitted plus a move."""
    language = _language()
    items = {p.id: _placement_item(p, language) for p in round_.placements}
    return _editor(items, _trainee_order(round_.id, user.id), submitted, action)


def _rankings_open(round_: AllocationRound) -> None:
    _require_status(
        round_,
        "ranking",
        message=_("Diese Runde nimmt zurzeit keine Rangfolgen an.")
        if round_.status == "draft"
        else _(
            "Die Rangfolgen dieser Runde sind geschlossen: die Zuteilung ist berechnet. Die "
            "Koordination kann die Runde wieder öffnen."
        ),
    )
    _refuse_while_running(round_)


def save_trainee_ranking(round_: AllocationRound, user: User, order: list[int]) -> None:
    """Store a trainee's ordered list of the round's placements (1 = first choice); audited."""
    _rankings_open(round_)
    deadline = round_.ranking_deadline
    if deadline is not None and local_today() > deadline:
        raise RoundConflict(
            _(
                "Die Frist für Rangfolgen ist am %(date)s abgelaufen.",
                date=deadline.strftime("%d.%m.%Y"),
            )
        )
    if not is_eligible(round_, user):
        raise RoundError(_("Sie nehmen an dieser Runde nicht teil."))
    placements = {p.id: p for p in round_.placements}
    try:
        validate_instance(
            {user.id: order},
            {pid: [] for pid in placements},
            {pid: p.seats for pid, p in placements.items()},
        )
    except MatchingError as err:
        raise RoundError(
            _friendly_error(err, {}, {pid: p.name for pid, p in placements.items()})
        ) from err
    db.session.execute(
        sa.delete(TraineeRanking).where(
            TraineeRanking.round_id == round_.id, TraineeRanking.user_id == user.id
        )
    )
    db.session.add_all(
        TraineeRanking(round_id=round_.id, user_id=user.id, placement_id=pid, rank=rank)
        for rank, pid in enumerate(order, start=1)
    )
    record(
        "rounds.trainee_ranking_saved",
        "allocation_round",
        round_.id,
        actor_id=user.id,
        trainee_id=user.id,
        placements=list(order),
    )
    db.session.commit()


@dataclass
class TraineeOutcome:
    placement: RoundPlacement | None
    rank: int | None


def trainee_outcome(round_: AllocationRound, user: User) -> TraineeOutcome | None:
    """The trainee's published result (``None`` before publication)."""
    if not round_.is_published:
        return None
    assignment = db.session.get(RoundAssignment, {"round_id": round_.id, "user_id": user.id})
    if assignment is None:
        return TraineeOutcome(None, None)
    return TraineeOutcome(assignment.placement, assignment.trainee_rank)


# --------------------------------------------------------------------------- provider rankings


def _profile_point(
    profile: TraineeProfile, places: Mapping[str, Municipality]
) -> tuple[float, float] | None:
    if profile.latitude is not None and profile.longitude is not None:
        return profile.latitude, profile.longitude
    place = places.get(profile.home_ags or "")
    return (place.latitude, place.longitude) if place is not None else None


def _scoring_position(placement: RoundPlacement) -> scoring.Position:
    position = placement.position if placement.position_id else None
    if position is not None:
        hours = position.hours_per_week
        return scoring.Position(
            id=placement.id,
            lat=position.latitude,
            lon=position.longitude,
            position_type=position.position_type
            if position.position_type in POSITION_TYPES
            else "placement",
            profession=position.profession or DEFAULT_PROFESSION,
            start=position.start_date,
            benefits=frozenset(position.benefits or ()),
            requirements=frozenset(position.requirements or ()),
            seats=max(0, placement.seats),
            hours_per_week=hours if hours and hours > 0 else None,
        )
    org = placement.organisation
    return scoring.Position(
        id=placement.id,
        lat=org.latitude,
        lon=org.longitude,
        position_type="placement",
        profession=DEFAULT_PROFESSION,
        seats=max(0, placement.seats),
    )


def _scoring_candidate(
    profile: TraineeProfile, point: tuple[float, float], *, with_wishes: bool
) -> scoring.Candidate:
    # Everyone here applied for this very placement: their profession and position-type
    # wishes only count when the placement is a real position that names them.
    return scoring.Candidate(
        id=profile.user_id,
        lat=point[0],
        lon=point[1],
        max_distance_km=float(profile.max_distance_km or 0.0),
        professions=frozenset(profile.professions or ()) if with_wishes else frozenset(),
        position_types=frozenset(t for t in profile.position_types or () if t in POSITION_TYPES)
        if with_wishes
        else frozenset(),
        earliest_start=profile.earliest_start,
        driving_licence=bool(profile.driving_licence),
        languages=frozenset(profile.languages or ()),
    )


def _proposal(
    placement: RoundPlacement, applicants: Sequence[User], language: str
) -> tuple[list[int], dict[int, RankItem]]:
    """The proposed order of the applicants by match score, and their list items.

    Applicants who agreed to be seen by providers and for whom the placement passes the
    scoring filters come first, best fit first; everyone else follows by name (their profile
    is not shown to providers without consent, so it is not used either).
    """
    ids = [u.id for u in applicants]
    profiles = (
        {
            p.user_id: p
            for p in db.session.scalars(
                sa.select(TraineeProfile).where(TraineeProfile.user_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    places = {
        m.ags: m
        for m in db.session.scalars(
            sa.select(Municipality).where(
                Municipality.ags.in_({p.home_ags for p in profiles.values() if p.home_ags} or {""})
            )
        )
    }
    candidates = []
    for profile in profiles.values():
        if not profile.visible_to_providers:
            continue
        point = _profile_point(profile, places)
        if point is None:
            continue
        try:
            candidates.append(
                _scoring_candidate(profile, point, with_wishes=placement.position_id is not None)
            )
        except scoring.ScoringInputError:
            continue
    matches = {}
    if candidates:
        try:
            ranked = scoring.rank_candidates(_scoring_position(placement), candidates)
        except scoring.ScoringInputError:
            ranked = []
        matches = {m.candidate_id: m for m in ranked}
    # Without a position, profession, type and start are the same for everyone (or unknown):
    # their reasons would only repeat themselves on every line.
    ignored = () if placement.position_id else ("profession", "position_type", "start")
    items: dict[int, RankItem] = {}
    for user in applicants:
        profile = profiles.get(user.id)
        match = matches.get(user.id)
        note = ""
        if match is None:
            if profile is None or not profile.visible_to_providers:
                note = _("Kein für Anbieter freigegebenes Suchprofil")
            else:
                note = _("Dieser Einsatzort liegt außerhalb des Suchprofils")
        items[user.id] = RankItem(
            id=user.id,
            title=user.name or user.email,
            subtitle=user.email,
            score=match.score if match is not None else None,
            distance_km=match.distance_km if match is not None else None,
            reasons=[r.text(language) for r in match.reasons if r.component not in ignored]
            if match is not None
            else [],
            note=note,
        )
    scored = [uid for uid in matches if uid in items]
    scored.sort(key=lambda uid: (-matches[uid].score, uid))
    rest = sorted(
        (uid for uid in items if uid not in matches),
        key=lambda uid: (items[uid].title.lower(), uid),
    )
    return scored + rest, items


def _applicants(round_: AllocationRound, placement: RoundPlacement) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(TraineeRanking, TraineeRanking.user_id == User.id)
            .join(RoundTrainee, _eligible_ranking())
            .where(
                TraineeRanking.round_id == round_.id, TraineeRanking.placement_id == placement.id
            )
            .order_by(User.name, User.id)
        )
    )


def _placement_order(placement: RoundPlacement) -> list[int] | None:
    order = list(
        db.session.scalars(
            sa.select(PlacementRanking.user_id)
            .where(PlacementRanking.placement_id == placement.id)
            .order_by(PlacementRanking.rank)
        )
    )
    return order or None


def applicant_editor(
    round_: AllocationRound,
    placement: RoundPlacement,
    submitted: list[int] | None = None,
    action: str = "",
) -> RankingEditor:
    """The provider's ranking form: the stored order, else the proposal by match score."""
    language = _language()
    applicants = _applicants(round_, placement)
    proposal, items = _proposal(placement, applicants, language)
    stored = _placement_order(placement)
    if stored is not None:
        stored = [uid for uid in stored if uid in items]
    return _editor(items, stored, submitted, action, proposal=proposal)


def save_placement_ranking(
    round_: AllocationRound, placement: RoundPlacement, order: list[int], actor: User
) -> None:
    """Store a provider's order of the placement's applicants (1 = most preferred); audited."""
    _rankings_open(round_)
    applicants = {u.id: u for u in _applicants(round_, placement)}
    _store_placement_ranking(round_, placement, order, applicants)
    record(
        "rounds.placement_ranking_saved",
        "allocation_round",
        round_.id,
        actor_id=actor.id,
        placement_id=placement.id,
        trainees=list(order),
    )
    db.session.commit()


def _store_placement_ranking(
    round_: AllocationRound,
    placement: RoundPlacement,
    order: list[int],
    applicants: Mapping[int, User],
) -> None:
    try:
        validate_instance(
            {uid: [placement.id] for uid in applicants},
            {placement.id: order},
            {placement.id: placement.seats},
        )
    except MatchingError as err:
        names = {uid: u.name or u.email for uid, u in applicants.items()}
        raise RoundError(_friendly_error(err, names, {placement.id: placement.name})) from err
    db.session.execute(
        sa.delete(PlacementRanking).where(PlacementRanking.placement_id == placement.id)
    )
    db.session.add_all(
        PlacementRanking(round_id=round_.id, placement_id=placement.id, user_id=uid, rank=rank)
        for rank, uid in enumerate(order, start=1)
    )


def placement_outcome(round_: AllocationRound, placement: RoundPlacement) -> list[User]:
    """The trainees assigned to a placement in a published round."""
    if not round_.is_published:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .join(RoundAssignment, RoundAssignment.user_id == User.id)
            .where(
                RoundAssignment.round_id == round_.id, RoundAssignment.placement_id == placement.id
            )
            .order_by(User.name, User.id)
        )
    )


# --------------------------------------------------------------------------- the match


@dataclass
class Instance:
    """The plain inputs of :func:`deferred_acceptance`, read from the stored rankings."""

    trainee_prefs: dict[int, list[int]]
    placement_prefs: dict[int, list[int]]
    capacities: dict[int, int]

    @property
    def entries(self) -> int:
        return sum(map(len, self.trainee_prefs.values())) + sum(
            map(len, self.placement_prefs.values())
        )


def _entry_count(round_id: int) -> int:
    trainee = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TraineeRanking)
        .where(TraineeRanking.round_id == round_id)
    )
    placement = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlacementRanking)
        .where(PlacementRanking.round_id == round_id)
    )
    return int(trainee or 0) + int(placement or 0)


def build_instance(round_id: int) -> Instance:
    """Preference dicts of a round: every eligible trainee (ids ascending) with their ordered
    placements, every placement with its provider's order of eligible trainees, and seats."""
    trainees = list(
        db.session.scalars(
            sa.select(RoundTrainee.user_id)
            .where(RoundTrainee.round_id == round_id)
            .order_by(RoundTrainee.user_id)
        )
    )
    eligible = set(trainees)
    trainee_prefs: dict[int, list[int]] = {t: [] for t in trainees}
    for user_id, placement_id in db.session.execute(
        sa.select(TraineeRanking.user_id, TraineeRanking.placement_id)
        .where(TraineeRanking.round_id == round_id)
        .order_by(TraineeRanking.user_id, TraineeRanking.rank)
    ):
        if user_id in eligible:
            trainee_prefs[user_id].append(placement_id)
    capacities = dict(
        db.session.execute(
            sa.select(RoundPlacement.id, RoundPlacement.seats)
            .where(RoundPlacement.round_id == round_id)
            .order_by(RoundPlacement.id)
        ).all()
    )
    placement_prefs: dict[int, list[int]] = {p: [] for p in capacities}
    for placement_id, user_id in db.session.execute(
        sa.select(PlacementRanking.placement_id, PlacementRanking.user_id)
        .where(PlacementRanking.round_id == round_id)
        .order_by(PlacementRanking.placement_id, PlacementRanking.rank)
    ):
        if user_id in eligible and placement_id in placement_prefs:
            placement_prefs[placement_id].append(user_id)
    return Instance(trainee_prefs, placement_prefs, {p: int(c) for p, c in capacities.items()})


def input_digest(instance: Instance) -> str:
    """SHA-256 of the canonical JSON of the inputs and the algorithm: equal inputs, equal digest."""
    canonical = {
        "algorithm": ALGORITHM,
        "trainees": [[t, prefs] for t, prefs in sorted(instance.trainee_prefs.items())],
        "placements": [
            [p, instance.capacities[p], prefs]
            for p, prefs in sorted(instance.placement_prefs.items())
        ],
    }
    text = json.dumps(canonical, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _solve(instance: Instance) -> dict[int, int | None]:
    return deferred_acceptance(
        instance.trainee_prefs, instance.placement_prefs, instance.capacities, optimal="trainee"
    )


def _statistics(instance: Instance, matching: Mapping[int, int | None]) -> dict[str, Any]:
    """``match_statistics`` in a JSON-safe shape (rank distribution as [rank, count] pairs)."""
    stats = match_statistics(instance.trainee_prefs, matching, instance.capacities)
    stats["rank_distribution"] = [[int(r), int(c)] for r, c in stats["rank_distribution"].items()]
    load: dict[int, int] = defaultdict(int)
    for placement in matching.values():
        if placement is not None:
            load[placement] += 1
    stats["unfilled_by_placement"] = {
        str(p): seats - load[p] for p, seats in instance.capacities.items() if load[p] < seats
    }
    stats["without_ranking"] = sum(1 for prefs in instance.trainee_prefs.values() if not prefs)
    return stats


def _names(round_id: int) -> tuple[dict[int, str], dict[int, str]]:
    trainees = dict(
        db.session.execute(
            sa.select(User.id, sa.func.coalesce(sa.func.nullif(User.name, ""), User.email))
            .join(RoundTrainee, RoundTrainee.user_id == User.id)
            .where(RoundTrainee.round_id == round_id)
        ).all()
    )
    placements = dict(
        db.session.execute(
            sa.select(RoundPlacement.id, RoundPlacement.name).where(
                RoundPlacement.round_id == round_id
            )
        ).all()
    )
    return trainees, placements


def _jobs_of(round_: AllocationRound, *statuses: str) -> list[Job]:
    statement = sa.select(Job).where(Job.kind == JOB_KIND).order_by(Job.id.desc())
    if statuses:
        statement = statement.where(Job.status.in_(statuses))
    else:
        statement = statement.limit(50)
    return [
        j for j in db.session.scalars(statement) if (j.result or {}).get("round_id") == round_.id
    ]


def active_job(round_: AllocationRound) -> Job | None:
    """The round's matching or publishing job that is still queued or running (if any)."""
    cutoff = utcnow() - STALE_JOB_AFTER
    for job in _jobs_of(round_, "queued", "running"):
        if job.created_at >= cutoff:
            return job
    return None


def _latest_job(round_: AllocationRound) -> Job | None:
    jobs = _jobs_of(round_)
    return jobs[0] if jobs else None


def round_job(round_: AllocationRound, job_id: int) -> Job | None:
    """A job of this round (for its progress page), else ``None``."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != JOB_KIND or (job.result or {}).get("round_id") != round_.id:
        return None
    return job


def _refuse_while_running(round_: AllocationRound) -> None:
    if active_job(round_) is not None:
        raise RoundConflict(
            _(
                "Für diese Runde läuft gerade eine Zuteilung oder Veröffentlichung. Bitte warten Sie, bis sie fertig ist."
            )
        )


@dataclass
class MatchOutcome:
    """What one run produced (also the summary of its job)."""

    round_id: int
    statistics: dict[str, Any]
    digest: str
    seconds: float
    proposals_filled: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "matched": self.statistics.get("matched", 0),
            "trainees": self.statistics.get("trainees", 0),
            "matched_share": self.statistics.get("matched_share", 0.0),
            "unfilled_seats": self.statistics.get("unfilled_seats", 0),
            "digest": self.digest,
            "seconds": round(self.seconds, 3),
            "proposals_filled": self.proposals_filled,
        }


def _fill_missing_rankings(
    round_: AllocationRound, actor_id: int | None, report: Progress
) -> list[int]:
    """Store the proposed order for every placement with applicants but no provider ranking."""
    unranked = set(
        db.session.scalars(
            sa.select(TraineeRanking.placement_id)
            .distinct()
            .join(RoundTrainee, _eligible_ranking())
            .where(
                TraineeRanking.round_id == round_.id,
                ~sa.exists().where(PlacementRanking.placement_id == TraineeRanking.placement_id),
            )
        )
    )
    missing = [p for p in round_.placements if p.id in unranked]
    language = "de"
    filled = []
    for done, placement in enumerate(missing, start=1):
        users = _applicants(round_, placement)
        order, items = _proposal(placement, users, language)
        _store_placement_ranking(round_, placement, order, {u.id: u for u in users})
        record(
            "rounds.placement_ranking_proposed",
            "allocation_round",
            round_.id,
            actor_id=actor_id,
            placement_id=placement.id,
            trainees=order,
        )
        filled.append(placement.id)
        report("proposals", done, len(missing))
    if not missing:
        report("proposals", 1, 1)
    db.session.commit()
    return filled


def run_match(
    round_id: int,
    *,
    actor_id: int | None = None,
    fill_missing: bool = True,
    progress: Progress | None = None,
) -> MatchOutcome:
    """Compute and store a round's stable allocation (trainee-optimal deferred acceptance).

    1. Lock the round for rankings (status ``matched``); refuse a published round.
    2. If ``fill_missing``, give each placement whose provider did not rank its applicants the
       proposed order by match score (stored as its ranking, audited).
    3. Build the preference dicts from the stored rankings and call ``deferred_acceptance``.
    4. Replace the round's assignments, store ``match_statistics`` and the input digest, audit.

    On a failure the round returns to the status it had. ``progress(step, done, total)`` is
    told about each step (see :data:`MATCH_STEPS`). Raises :class:`RoundError` with a message
    for the user (a domain validation error is translated, never a 500).
    """
    report = progress or (lambda step, done, total: None)
    round_ = db.session.get(AllocationRound, round_id)
    if round_ is None:
        raise RoundError(_("Diese Vergaberunde gibt es nicht."))
    _require_status(
        round_,
        "ranking",
        "matched",
        message=_("Zuteilen lässt sich eine Runde erst, wenn sie für Rangfolgen geöffnet war."),
    )
    previous = round_.status
    round_.status = "matched"
    db.session.commit()
    started = time.perf_counter()
    try:
        filled = _fill_missing_rankings(round_, actor_id, report) if fill_missing else []
        report("load", 0, 1)
        instance = build_instance(round_.id)
        report("load", 1, 1)
        report("match", 0, 1)
        try:
            matching = _solve(instance)
            statistics = _statistics(instance, matching)
        except MatchingError as err:
            trainees, placements = _names(round_.id)
            raise RoundError(_friendly_error(err, trainees, placements)) from err
        report("match", 1, 1)
        digest = input_digest(instance)
        seconds = time.perf_counter() - started
        statistics["seconds"] = round(seconds, 3)
        report("store", 0, 1)
        _store_assignments(round_.id, instance, matching)
        round_ = db.session.get(AllocationRound, round_id)
        round_.statistics = statistics
        round_.result_digest = digest
        round_.matched_at = utcnow()
        record(
            "rounds.matched",
            "allocation_round",
            round_.id,
            actor_id=actor_id,
            digest=digest,
            algorithm=ALGORITHM,
            matched=statistics["matched"],
            trainees=statistics["trainees"],
            unfilled_seats=statistics["unfilled_seats"],
            proposals_filled=filled,
        )
        db.session.commit()
        report("store", 1, 1)
    except BaseException:
        db.session.rollback()
        round_ = db.session.get(AllocationRound, round_id)
        if round_ is not None and round_.status == "matched" and previous != "matched":
            round_.status = previous
            db.session.commit()
        raise
    return MatchOutcome(round_id, statistics, digest, seconds, filled)


def _store_assignments(
    round_id: int, instance: Instance, matching: Mapping[int, int | None]
) -> None:
    db.session.execute(sa.delete(RoundAssignment).where(RoundAssignment.round_id == round_id))
    rows = []
    for trainee, placement in matching.items():
        rank = (
            instance.trainee_prefs[trainee].index(placement) + 1 if placement is not None else None
        )
        rows.append(
            {
                "round_id": round_id,
                "user_id": trainee,
                "placement_id": placement,
                "trainee_rank": rank,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(RoundAssignment), rows[start : start + 5000])


def _sync_limit() -> int:
    return int(current_app.config.get("ROUNDS_SYNC_MAX_ENTRIES", DEFAULT_SYNC_MAX_ENTRIES))


def _start_job(
    round_: AllocationRound, actor: User, action: str, size: int, work: Callable[[Progress], dict]
) -> Job:
    job = Job(
        kind=JOB_KIND,
        status="queued",
        message=str(STEP_LABELS[MATCH_STEPS[0] if action == "match" else PUBLISH_STEPS[0]]),
        result={"round_id": round_.id, "action": action},
        created_by_id=actor.id,
        progress_total=100,
    )
    db.session.add(job)
    db.session.commit()
    job_id, language = job.id, actor.language or "de"
    if size <= _sync_limit():
        _run_job(job_id, action, language, work)
        return db.session.get(Job, job_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def background() -> None:
        with app.app_context():
            try:
                _run_job(job_id, action, language, work)
            finally:
                db.session.remove()

    threading.Thread(target=background, name=f"rounds-{action}-{job_id}", daemon=True).start()
    return job


def _run_job(job_id: int, action: str, language: str, work: Callable[[Progress], dict]) -> None:
    """Run ``work`` for a ``Job`` row, keeping its progress current for the browser."""
    steps = MATCH_STEPS if action == "match" else PUBLISH_STEPS
    job = db.session.get(Job, job_id)
    job.status = "running"
    db.session.commit()

    def progress(step: str, done: int, total: int) -> None:
        index = steps.index(step) if step in steps else 0
        fraction = (index + (done / total if total else 1)) / len(steps)
        current = db.session.get(Job, job_id)
        current.progress_current = min(99, round(100 * fraction))
        current.progress_total = 100
        with force_locale(language):
            current.message = str(STEP_LABELS.get(step, step))
        db.session.commit()

    with mail_context(), force_locale(language):
        try:
            summary = work(progress)
        except RoundError as err:
            db.session.rollback()
            _finish_job(job_id, "failed", err.message, {})
        except Exception as err:  # noqa: BLE001 - the job page must say that it failed
            log.exception("rounds job %s failed", job_id)
            db.session.rollback()
            _finish_job(
                job_id, "failed", _("Unerwarteter Fehler: %(error)s", error=type(err).__name__), {}
            )
        else:
            _finish_job(job_id, "done", "", summary)


def _finish_job(job_id: int, status: str, message: str, summary: dict) -> None:
    job = db.session.get(Job, job_id)
    job.status = status
    job.message = message[:2000]
    job.result = {**(job.result or {}), "summary": summary}
    job.progress_current = 100 if status == "done" else job.progress_current
    job.progress_total = 100
    job.finished_at = utcnow()
    db.session.commit()


def start_match(round_: AllocationRound, actor: User, *, fill_missing: bool = True) -> Job:
    """Run the match as a job: within the request for small rounds, else in a background thread."""
    _require_status(
        round_,
        "ranking",
        "matched",
        message=_("Zuteilen lässt sich eine Runde erst, wenn sie für Rangfolgen geöffnet war."),
    )
    _refuse_while_running(round_)
    round_id, actor_id = round_.id, actor.id

    def work(progress: Progress) -> dict:
        return run_match(
            round_id, actor_id=actor_id, fill_missing=fill_missing, progress=progress
        ).summary()

    return _start_job(round_, actor, "match", _entry_count(round_id), work)


# --------------------------------------------------------------------------- publishing


def start_publish(round_: AllocationRound, actor: User) -> Job:
    """Publish as a job: within the request for small rounds, else in a background thread."""
    _check_publishable(round_)
    round_id, actor_id = round_.id, actor.id
    trainees = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RoundTrainee)
        .where(RoundTrainee.round_id == round_id)
    )
    size = int(trainees or 0) * 50  # rendering a mail costs about as much as 50 ranking entries

    def work(progress: Progress) -> dict:
        return {"mails": publish_round(round_id, actor_id=actor_id, progress=progress)}

    return _start_job(round_, actor, "publish", size, work)


def _check_publishable(round_: AllocationRound) -> None:
    _require_status(
        round_,
        "matched",
        message=_(
            "Veröffentlichen lässt sich nur ein berechnetes Ergebnis. Bitte führen Sie zuerst die Zuteilung aus."
        ),
    )
    _refuse_while_running(round_)
    if not round_.result_digest:
        raise RoundConflict(
            _("Es gibt noch kein Ergebnis. Bitte führen Sie zuerst die Zuteilung aus.")
        )


def publish_round(
    round_id: int, *, actor_id: int | None = None, progress: Progress | None = None
) -> int:
    """Make the result final and queue everyone's mail in the same transaction; returns the
    number of mails queued.

    Refused if the rankings changed since the result was computed (the digest of the stored
    inputs must equal the digest of the result).
    """
    report = progress or (lambda step, done, total: None)
    round_ = db.session.get(AllocationRound, round_id)
    if round_ is None:
        raise RoundError(_("Diese Vergaberunde gibt es nicht."))
    check_mutable(round_)
    if round_.status != "matched" or not round_.result_digest:
        raise RoundConflict(
            _("Es gibt noch kein Ergebnis. Bitte führen Sie zuerst die Zuteilung aus.")
        )
    report("publish", 0, 1)
    if input_digest(build_instance(round_.id)) != round_.result_digest:
        raise RoundConflict(
            _(
                "Die Rangfolgen haben sich seit der Zuteilung geändert. Bitte führen Sie die Zuteilung erneut aus."
            )
        )
    # No progress report from here to the commit: reporting commits the job's row, which
    # would commit a half-published round with it.
    round_.status = "published"
    round_.published_at = utcnow()
    mails = _queue_result_mails(round_)
    record(
        "rounds.published",
        "allocation_round",
        round_.id,
        actor_id=actor_id,
        digest=round_.result_digest,
        mails=mails,
    )
    db.session.commit()
    report("publish", 1, 1)
    return mails


def _absolute(endpoint: str, **values: Any) -> str:
    return current_app.config.get("BASE_URL", "").rstrip("/") + url_for(endpoint, **values)


def _queue_result_mails(round_: AllocationRound) -> int:
    assignments = {
        a.user_id: a
        for a in db.session.scalars(
            sa.select(RoundAssignment).where(RoundAssignment.round_id == round_.id)
        )
    }
    trainees = db.session.scalars(
        sa.select(User)
        .join(RoundTrainee, RoundTrainee.user_id == User.id)
        .where(RoundTrainee.round_id == round_.id, User.active.is_(True))
        .order_by(User.id)
    ).all()
    placements = {p.id: p for p in round_.placements}
    by_placement: dict[int, list[User]] = defaultdict(list)
    users = {u.id: u for u in trainees}
    for user_id, assignment in assignments.items():
        if assignment.placement_id is not None and user_id in users:
            by_placement[assignment.placement_id].append(users[user_id])
    by_organisation: dict[int, list[RoundPlacement]] = defaultdict(list)
    for placement in placements.values():
        by_organisation[placement.organisation_id].append(placement)
    members = db.session.execute(
        sa.select(Membership.organisation_id, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id.in_(by_organisation or {-1}),
            Membership.status == "approved",
            User.active.is_(True),
        )
        .order_by(Membership.organisation_id, User.id)
    ).all()
    total = len(trainees) + len(members)
    with mail_context():
        link = _absolute("rounds.index")
        for user in trainees:
            assignment = assignments.get(user.id)
            placement = (
                placements.get(assignment.placement_id)
                if assignment and assignment.placement_id
                else None
            )
            with force_locale(user.language or "de"):
                subject = _("Ergebnis der Vergaberunde „%(name)s“", name=round_.name)
            queue_email(
                user.email,
                subject,
                "rounds/trainee_result",
                language=user.language or "de",
                key=f"rounds:{round_.id}:trainee:{user.id}",
                category="rounds",
                trainee=user,
                round=round_,
                placement=placement,
                rank=assignment.trainee_rank if assignment else None,
                link=_absolute("rounds.my_ranking", round_id=round_.id),
            )
        for organisation_id, user in members:
            own = sorted(by_organisation[organisation_id], key=lambda p: p.id)
            lists = [
                (p, sorted(by_placement.get(p.id, []), key=lambda u: (u.name or u.email).lower()))
                for p in own
            ]
            with force_locale(user.language or "de"):
                subject = _("Zuteilung der Vergaberunde „%(name)s“", name=round_.name)
            queue_email(
                user.email,
                subject,
                "rounds/placement_list",
                language=user.language or "de",
                key=f"rounds:{round_.id}:organisation:{organisation_id}:user:{user.id}",
                category="rounds",
                member=user,
                round=round_,
                organisation=own[0].organisation,
                lists=lists,
                link=link,
            )
    return total


# --------------------------------------------------------------------------- result views


@dataclass
class AssignmentRow:
    user: User
    placement: RoundPlacement | None
    rank: int | None


@dataclass
class PlacementResult:
    placement: RoundPlacement
    assigned: list[AssignmentRow]

    @property
    def filled(self) -> int:
        return len(self.assigned)

    @property
    def unfilled(self) -> int:
        return max(0, self.placement.seats - self.filled)


@dataclass
class RoundResult:
    """A computed result with its figures, for the result page, the print view and the CSV."""

    round: AllocationRound
    statistics: dict[str, Any]
    rank_rows: list[tuple[int, int, float]]
    placements: list[PlacementResult]
    assignments: list[AssignmentRow]

    @property
    def unmatched(self) -> list[AssignmentRow]:
        return [a for a in self.assignments if a.placement is None]

    def chart(self, language: str) -> dict[str, Any]:
        """Data island of the rank-distribution bar chart."""
        with force_locale(language):
            labels = [_("%(rank)s. Wunsch", rank=rank) for rank, _count, _share in self.rank_rows]
            if self.statistics.get("unmatched"):
                labels.append(_("ohne Platz"))
            values = [count for _rank, count, _share in self.rank_rows]
            if self.statistics.get("unmatched"):
                values.append(self.statistics["unmatched"])
            return {
                "labels": labels,
                "values": values,
                "label": _("Auszubildende"),
                "lastIsUnplaced": bool(self.statistics.get("unmatched")),
            }


def round_result(round_: AllocationRound) -> RoundResult | None:
    """The stored result of a matched or published round (``None`` before the first run)."""
    if round_.status not in ("matched", "published") or not round_.result_digest:
        return None
    stats = dict(round_.statistics or {})
    matched = int(stats.get("matched", 0))
    rank_rows = [
        (int(rank), int(count), count / matched if matched else 0.0)
        for rank, count in stats.get("rank_distribution", [])
    ]
    placements = {p.id: p for p in round_.placements}
    rows = db.session.execute(
        sa.select(RoundAssignment, User)
        .join(User, User.id == RoundAssignment.user_id)
        .where(RoundAssignment.round_id == round_.id)
        .order_by(User.name, User.id)
    ).all()
    assignments = [
        AssignmentRow(
            user, placements.get(a.placement_id) if a.placement_id else None, a.trainee_rank
        )
        for a, user in rows
    ]
    by_placement: dict[int, list[AssignmentRow]] = defaultdict(list)
    for row in assignments:
        if row.placement is not None:
            by_placement[row.placement.id].append(row)
    return RoundResult(
        round_,
        stats,
        rank_rows,
        [PlacementResult(p, by_placement.get(p.id, [])) for p in round_.placements],
        assignments,
    )


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ would make spreadsheets run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_csv(round_: AllocationRound) -> str:
    """The result as CSV (semicolons, UTF-8 with BOM: spreadsheets open it as intended)."""
    result = round_result(round_)
    if result is None:
        raise RoundConflict(_("Es gibt noch kein Ergebnis zum Exportieren."))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    language = _language()
    writer.writerow(
        [
            _("Person"),
            _("E-Mail"),
            _("Einsatzort"),
            _("Organisation"),
            _("Gemeinde"),
            _("Einsatzart"),
            _("Wunschrang"),
        ]
    )
    for row in result.assignments:
        placement = row.placement
        org = placement.organisation if placement is not None else None
        writer.writerow(
            [
                _csv_cell(row.user.name),
                _csv_cell(row.user.email),
                _csv_cell(placement.name if placement else _("kein Platz")),
                _csv_cell(org.name if org else ""),
                _csv_cell(org.municipality.name if org is not None and org.municipality else ""),
                _csv_cell(
                    vocabulary_label(TAGS, placement.placement_tag, language)
                    if placement and placement.placement_tag
                    else ""
                ),
                "" if row.rank is None else str(row.rank),
            ]
        )
    return "\ufeff" + buffer.getvalue()


# --------------------------------------------------------------------------- verification


@dataclass
class Verification:
    """The checks of a stored result against a fresh run on the stored rankings."""

    stored_digest: str
    digest: str
    same_result: bool
    differences: list[tuple[str, str, str]]
    blocking: list[tuple[str, str]]
    same_statistics: bool
    error: str = ""
    audit: list[AuditLog] = field(default_factory=list)

    @property
    def same_inputs(self) -> bool:
        return bool(self.stored_digest) and self.stored_digest == self.digest

    @property
    def stable(self) -> bool:
        return not self.error and not self.blocking

    @property
    def ok(self) -> bool:
        return self.same_inputs and self.same_result and self.stable and self.same_statistics


def audit_trail(round_: AllocationRound) -> list[AuditLog]:
    """Every audit entry of the round, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.object_type == "allocation_round", AuditLog.object_id == str(round_.id))
            .order_by(AuditLog.created_at, AuditLog.id)
        )
    )


def verify_round(round_: AllocationRound) -> Verification:
    """Re-run the algorithm on the stored rankings and compare with the stored result.

    Checks: the digest of the stored inputs equals the digest stored with the result; the
    fresh matching equals the stored assignments; it has no blocking pairs; the statistics
    agree. Nothing is written.
    """
    instance = build_instance(round_.id)
    digest = input_digest(instance)
    trainees, placements = _names(round_.id)
    stored = dict(
        db.session.execute(
            sa.select(RoundAssignment.user_id, RoundAssignment.placement_id).where(
                RoundAssignment.round_id == round_.id
            )
        ).all()
    )
    try:
        fresh = _solve(instance)
        stored_matching = {t: stored.get(t) for t in instance.trainee_prefs}
        blocking_ids = blocking_pairs(
            instance.trainee_prefs, instance.placement_prefs, instance.capacities, stored_matching
        )
        statistics = _statistics(instance, stored_matching)
    except MatchingError as err:
        return Verification(
            round_.result_digest,
            digest,
            False,
            [],
            [],
            False,
            _friendly_error(err, trainees, placements),
            audit_trail(round_),
        )
    nobody = _("kein Platz")
    differences = [
        (
            trainees.get(t, str(t)),
            placements.get(stored.get(t), nobody) if stored.get(t) else nobody,
            placements.get(p, nobody) if p else nobody,
        )
        for t, p in fresh.items()
        if stored.get(t) != p
    ]
    differences += [
        (trainees.get(t, str(t)), placements.get(p, nobody) if p else nobody, "–")
        for t, p in stored.items()
        if t not in fresh
    ]
    compared = ("trainees", "matched", "unmatched", "rank_distribution", "seats", "unfilled_seats")
    same_statistics = all(statistics.get(k) == (round_.statistics or {}).get(k) for k in compared)
    return Verification(
        round_.result_digest,
        digest,
        not differences,
        differences,
        [(trainees.get(t, str(t)), placements.get(p, str(p))) for t, p in blocking_ids],
        same_statistics,
        "",
        audit_trail(round_),
    )

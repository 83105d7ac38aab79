"""Suggestions in the app: the only writer of ``Suggestion`` rows.

The scoring itself is :func:`network.matching.suggestions.suggest`; this module loads its plain
inputs from the database, stores the top-k lists with their reasons and fingerprints, and
carries out the coordinators' and providers' decisions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, url_for
from flask_babel import gettext as _

from network.audit import record
from network.extensions import db
from network.mail import queue_email
from network.matching.suggestions import pair_fingerprint, reason_text, suggest
from network.models import (
    Collaboration,
    Job,
    Membership,
    Municipality,
    Organisation,
    OrganisationTag,
    Suggestion,
    User,
)
from network.models.base import utcnow
from network.vocabulary import COLLABORATION_KINDS, MODEL_REGIONS

__all__ = [
    "DecisionError",
    "RefreshSummary",
    "QueueFilters",
    "refresh_suggestions",
    "start_refresh_job",
    "queue_page",
    "decide",
    "set_visibility",
    "give_feedback",
    "provider_suggestions",
    "rendered_reasons",
    "default_kind",
    "SUGGESTIONS_PER_ORGANISATION",
    "INCREMENTAL_LIMIT",
]

#: Length of each organisation's list (the engine's ``k``).
SUGGESTIONS_PER_ORGANISATION = 10
#: Up to this many changed organisations, a scheduled refresh recomputes only their lists.
INCREMENTAL_LIMIT = 200

Progress = Callable[[str, int, int], None]
FEEDBACK_VALUES = {"interested": 1.0, "not_relevant": -1.0}
DECIDED_STATUS = {"accept": "accepted", "reject": "rejected", "snooze": "snoozed"}


class DecisionError(Exception):
    """A decision cannot be carried out; the message is shown to the user."""


@dataclass
class RefreshSummary:
    organisations: int = 0
    created: int = 0
    updated: int = 0
    reopened: int = 0
    removed: int = 0
    incremental: bool = False
    seconds: float = 0.0

    def __str__(self) -> str:
        mode = "inkrementell" if self.incremental else "vollständig"
        return (
            f"{self.organisations} Organisationen ({mode}): {self.created} neu, "
            f"{self.updated} aktualisiert, {self.reopened} wieder offen, {self.removed} entfernt "
            f"in {self.seconds:.1f} s"
        )


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _load_inputs() -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """Organisations (with coordinates, offers, needs) and active collaborations as plain data."""
    tags: dict[int, tuple[set[str], set[str]]] = {}
    for org_id, direction, tag in db.session.execute(
        sa.select(OrganisationTag.organisation_id, OrganisationTag.direction, OrganisationTag.tag)
    ):
        offers, needs = tags.setdefault(org_id, (set(), set()))
        (offers if direction == "offer" else needs).add(tag)
    empty: tuple[set[str], set[str]] = (set(), set())
    organisations = [
        {
            "id": row.id,
            "kind": row.kind,
            "name": row.name,
            "ags": row.ags,
            "lat": row.latitude,
            "lon": row.longitude,
            "offers": tags.get(row.id, empty)[0],
            "needs": tags.get(row.id, empty)[1],
        }
        for row in db.session.execute(
            sa.select(
                Organisation.id,
                Organisation.kind,
                Organisation.name,
                Organisation.ags,
                Organisation.latitude,
                Organisation.longitude,
            ).order_by(Organisation.id)
        )
    ]
    collaborations = [
        (a, b)
        for a, b in db.session.execute(
            sa.select(Collaboration.org_a_id, Collaboration.org_b_id).where(
                Collaboration.status == "active"
            )
        )
    ]
    return organisations, collaborations


def _last_refresh() -> Any:
    return db.session.scalar(
        sa.select(Job.created_at)
        .where(Job.kind == "suggestions", Job.status == "done")
        .order_by(Job.created_at.desc())
        .limit(1)
    )


def changed_since_last_refresh() -> list[int] | None:
    """Ids of organisations changed since the last refresh, or ``None`` if there was none."""
    since = _last_refresh()
    if since is None:
        return None
    return list(
        db.session.scalars(sa.select(Organisation.id).where(Organisation.updated_at > since))
    )


def refresh_suggestions(
    *,
    only: Iterable[int] | None = None,
    progress: Progress | None = None,
    job: Job | None = None,
    auto_incremental: bool = False,
) -> RefreshSummary:
    """Recompute and store the top suggestions of every organisation (or just of ``only``).

    Decided suggestions keep their decision; open ones are updated, and on a full refresh the
    open ones no longer among anybody's top list are removed. A rejected pair is passed to the
    engine as rejected while its fingerprint (both sides' offers and needs) is unchanged; once
    it changed and the engine suggests the pair again, it is reopened. Providers' feedback
    ("interessiert" +1, "nicht relevant" −1) is passed to the engine and moves the score.

    With ``auto_incremental`` (the scheduler's mode) only organisations changed since the last
    refresh are recomputed, when there are at most :data:`INCREMENTAL_LIMIT` of them.
    """
    import time

    started = time.perf_counter()
    report = progress or (lambda step, done, total: None)
    if only is None and auto_incremental:
        changed = changed_since_last_refresh()
        if changed is not None and len(changed) <= INCREMENTAL_LIMIT:
            only = changed
    only_ids = None if only is None else sorted(set(only))
    summary = RefreshSummary(incremental=only_ids is not None)
    if only_ids is not None and not only_ids:
        _finish_job(job, summary, started)
        return summary

    report("laden", 0, 1)
    organisations, collaborations = _load_inputs()
    by_id = {org["id"]: org for org in organisations}
    existing = {
        (row.org_a_id, row.org_b_id): row
        for row in db.session.execute(
            sa.select(
                Suggestion.id,
                Suggestion.org_a_id,
                Suggestion.org_b_id,
                Suggestion.status,
                Suggestion.fingerprint,
                Suggestion.feedback_a,
                Suggestion.feedback_b,
            )
        )
    }
    rejected = []
    feedback: dict[tuple[int, int], float] = {}
    for (a, b), row in existing.items():
        if a not in by_id or b not in by_id:
            continue
        if row.status == "rejected" and row.fingerprint == pair_fingerprint(by_id[a], by_id[b]):
            rejected.append((a, b))
        if row.status == "snoozed":
            rejected.append((a, b))  # neither re-scored nor re-opened until the snooze ends
        if row.feedback_a in FEEDBACK_VALUES:
            feedback[(a, b)] = FEEDBACK_VALUES[row.feedback_a]
        if row.feedback_b in FEEDBACK_VALUES:
            feedback[(b, a)] = FEEDBACK_VALUES[row.feedback_b]
    report("laden", 1, 1)

    report("berechnen", 0, 1)
    lists = suggest(
        organisations,
        collaborations,
        SUGGESTIONS_PER_ORGANISATION,
        rejected=rejected,
        feedback=feedback,
        only=only_ids,
    )
    report("berechnen", 1, 1)
    summary.organisations = len(lists)

    best: dict[tuple[int, int], Any] = {}
    for items in lists.values():
        for item in items:
            key = _pair(item.source, item.target)
            if key not in best or item.score > best[key].score:
                best[key] = item

    now = utcnow()
    inserts, updates = [], []
    total = len(best)
    for done, (key, item) in enumerate(sorted(best.items()), start=1):
        values = {
            "score": float(item.score),
            "reasons": [{"code": r.code, "params": r.params} for r in item.reasons],
            "signals": {k: float(v) for k, v in item.signals.items()},
            "distance_km": float(item.distance_km),
            "cross_municipal": bool(item.cross_municipal),
            "fingerprint": pair_fingerprint(by_id[key[0]], by_id[key[1]]),
            "computed_at": now,
        }
        row = existing.get(key)
        if row is None:
            inserts.append({"org_a_id": key[0], "org_b_id": key[1], "status": "open", **values})
        elif row.status == "open":
            updates.append({"id": row.id, **values})
        elif row.status == "rejected":  # its fingerprint changed: new evidence
            updates.append({"id": row.id, "status": "open", "reviewed_at": None, **values})
            summary.reopened += 1
        if done % 5000 == 0 or done == total:
            report("speichern", done, total)
    for start in range(0, len(inserts), 5000):
        db.session.execute(sa.insert(Suggestion), inserts[start : start + 5000])
    if updates:
        db.session.execute(sa.update(Suggestion), updates)
    summary.created = len(inserts)
    summary.updated = len(updates) - summary.reopened
    if only_ids is None:
        stale = [
            row.id for key, row in existing.items() if row.status == "open" and key not in best
        ]
        for start in range(0, len(stale), 5000):
            db.session.execute(
                sa.delete(Suggestion).where(Suggestion.id.in_(stale[start : start + 5000]))
            )
        summary.removed = len(stale)
    _finish_job(job, summary, started)
    return summary


def _finish_job(job: Job | None, summary: RefreshSummary, started: float) -> None:
    import time

    summary.seconds = time.perf_counter() - started
    if job is None:
        job = Job(kind="suggestions", status="running")
        db.session.add(job)
    job.status = "done"
    job.finished_at = utcnow()
    job.progress_current = job.progress_total = max(job.progress_total or 0, 1)
    job.result = {
        "organisations": summary.organisations,
        "created": summary.created,
        "updated": summary.updated,
        "reopened": summary.reopened,
        "removed": summary.removed,
        "incremental": summary.incremental,
        "seconds": round(summary.seconds, 2),
    }
    job.message = str(summary)
    db.session.commit()


def start_refresh_job(user_id: int) -> Job:
    """Run a full refresh in a background thread; the browser polls the returned job."""
    job = Job(kind="suggestions", status="running", created_by_id=user_id, progress_total=3)
    db.session.add(job)
    db.session.commit()
    app = current_app._get_current_object()
    job_id = job.id
    steps = {"laden": 1, "berechnen": 2, "speichern": 3}

    def run() -> None:
        with app.app_context():
            background_job = db.session.get(Job, job_id)

            def progress(step: str, done: int, total: int) -> None:
                if done >= total:
                    background_job.progress_current = steps.get(step, 0)
                    background_job.message = step
                    db.session.commit()

            try:
                refresh_suggestions(progress=progress, job=background_job)
            except Exception as err:  # noqa: BLE001 - shown on the job page
                db.session.rollback()
                failed = db.session.get(Job, job_id)
                failed.status = "failed"
                failed.message = f"{type(err).__name__}: {err}"
                failed.finished_at = utcnow()
                db.session.commit()
                app.logger.exception("suggestion refresh failed")
            finally:
                db.session.remove()

    threading.Thread(target=run, name="suggestions-refresh", daemon=True).start()
    return job


# --------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueFilters:
    kreis: str = ""
    model_region: str = ""
    kind: str = ""
    min_score: float | None = None
    cross_only: bool = False
    status: str = "open"
    sort: str = "score"

    def as_args(self) -> dict[str, Any]:
        args = {
            "kreis": self.kreis,
            "model_region": self.model_region,
            "kind": self.kind,
            "min_score": "" if self.min_score is None else self.min_score,
            "cross_only": "1" if self.cross_only else "",
            "status": self.status,
            "sort": self.sort,
        }
        return {k: v for k, v in args.items() if v not in ("", None)}


def queue_page(filters: QueueFilters, page: int, per_page: int = 25) -> Any:
    """One page of the review queue, with both organisations loaded."""
    org_a = so.aliased(Organisation)
    org_b = so.aliased(Organisation)
    place_a = so.aliased(Municipality)
    place_b = so.aliased(Municipality)
    query = (
        sa.select(Suggestion)
        .join(org_a, Suggestion.org_a_id == org_a.id)
        .join(org_b, Suggestion.org_b_id == org_b.id)
        .join(place_a, org_a.ags == place_a.ags)
        .join(place_b, org_b.ags == place_b.ags)
        .options(so.joinedload(Suggestion.org_a), so.joinedload(Suggestion.org_b))
    )
    today = date.today()
    if filters.status == "open":
        query = query.where(
            sa.or_(
                Suggestion.status == "open",
                sa.and_(Suggestion.status == "snoozed", Suggestion.snoozed_until <= today),
            )
        )
    elif filters.status in ("accepted", "rejected", "snoozed"):
        query = query.where(Suggestion.status == filters.status)
    if filters.kreis:
        query = query.where(
            sa.or_(place_a.kreis_ags == filters.kreis, place_b.kreis_ags == filters.kreis)
        )
    if filters.model_region:
        query = query.where(
            sa.or_(
                place_a.model_region == filters.model_region,
                place_b.model_region == filters.model_region,
            )
        )
    if filters.kind:
        query = query.where(sa.or_(org_a.kind == filters.kind, org_b.kind == filters.kind))
    if filters.min_score is not None:
        query = query.where(Suggestion.score >= filters.min_score)
    if filters.cross_only:
        query = query.where(Suggestion.cross_municipal.is_(True))
    order = {
        "score": (Suggestion.score.desc(), Suggestion.id),
        "distance": (Suggestion.distance_km.asc(), Suggestion.id),
        "newest": (Suggestion.computed_at.desc(), Suggestion.id),
    }.get(filters.sort, (Suggestion.score.desc(), Suggestion.id))
    return db.paginate(query.order_by(*order), page=page, per_page=per_page, error_out=False)


def kreise() -> list[tuple[str, str]]:
    return [
        (kreis_ags, kreis)
        for kreis_ags, kreis in db.session.execute(
            sa.select(Municipality.kreis_ags, Municipality.kreis)
            .distinct()
            .order_by(Municipality.kreis)
        )
    ]


def model_regions() -> list[tuple[str, str]]:
    return [(slug, name) for slug, (name, _members) in MODEL_REGIONS.items()]


def rendered_reasons(suggestion: Suggestion, language: str) -> list[str]:
    """The stored reasons in the reader's language."""
    texts = []
    for reason in suggestion.reasons or []:
        try:
            texts.append(reason_text(reason["code"], reason.get("params", {}), language))
        except Exception:  # noqa: BLE001 - an outdated code must not break the queue
            texts.append(reason.get("code", ""))
    return texts


def default_kind(suggestion: Suggestion) -> str:
    """A sensible kind of collaboration for an accepted suggestion, from what connects the pair."""
    text = " ".join(str(r.get("params", {})) + r.get("code", "") for r in suggestion.reasons or [])
    if "placement:" in text or "training:nursing" in text or "alliance" in text or "gap" in text:
        return "training"
    if "telemedicine" in text:
        return "telemedicine"
    if "shared_staff" in text:
        return "staff_exchange"
    return "cooperation"


def decide(
    suggestion: Suggestion,
    action: str,
    actor: User,
    *,
    comment: str = "",
    kind: str | None = None,
    snooze_until: date | None = None,
) -> Suggestion:
    """Accept, reject or snooze a suggestion; every decision is logged with its comment."""
    if action not in ("accept", "reject", "snooze"):
        raise DecisionError(_("Unbekannte Entscheidung."))
    if suggestion.status == "accepted":
        raise DecisionError(_("Dieser Vorschlag ist schon angenommen."))
    now = utcnow()
    if action == "accept":
        kind = kind or default_kind(suggestion)
        if kind not in COLLABORATION_KINDS:
            raise DecisionError(_("Bitte wählen Sie eine Art der Zusammenarbeit."))
        collaboration = db.session.scalar(
            sa.select(Collaboration).where(
                Collaboration.org_a_id == suggestion.org_a_id,
                Collaboration.org_b_id == suggestion.org_b_id,
                Collaboration.status == "active",
            )
        )
        if collaboration is None:
            collaboration = Collaboration(
                org_a_id=suggestion.org_a_id,
                org_b_id=suggestion.org_b_id,
                kind=kind,
                status="active",
                since=date.today(),
                source="suggestion",
                confirmed_a=True,
                confirmed_b=True,
                note=comment,
                created_by_id=actor.id,
            )
            db.session.add(collaboration)
            db.session.flush()
        suggestion.collaboration_id = collaboration.id
        suggestion.status = "accepted"
        _send_introductions(suggestion, kind)
    elif action == "reject":
        suggestion.status = "rejected"
    else:
        if snooze_until is None or snooze_until <= date.today():
            raise DecisionError(_("Bitte wählen Sie ein Datum in der Zukunft."))
        suggestion.status = "snoozed"
        suggestion.snoozed_until = snooze_until
    suggestion.reviewed_by_id = actor.id
    suggestion.reviewed_at = now
    suggestion.review_comment = comment
    record(
        f"suggestion.{DECIDED_STATUS[action]}",
        "suggestion",
        suggestion.id,
        actor_id=actor.id,
        organisations=[suggestion.org_a_id, suggestion.org_b_id],
        comment=comment,
        score=suggestion.score,
        kind=kind,
        snoozed_until=snooze_until.isoformat() if snooze_until else None,
    )
    db.session.commit()
    return suggestion


def _recipients(org: Organisation) -> list[tuple[str, str, str]]:
    """(e-mail, name, language) of an organisation's members and its contact address."""
    people = {}
    for user in db.session.scalars(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == org.id,
            Membership.status == "approved",
            User.active.is_(True),
        )
    ):
        people[user.email.lower()] = (user.email, user.name or user.email, user.language)
    if org.contact_email and org.contact_email.lower() not in people:
        people[org.contact_email.lower()] = (org.contact_email, org.contact_name or org.name, "de")
    return sorted(people.values())


def _send_introductions(suggestion: Suggestion, kind: str) -> None:
    base = current_app.config["BASE_URL"]
    for own, other in ((suggestion.org_a, suggestion.org_b), (suggestion.org_b, suggestion.org_a)):
        for email, name, language in _recipients(own):
            queue_email(
                email,
                _("Vorstellung: %(other)s", other=other.name)
                if language == "de"
                else f"Introduction: {other.name}",
                "suggestions/introduction",
                language=language,
                key=f"introduction:{suggestion.id}:{email.lower()}",
                category="introduction",
                name=name,
                own=own,
                other=other,
                kind=kind,
                reasons=rendered_reasons(suggestion, language),
                distance_km=suggestion.distance_km,
                other_url=base + url_for("directory.profile", org_id=other.id),
                comment=suggestion.review_comment,
            )


def set_visibility(suggestions: Iterable[Suggestion], visible: bool, actor: User) -> int:
    """Show (or hide) open suggestions to the providers concerned as ideas."""
    count = 0
    for suggestion in suggestions:
        if suggestion.visible_to_providers != visible:
            suggestion.visible_to_providers = visible
            count += 1
            record(
                "suggestion.visibility",
                "suggestion",
                suggestion.id,
                actor_id=actor.id,
                visible=visible,
            )
    db.session.commit()
    return count


def member_organisation_ids(user: User) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Membership.organisation_id).where(
                Membership.user_id == user.id, Membership.status == "approved"
            )
        )
    )


def provider_suggestions(user: User) -> list[tuple[Suggestion, Organisation, Organisation]]:
    """Suggestions concerning the user's organisations: introductions and enabled ideas.

    Returns (suggestion, own organisation, the other organisation), accepted ones first.
    """
    own = member_organisation_ids(user)
    if not own:
        return []
    rows = db.session.scalars(
        sa.select(Suggestion)
        .where(
            sa.or_(Suggestion.org_a_id.in_(own), Suggestion.org_b_id.in_(own)),
            sa.or_(
                Suggestion.status == "accepted",
                sa.and_(Suggestion.status == "open", Suggestion.visible_to_providers.is_(True)),
            ),
        )
        .options(so.joinedload(Suggestion.org_a), so.joinedload(Suggestion.org_b))
        .order_by((Suggestion.status == "accepted").desc(), Suggestion.score.desc())
    ).all()
    result = []
    for suggestion in rows:
        if suggestion.org_a_id in own:
            result.append((suggestion, suggestion.org_a, suggestion.org_b))
        else:
            result.append((suggestion, suggestion.org_b, suggestion.org_a))
    return result


def give_feedback(suggestion: Suggestion, user: User, value: str) -> None:
    """A provider's "interessiert" / "nicht relevant" for their side of the pair."""
    if value not in FEEDBACK_VALUES:
        raise DecisionError(_("Unbekannte Rückmeldung."))
    own = member_organisation_ids(user)
    if suggestion.org_a_id in own:
        suggestion.feedback_a = value
    elif suggestion.org_b_id in own:
        suggestion.feedback_b = value
    else:
        raise PermissionError
    record("suggestion.feedback", "suggestion", suggestion.id, actor_id=user.id, feedback=value)
    db.session.commit()


__all__ += ["kreise", "model_regions", "member_organisation_ids", "changed_since_last_refresh"]

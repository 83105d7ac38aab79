"""The outbox: queue in the caller's transaction, deliver later with retries."""

from __future__ import annotations

import logging
import socket
import smtplib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid

import sqlalchemy as sa
from flask import Flask, current_app, g, render_template
from flask_babel import force_locale
from flask_mail import Message

from network.extensions import db, mail
from network.models import OutboxMessage
from network.models.base import utcnow

__all__ = ["DeliveryReport", "queue_email", "render_email", "deliver_due", "init_app", "backoff"]

log = logging.getLogger(__name__)

#: Errors after which the same message will never be accepted (bad address): no retry.
PERMANENT_ERRORS = (smtplib.SMTPRecipientsRefused,)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.sent} gesendet, {self.retried} zur Wiederholung, {self.failed} fehlgeschlagen"


def render_email(template: str, language: str = "de", **context: object) -> tuple[str, str]:
    """Render ``templates/email/<template>.txt`` and ``.html`` in ``language``."""
    with force_locale(language):
        text = render_template(f"email/{template}.txt", lang=language, **context)
        html = render_template(f"email/{template}.html", lang=language, **context)
    return text, html


def queue_email(
    recipient: str,
    subject: str,
    template: str,
    *,
    language: str = "de",
    key: str | None = None,
    category: str = "notification",
    headers: dict[str, str] | None = None,
    **context: object,
) -> OutboxMessage:
    """Add a message to the outbox in the current transaction; the caller commits.

    ``key`` makes queueing idempotent: a second call with the same key returns the existing
    message instead of adding another.
    """
    if key:
        existing = db.session.scalar(sa.select(OutboxMessage).filter_by(idempotency_key=key))
        if existing is not None:
            return existing
    text, html = render_email(template, language, **context)
    message = OutboxMessage(
        idempotency_key=key or f"{category}:{uuid.uuid4()}",
        category=category,
        recipient=recipient,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=dict(headers or {}),
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    g.outbox_has_new_mail = True
    return message


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, … capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 6 * 3600))


def _claim(now: datetime, limit: int, holder: str, lease: timedelta) -> list[int]:
    """Claim due messages with a compare-and-set UPDATE per row, safe across processes."""
    due = db.session.scalars(
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for message_id in due:
        result = db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == "pending",
                sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .values(claimed_until=now + lease, claimed_by=holder)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    return claimed


def _as_mail(message: OutboxMessage) -> Message:
    mail_message = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.text_body,
        html=message.html_body or None,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=dict(message.headers or {}),
    )
    # A stable Message-ID lets receiving servers drop a duplicate after a crash mid-send.
    domain = current_app.config.get("BASE_URL", "localhost").split("//")[-1].split("/")[0].split(":")[0]
    mail_message.msgId = make_msgid(idstring=f"outbox{message.id}", domain=domain or "localhost")
    return mail_message


def deliver_due(limit: int = 200, *, now: datetime | None = None, holder: str | None = None) -> DeliveryReport:
    """Send due messages; each is committed as sent right after the SMTP server accepted it."""
    now = now or utcnow()
    holder = holder or f"{socket.gethostname()}:{threading.get_ident()}"
    lease = timedelta(seconds=max(60, current_app.config.get("MAIL_TIMEOUT_SECONDS", 10) * 6))
    report = DeliveryReport()
    claimed = _claim(now, limit, holder, lease)
    if not claimed:
        return report
    max_attempts = current_app.config.get("OUTBOX_MAX_ATTEMPTS", 12)
    try:
        connection = mail.connect()
        connection.__enter__()
    except (OSError, smtplib.SMTPException) as err:
        # The server is down: release every claim and retry all of them later.
        for message_id in claimed:
            _record_failure(message_id, err, max_attempts, report)
        return report
    try:
        for message_id in claimed:
            message = db.session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                continue
            try:
                connection.send(_as_mail(message))
            except (OSError, smtplib.SMTPException) as err:
                _record_failure(message_id, err, max_attempts, report)
                if isinstance(err, smtplib.SMTPServerDisconnected | OSError):
                    break
                continue
            message.status = "sent"
            message.sent_at = utcnow()
            message.attempts += 1
            message.claimed_until = None
            db.session.commit()
            report.sent += 1
    finally:
        try:
            connection.__exit__(None, None, None)
        except (OSError, smtplib.SMTPException):
            pass
        # Claims of messages not reached (after a disconnect) simply expire and are retried.
    return report


def _record_failure(message_id: int, err: Exception, max_attempts: int, report: DeliveryReport) -> None:
    db.session.rollback()
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        return
    message.attempts += 1
    message.last_error = f"{type(err).__name__}: {err}"[:2000]
    message.claimed_until = None
    if isinstance(err, PERMANENT_ERRORS) or message.attempts >= max_attempts:
        message.status = "failed"
        report.failed += 1
    else:
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        report.retried += 1
    report.errors.append(message.last_error)
    db.session.commit()
    log.warning("mail to %s not delivered (attempt %s): %s", message.recipient, message.attempts, err)


def _deliver_in_background(app: Flask) -> None:
    def run() -> None:
        with app.app_context():
            try:
                deliver_due(limit=50)
            except Exception:  # noqa: BLE001 - the scheduler retries; never crash the thread
                log.exception("background delivery failed")
            finally:
                db.session.remove()

    threading.Thread(target=run, name="outbox-delivery", daemon=True).start()


def init_app(app: Flask) -> None:
    """Deliver right after a request that queued mail, when ``OUTBOX_SEND_IMMEDIATELY`` is on."""

    @app.teardown_request
    def _send_new_mail(exc: BaseException | None) -> None:
        if exc is None and g.pop("outbox_has_new_mail", False) and app.config.get("OUTBOX_SEND_IMMEDIATELY"):
            _deliver_in_background(app)

"""The outbox: queue in the caller's transaction, deliver later with retries.

Delivery guarantees
-------------------
*Nothing is lost*: a message is a row first; it stays ``pending`` until an SMTP server has the
whole message, and every failure reschedules it with exponential backoff.

*Nothing is sent twice*: a sender claims a batch of rows for a short lease (an atomic UPDATE),
so two senders never pick the same row. Each message is then sent in an SMTP transaction whose
end-of-data marker (the final ``.``) goes out only **after** the row was committed as ``sent``
with a compare-and-set (``WHERE status = 'pending' AND claimed_by = me``). Without that marker
the server discards the message, so:

- a sender killed before the commit leaves an unfinished SMTP transaction (discarded by the
  server) and a ``pending`` row, which is sent again once its lease expires — exactly once;
- a sender killed after the commit has either written the marker (the server delivers) or not
  (a few microseconds of writing three bytes; the only window in which a message can be lost);
- a sender whose lease expired while it was slow loses the compare-and-set to the sender that
  took over and abandons its transaction instead of finishing it;
- if the server refuses the finished message, the row goes back to ``pending`` (or ``failed``).

Every message also carries a stable ``Message-ID``, so receiving servers can drop a duplicate in
the one case where we cannot know: the marker was written but the server's answer never came.
"""

from __future__ import annotations

import binascii
import email.header
import email.utils
import functools
import hashlib
import logging
import os
import re
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formatdate
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, render_template
from flask_babel import force_locale
from flask_mail import (
    Message,
    email_dispatched,
    sanitize_address,
)

from network.extensions import db
from network.models import OutboxMessage
from network.models.base import utcnow

__all__ = [
    "DeliveryReport",
    "queue_email",
    "queue_rendered",
    "queue_many",
    "render_email",
    "mail_context",
    "deliver_due",
    "deliver_all",
    "BackgroundDelivery",
    "init_app",
    "backoff",
]

log = logging.getLogger(__name__)

CRLF = b"\r\n"
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.errors.extend(other.errors[: max(0, 50 - len(self.errors))])

    def __str__(self) -> str:
        return (
            f"{self.sent} gesendet, {self.retried} zur Wiederholung, {self.failed} fehlgeschlagen"
        )


# --------------------------------------------------------------------------- queueing


@contextmanager
def mail_context() -> Iterator[None]:
    """Make templates and ``url_for`` work outside a request (CLI, scheduler, threads).

    The app's context processors read ``request``; a request context built from ``BASE_URL``
    gives them one. Mail queued inside it is delivered by the caller, not by the
    request-teardown hook, which would start a thread the CLI might kill mid-send.
    """
    if has_request_context():
        yield
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.test_request_context("/", base_url=app.config.get("BASE_URL") or None):
        try:
            yield
        finally:
            g.pop("outbox_has_new_mail", None)


def render_email(template: str, language: str = "de", **context: object) -> tuple[str, str]:
    """Render ``templates/email/<template>.txt`` and ``.html`` in ``language``."""
    with mail_context(), force_locale(language):
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
    message instead of adding another (and the unique index refuses a concurrent twin).
    """
    if key:
        existing = db.session.scalar(sa.select(OutboxMessage).filter_by(idempotency_key=key))
        if existing is not None:
            return existing
    text, html = render_email(template, language, **context)
    return queue_rendered(
        recipient, subject, text, html, key=key, category=category, headers=headers
    )


def queue_many(messages: list[dict[str, Any]], *, category: str = "notification") -> list[int]:
    """Add many rendered messages with one INSERT in the current transaction; returns their ids.

    Each dict has ``recipient``, ``subject``, ``text_body`` and optionally ``html_body``,
    ``key`` and ``headers``; the ids come back in the same order. Keys are not looked up first
    (the unique index refuses a twin, failing the caller's transaction).
    """
    if not messages:
        return []
    now = utcnow()
    rows = [
        {
            "idempotency_key": m.get("key") or f"{category}:{uuid.uuid4()}",
            "category": category,
            "recipient": m["recipient"],
            "subject": m["subject"],
            "text_body": m["text_body"],
            "html_body": m.get("html_body", ""),
            "headers": dict(m.get("headers") or {}),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": "",
            "last_error": "",
            "created_at": now,
        }
        for m in messages
    ]
    ids = db.session.scalars(
        sa.insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True), rows
    ).all()
    g.outbox_has_new_mail = True
    return list(ids)


def queue_rendered(
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str = "",
    *,
    key: str | None = None,
    category: str = "notification",
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Add an already rendered message in the current transaction; the caller commits.

    Unlike :func:`queue_email` it does not look ``key`` up first (bulk callers check a whole
    batch at once); the unique index still refuses a second message with the same key.
    """
    message = OutboxMessage(
        idempotency_key=key or f"{category}:{uuid.uuid4()}",
        category=category,
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers=dict(headers or {}),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    g.outbox_has_new_mail = True
    return message


# --------------------------------------------------------------------------- delivery


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, … capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 6 * 3600))


def _setting(name: str, default: int) -> int:
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _claim_lease() -> timedelta:
    # Short enough that a crashed sender's messages go out again soon; being slower than the
    # lease costs at most an abandoned SMTP transaction (see the module docstring).
    return timedelta(seconds=max(1, _setting("OUTBOX_CLAIM_SECONDS", 60)))


def _new_holder() -> str:
    host = socket.gethostname()[:40]
    return f"{host}:{os.getpid()}:{threading.get_ident() % 100000}:{uuid.uuid4().hex[:8]}"


_MESSAGE_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.idempotency_key,
    OutboxMessage.recipient,
    OutboxMessage.subject,
    OutboxMessage.text_body,
    OutboxMessage.html_body,
    OutboxMessage.headers,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
)


def _claim(now: datetime, limit: int, holder: str, lease: timedelta) -> list[Any]:
    """Claim up to ``limit`` due messages with one atomic UPDATE; return their rows."""
    unclaimed = sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    due_ids = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, unclaimed)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    ids = list(db.session.scalars(due_ids))
    if not ids:
        db.session.rollback()
        return []
    # The conditions are checked again inside the UPDATE: on PostgreSQL a concurrent claimer
    # waits for our row locks and then finds the rows claimed; SQLite serialises writers.
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending", unclaimed)
        .values(claimed_until=now + lease, claimed_by=holder)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    rows = db.session.execute(
        sa.select(*_MESSAGE_COLUMNS)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.claimed_by == holder,
            OutboxMessage.status == "pending",
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()
    db.session.rollback()
    return rows


def _renew(ids: list[int], holder: str, until: datetime) -> None:
    if ids:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.claimed_by == holder,
                OutboxMessage.status == "pending",
            )
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _release(ids: list[int], holder: str) -> None:
    if ids:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.claimed_by == holder,
                OutboxMessage.status == "pending",
            )
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _mail_domain() -> str:
    base = current_app.config.get("BASE_URL") or "localhost"
    return base.split("//")[-1].split("/")[0].split(":")[0] or "localhost"


@dataclass(frozen=True, slots=True)
class _Wire:
    """One message as it goes over SMTP: envelope and the bytes of the DATA command."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    #: The body has 8-bit parts: announced with BODY=8BITMIME.
    eight_bit: bool = False


class _BadHeader(ValueError):
    pass


def _header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise _BadHeader(f"line break in header {name}")
    if value.isascii():
        return value
    return email.header.Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


@functools.lru_cache(maxsize=512)
def _encoded_subject(subject: str) -> str:
    return _header_value("Subject", subject)


def _address(address: str) -> str:
    """The address for headers and the envelope (Flask-Mail's IDN/RFC 2047 handling if needed)."""
    if "\r" in address or "\n" in address:
        raise _BadHeader("line break in an address")
    if address.isascii() and "<" not in address and "," not in address:
        return address
    return _encoded_address(address)


@functools.lru_cache(maxsize=64)
def _encoded_address(address: str) -> str:
    return sanitize_address(address, "utf-8")


#: RFC 5322: no line longer than 998 characters (without CRLF).
MAX_LINE = 998


def _encode_part(text: str, eight_bit: bool) -> tuple[str, bytes]:
    """``(Content-Transfer-Encoding, body)`` of one text part, lines ending in CRLF.

    As it is (7bit or 8bit) when the server takes 8-bit mail and no line is too long: fewer and
    readable lines for both sides. Otherwise quoted-printable (C-encoded): Flask-Mail would send
    ASCII text as 7bit whatever its length, and one paragraph longer than 998 characters (a long
    announcement, an applicant's letter) breaks RFC 5322, so servers refuse the message.
    """
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    if eight_bit and max(map(len, data.split(b"\n")), default=0) <= MAX_LINE:
        return ("7bit" if data.isascii() else "8bit"), data.replace(b"\n", CRLF)
    encoded = binascii.b2a_qp(data, istext=True)
    return "quoted-printable", encoded.replace(b"\r\n", b"\n").replace(b"\n", CRLF)


def _part(subtype: str, text: str, eight_bit: bool) -> tuple[bytes, bytes, bool]:
    encoding, body = _encode_part(text, eight_bit)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n'
    return head.encode("ascii"), body, encoding == "8bit"


def _wire(row: Any, eight_bit: bool = False) -> _Wire:
    """The message of an outbox row, written directly.

    ``multipart/alternative`` (text, then HTML), headers already encoded: writing these few
    lines by hand costs a fraction of the email package's generator, which re-folds every
    header; at tens of thousands of digests that was most of the CPU. ``eight_bit``: the server
    announced 8BITMIME.
    """
    sender = _address(current_app.config["MAIL_DEFAULT_SENDER"])
    recipient = _address(row.recipient)
    # Stable across retries (unlike make_msgid): a receiving server can drop a duplicate.
    stable = hashlib.sha256(
        f"{row.idempotency_key}|{row.created_at.isoformat()}".encode()
    ).hexdigest()[:20]
    headers = [
        f"Subject: {_encoded_subject(row.subject)}",
        f"From: {sender}",
        f"To: {recipient}",
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: <outbox.{row.id}.{stable}@{_mail_domain()}>",
        "MIME-Version: 1.0",
    ]
    headers += [
        f"{name}: {_header_value(name, str(value))}" for name, value in (row.headers or {}).items()
    ]
    text_head, text_body, text_8bit = _part("plain", row.text_body or "", eight_bit)
    if row.html_body:
        html_head, html_body, html_8bit = _part("html", row.html_body, eight_bit)
        boundary = f"=_{uuid.uuid4().hex}"
        headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        marker = f"--{boundary}".encode()
        body = b"".join(
            (
                marker + CRLF,
                text_head + CRLF,
                text_body,
                CRLF + marker + CRLF,
                html_head + CRLF,
                html_body,
                CRLF + marker + b"--" + CRLF,
            )
        )
        uses_8bit = text_8bit or html_8bit
    else:
        headers.append(text_head.decode("ascii").rstrip("\r\n"))
        body = text_body + CRLF
        uses_8bit = text_8bit
    data = "\r\n".join(headers).encode("ascii") + CRLF + CRLF + body
    return _Wire(sender=sender, recipients=(recipient,), data=data, eight_bit=uses_8bit)


def _dispatched_message(row: Any) -> Message:
    """A Flask-Mail message for ``email_dispatched`` listeners (e.g. ``mail.record_messages``)."""
    return Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.text_body,
        html=row.html_body or None,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=dict(row.headers or {}),
    )


def _open_smtp() -> smtplib.SMTP | None:
    """A connection with a timeout (Flask-Mail's has none); ``None`` when sending is suppressed."""
    state = current_app.extensions["mail"]
    if state.suppress:
        return None
    timeout = current_app.config.get("MAIL_TIMEOUT_SECONDS", 10)
    smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
    connection = smtp_class(state.server, state.port, timeout=timeout)
    try:
        # The end-of-data marker goes out as its own small write after the commit; without
        # TCP_NODELAY, Nagle's algorithm holds it back until the server's delayed ACK (~40 ms).
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if state.use_tls:
            connection.starttls()
        if state.username and state.password:
            connection.login(state.username, state.password)
        connection.ehlo_or_helo_if_needed()
    except BaseException:
        connection.close()
        raise
    return connection


class _ClaimLost(Exception):
    """Another sender took the message over; our unfinished SMTP transaction was abandoned."""


class _RefusedAfterCommit(Exception):
    """The server refused the complete message after we had recorded it as sent."""

    def __init__(self, error: Exception, *, delivered_unknown: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.delivered_unknown = delivered_unknown


@functools.lru_cache(maxsize=64)
def _parsed_address(address: str) -> str:
    return email.utils.parseaddr(address)[1]


def _envelope_address(address: str) -> str:
    """The bare address for the SMTP envelope."""
    if "<" not in address and " " not in address:
        return address
    return _parsed_address(address)


def _transmit(smtp: smtplib.SMTP, wire: _Wire, mark_sent: Callable[[], bool]) -> None:
    """One SMTP transaction; ``mark_sent()`` commits the row before the end-of-data marker."""
    envelope_from, recipients, data = wire.sender, wire.recipients, wire.data
    options: list[str] = []
    if smtp.does_esmtp and smtp.has_extn("size"):
        options.append(f"size={len(data)}")
    if wire.eight_bit:
        options.append("BODY=8BITMIME")
    # MAIL and RCPT written directly with pre-parsed addresses (smtplib re-parses both each time).
    option_text = (" " + " ".join(options)) if options and smtp.does_esmtp else ""
    smtp.putcmd("mail", f"FROM:<{_envelope_address(envelope_from)}>{option_text}")
    code, reply = smtp.getreply()
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
    refused = {}
    for recipient in recipients:
        smtp.putcmd("rcpt", f"TO:<{_envelope_address(recipient)}>")
        code, reply = smtp.getreply()
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        smtp.rset()
        raise smtplib.SMTPDataError(code, reply)
    payload = _LEADING_DOT.sub(b"..", data)
    if not payload.endswith(CRLF):
        payload += CRLF
    try:
        smtp.send(payload)
        if not mark_sent():
            raise _ClaimLost()
    except BaseException:
        smtp.close()  # the server drops a transaction that never saw its final "."
        raise
    try:
        smtp.send(b"." + CRLF)
    except smtplib.SMTPServerDisconnected as err:
        raise _RefusedAfterCommit(err) from err
    try:
        code, reply = smtp.getreply()
    except smtplib.SMTPServerDisconnected as err:
        raise _RefusedAfterCommit(err, delivered_unknown=True) from err
    if code != 250:
        raise _RefusedAfterCommit(smtplib.SMTPDataError(code, reply))


def _is_permanent(err: Exception) -> bool:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(err, smtplib.SMTPResponseException) and 500 <= err.smtp_code < 600


def _schedule_retry(
    message_id: int, err: Exception, holder: str, now: datetime, from_status: str
) -> str:
    """Count the failed attempt; reschedule with backoff or give up. Returns the new status."""
    max_attempts = current_app.config.get("OUTBOX_MAX_ATTEMPTS", 12)
    attempts = (
        db.session.scalar(sa.select(OutboxMessage.attempts).where(OutboxMessage.id == message_id))
        or 0
    )
    if from_status == "pending":
        attempts += 1  # a reverted "sent" row counted its attempt already
    status = "failed" if _is_permanent(err) or attempts >= max_attempts else "pending"
    error = f"{type(err).__name__}: {err}"[:2000]
    db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == holder,
            OutboxMessage.status == from_status,
        )
        .values(
            status=status,
            attempts=attempts,
            last_error=error,
            sent_at=None,
            claimed_until=None,
            next_attempt_at=now + backoff(attempts),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    log.warning("mail %s not delivered (attempt %s, %s): %s", message_id, attempts, status, err)
    return status


def deliver_due(
    limit: int = 200, *, now: datetime | None = None, holder: str | None = None
) -> DeliveryReport:
    """Send up to ``limit`` due messages, each recorded as sent exactly when it goes out.

    Safe to run in several processes at once (claims and compare-and-set, see the module
    docstring). Failures are retried later with :func:`backoff`; after ``OUTBOX_MAX_ATTEMPTS``
    or a permanent refusal (5xx) the message is ``failed`` and waits for a coordinator.
    """
    now = now or utcnow()
    holder = (holder or _new_holder())[:80]
    lease = _claim_lease()
    report = DeliveryReport()
    rows = _claim(now, limit, holder, lease)
    report.claimed = len(rows)
    if not rows:
        return report
    remaining = [row.id for row in rows]
    try:
        smtp = _open_smtp()
    except (OSError, smtplib.SMTPException) as err:
        # The server is down: every claimed message counts an attempt and waits for its retry.
        for row in rows:
            _count(report, _schedule_retry(row.id, err, holder, now, "pending"), err)
        return report
    eight_bit = smtp is not None and smtp.does_esmtp and bool(smtp.has_extn("8bitmime"))
    renew_at = utcnow() + lease / 2
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        for row in rows:
            if utcnow() >= renew_at:
                _renew(remaining, holder, utcnow() + lease)
                renew_at = utcnow() + lease / 2
            remaining.remove(row.id)
            try:
                wire = _wire(row, eight_bit=eight_bit)
            except _BadHeader as err:
                refused = smtplib.SMTPDataError(554, str(err).encode())  # never deliverable
                _count(report, _schedule_retry(row.id, refused, holder, now, "pending"), refused)
                continue
            if smtp is None:  # MAIL_SUPPRESS_SEND: record as sent without a server
                _mark_sent(row.id, holder)
                _dispatched(app, row)
                report.sent += 1
                continue
            try:
                _transmit(smtp, wire, lambda message_id=row.id: _mark_sent(message_id, holder))
            except _ClaimLost:
                log.warning(
                    "mail %s was taken over by another sender; not sent by %s", row.id, holder
                )
                break  # the connection is closed; the rest is released below
            except _RefusedAfterCommit as refusal:
                if refusal.delivered_unknown:
                    # The server has the whole message but its answer was lost: count it as sent
                    # (sending again would most likely duplicate it) and say so.
                    _note(row.id, f"Zustellung unbestätigt: {refusal.error}")
                    report.sent += 1
                    break
                _count(
                    report,
                    _schedule_retry(row.id, refusal.error, holder, now, "sent"),
                    refusal.error,
                )
                if isinstance(refusal.error, smtplib.SMTPServerDisconnected) or _connection_closed(
                    smtp
                ):
                    break
                continue
            except (OSError, smtplib.SMTPException) as err:
                _count(report, _schedule_retry(row.id, err, holder, now, "pending"), err)
                if _connection_lost(err) or _connection_closed(smtp):
                    break
                continue
            _dispatched(app, row)
            report.sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        _release(remaining, holder)
    return report


def _dispatched(app: Flask, row: Any) -> None:
    if email_dispatched.receivers:  # building the Flask-Mail message costs; only for listeners
        email_dispatched.send(app, message=_dispatched_message(row))


def _connection_lost(err: Exception) -> bool:
    # SMTPException subclasses OSError; only a disconnect or a socket error ends the connection.
    return isinstance(err, smtplib.SMTPServerDisconnected) or not isinstance(
        err, smtplib.SMTPException
    )


def _connection_closed(smtp: smtplib.SMTP) -> bool:
    return getattr(smtp, "sock", None) is None


def _count(report: DeliveryReport, status: str, err: Exception) -> None:
    if status == "failed":
        report.failed += 1
    else:
        report.retried += 1
    if len(report.errors) < 50:
        report.errors.append(f"{type(err).__name__}: {err}"[:300])


#: Built once: the per-message compare-and-set is the hottest statement of a large send.
_MARK_SENT = (
    sa.update(OutboxMessage)
    .where(
        OutboxMessage.id == sa.bindparam("message_id"),
        OutboxMessage.status == "pending",
        OutboxMessage.claimed_by == sa.bindparam("holder"),
    )
    .values(
        status="sent",
        sent_at=sa.bindparam("sent_at"),
        attempts=OutboxMessage.attempts + 1,
        claimed_until=None,
    )
    .execution_options(synchronize_session=False)
)


def _mark_sent(message_id: int, holder: str) -> bool:
    # On the session's connection, not through the ORM: this runs once per message sent.
    result = db.session.connection().execute(
        _MARK_SENT, {"message_id": message_id, "holder": holder, "sent_at": utcnow()}
    )
    db.session.commit()
    return result.rowcount == 1


def _note(message_id: int, text: str) -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(last_error=text[:2000])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


class BackgroundDelivery:
    """Senders in threads (own app context and session each) that work off the outbox.

    Several SMTP connections at once keep the mail server and this process busy at the same
    time, and a producer (a digest run) can let them deliver while it still writes: they keep
    polling until :meth:`done_producing`. Each sender claims its own batches, so none sends
    what another one does.
    """

    POLL_SECONDS = 0.05

    def __init__(
        self, *, workers: int | None = None, batch_size: int = 50, now: datetime | None = None
    ) -> None:
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.workers = max(1, workers or _setting("OUTBOX_WORKERS", 4))
        if _in_memory_database():
            self.workers = 1  # threads would each open their own, empty in-memory database
        self.batch_size = batch_size
        self.now = now
        self.report = DeliveryReport()
        self._lock = threading.Lock()
        self._producing = threading.Event()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    @property
    def done(self) -> int:
        return self.report.sent + self.report.retried + self.report.failed

    def start(self, producing: bool = False) -> BackgroundDelivery:
        if producing:
            self._producing.set()
        if _in_memory_database():
            return self  # delivered in the waiting thread, after the producer (see wait())
        for number in range(self.workers):
            thread = threading.Thread(
                target=self._work, name=f"outbox-sender-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def done_producing(self) -> None:
        self._producing.clear()

    def wait(self, progress: Callable[[int], None] | None = None) -> DeliveryReport:
        """Wait for the senders to finish; ``progress(done)`` is called from this thread."""
        if not self._threads:
            self._work(own_context=False)
        for thread in self._threads:
            while thread.is_alive():
                thread.join(0.2)
                if progress is not None:
                    progress(self.done)
        if progress is not None:
            progress(self.done)
        if self._errors:
            raise self._errors[0]
        return self.report

    def _work(self, own_context: bool = True) -> None:
        with self.app.app_context() if own_context else nullcontext():
            try:
                while not self._stop.is_set():
                    report = deliver_due(self.batch_size, now=self.now)
                    with self._lock:
                        self.report.merge(report)
                    if report.claimed and not report.sent:
                        break  # the server refuses or is down: the rest waits for its retry
                    if report.claimed == 0:
                        if not self._producing.is_set():
                            break
                        time.sleep(self.POLL_SECONDS)
            except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
                self._errors.append(err)
                self._stop.set()
            finally:
                if own_context:
                    db.session.remove()


def _in_memory_database() -> bool:
    url = db.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def deliver_all(
    *,
    now: datetime | None = None,
    batch_size: int = 50,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> DeliveryReport:
    """Deliver until nothing is due, with ``OUTBOX_WORKERS`` SMTP connections at once.

    A sender stops early when a whole batch could not be sent (server down or refusing); the
    messages wait for their retry.
    """
    return (
        BackgroundDelivery(workers=workers, batch_size=batch_size, now=now).start().wait(progress)
    )


# --------------------------------------------------------------------------- after requests


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
        if (
            exc is None
            and g.pop("outbox_has_new_mail", False)
            and app.config.get("OUTBOX_SEND_IMMEDIATELY")
        ):
            _deliver_in_background(app)

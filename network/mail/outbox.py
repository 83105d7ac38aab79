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
  a sender drives several connections in lockstep from one thread and commits a group's
  messages together, then writes their markers back to back. (Senders are deliberately not
  threads of one process: a thread waiting for the interpreter lock between the commit and
  the marker would stretch this window to milliseconds.)
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
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@functools.lru_cache(maxsize=64)
def _parsed_address(address: str) -> str:
    return email.utils.parseaddr(address)[1]


def _envelope_address(address: str) -> str:
    """The bare address for the SMTP envelope."""
    if "<" not in address and " " not in address:
        return address
    return _parsed_address(address)


def _is_permanent(err: Exception) -> bool:
    """A 5xx answer will not change on retry; 4xx (greylisting, a full queue) may."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _reply in err.recipients.values())
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


class _Connections:
    """Up to ``count`` SMTP connections, reopened when one breaks."""

    def __init__(self, count: int) -> None:
        self.slots: list[smtplib.SMTP | None] = [None] * max(1, count)
        self.last_error: Exception | None = None

    def live(self) -> list[int]:
        """Indices of open connections, opening missing ones; empty when the server is down."""
        for index, connection in enumerate(self.slots):
            if connection is None or _connection_closed(connection):
                try:
                    self.slots[index] = _open_smtp()
                except (OSError, smtplib.SMTPException) as err:
                    self.slots[index] = None
                    self.last_error = err
                    break  # one refusal is enough: do not knock on a closed door again and again
        return [index for index, connection in enumerate(self.slots) if connection is not None]

    def drop(self, index: int) -> None:
        connection = self.slots[index]
        self.slots[index] = None
        if connection is not None:
            connection.close()  # an unfinished DATA is discarded by the server

    def close(self) -> None:
        for index, connection in enumerate(self.slots):
            if connection is None:
                continue
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
            self.slots[index] = None


@dataclass
class _Transaction:
    row: Any
    wire: _Wire
    slot: int
    done: bool = False


def _mark_sent_many(message_ids: list[int], holder: str) -> set[int]:
    """Compare-and-set each row to ``sent`` and commit them together; the ids we still owned."""
    connection = db.session.connection()  # Core, not the ORM: this is the hottest statement
    sent_at = utcnow()
    owned = {
        message_id
        for message_id in message_ids
        if connection.execute(
            _MARK_SENT, {"message_id": message_id, "holder": holder, "sent_at": sent_at}
        ).rowcount
        == 1
    }
    db.session.commit()
    return owned


class _Group:
    """One message on each of several connections, driven in lockstep by one thread.

    Each SMTP step goes out on all connections before the answers are read, so the server
    works on several messages while this process prepares the next step. The group's rows are
    committed as ``sent`` in one transaction right before the end-of-data markers are written
    back to back: no other thread can run in between, and a crash there loses at most the
    group's markers (a few microseconds of writing).
    """

    def __init__(
        self,
        connections: _Connections,
        holder: str,
        now: datetime,
        report: DeliveryReport,
        app: Flask,
    ) -> None:
        self.connections = connections
        self.holder = holder
        self.now = now
        self.report = report
        self.app = app

    def smtp(self, transaction: _Transaction) -> smtplib.SMTP:
        connection = self.connections.slots[transaction.slot]
        assert connection is not None
        return connection

    def fail(self, transaction: _Transaction, err: Exception, from_status: str = "pending") -> None:
        _count(
            self.report,
            _schedule_retry(transaction.row.id, err, self.holder, self.now, from_status),
            err,
        )
        transaction.done = True
        connection = self.connections.slots[transaction.slot]
        if connection is None:
            return
        if _connection_lost(err) or _connection_closed(connection):
            self.connections.drop(transaction.slot)
            return
        try:
            connection.rset()
        except (OSError, smtplib.SMTPException):
            self.connections.drop(transaction.slot)

    def step(
        self,
        send: Callable[[_Transaction], None],
        expected: tuple[int, ...],
        refusal: Callable[[_Transaction, int, bytes], Exception],
    ) -> None:
        active = [t for t in self.transactions if not t.done]
        for transaction in active:
            try:
                send(transaction)
            except (OSError, smtplib.SMTPException) as err:
                self.fail(transaction, err)
        for transaction in active:
            if transaction.done:
                continue
            try:
                code, reply = self.smtp(transaction).getreply()
            except (OSError, smtplib.SMTPException) as err:
                self.fail(transaction, err)
                continue
            if code not in expected:
                self.fail(transaction, refusal(transaction, code, reply))

    def send(self, rows: list[Any], slots: list[int]) -> None:
        self.transactions = []
        for row, slot in zip(rows, slots, strict=False):
            connection = self.connections.slots[slot]
            eight_bit = bool(connection.does_esmtp and connection.has_extn("8bitmime"))  # type: ignore[union-attr]
            try:
                wire = _wire(row, eight_bit=eight_bit)
            except _BadHeader as err:  # never deliverable
                refused = smtplib.SMTPDataError(554, str(err).encode())
                _count(
                    self.report,
                    _schedule_retry(row.id, refused, self.holder, self.now, "pending"),
                    refused,
                )
                continue
            self.transactions.append(_Transaction(row, wire, slot))

        def mail(t: _Transaction) -> None:
            smtp = self.smtp(t)
            options = (
                [f"size={len(t.wire.data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
            )
            if t.wire.eight_bit:
                options.append("BODY=8BITMIME")
            option_text = (" " + " ".join(options)) if options else ""
            smtp.putcmd("mail", f"FROM:<{_envelope_address(t.wire.sender)}>{option_text}")

        self.step(
            mail,
            (250,),
            lambda t, code, reply: smtplib.SMTPSenderRefused(code, reply, t.wire.sender),
        )
        self.step(
            lambda t: self.smtp(t).putcmd(
                "rcpt", f"TO:<{_envelope_address(t.wire.recipients[0])}>"
            ),
            (250, 251),
            lambda t, code, reply: smtplib.SMTPRecipientsRefused(
                {t.wire.recipients[0]: (code, reply)}
            ),
        )
        self.step(
            lambda t: self.smtp(t).putcmd("data"),
            (354,),
            lambda t, code, reply: smtplib.SMTPDataError(code, reply),
        )
        for transaction in [t for t in self.transactions if not t.done]:
            payload = _LEADING_DOT.sub(b"..", transaction.wire.data)
            if not payload.endswith(CRLF):
                payload += CRLF
            try:
                self.smtp(transaction).send(payload)
            except (OSError, smtplib.SMTPException) as err:
                self.fail(transaction, err)
        ready = [t for t in self.transactions if not t.done]
        if not ready:
            return
        try:
            owned = _mark_sent_many([t.row.id for t in ready], self.holder)
        except BaseException:
            for transaction in ready:  # nothing recorded: the server must not finish them either
                self.connections.drop(transaction.slot)
            raise
        for transaction in ready:
            if transaction.row.id not in owned:
                log.warning(
                    "mail %s was taken over by another sender; not sent by %s",
                    transaction.row.id,
                    self.holder,
                )
                self.connections.drop(transaction.slot)
                transaction.done = True
        ready = [t for t in ready if not t.done]
        # From here each message counts as sent: the markers go out back to back.
        for transaction in ready:
            try:
                self.smtp(transaction).send(b"." + CRLF)
            except (OSError, smtplib.SMTPException) as err:
                self.fail(transaction, err, from_status="sent")  # the server never got the end
        for transaction in ready:
            if transaction.done:
                continue
            try:
                code, reply = self.smtp(transaction).getreply()
            except (OSError, smtplib.SMTPException) as err:
                # The server has the whole message but its answer was lost: count it as sent
                # (sending again would most likely duplicate it) and say so.
                _note(transaction.row.id, f"Zustellung unbestätigt: {err}")
                self.connections.drop(transaction.slot)
                self.report.sent += 1
                continue
            if code != 250:
                self.fail(transaction, smtplib.SMTPDataError(code, reply), from_status="sent")
                continue
            self.report.sent += 1
            _dispatched(self.app, transaction.row)


def deliver_due(
    limit: int = 200,
    *,
    now: datetime | None = None,
    holder: str | None = None,
    connections: int | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` due messages, each recorded as sent exactly when it goes out.

    Uses up to ``connections`` (``OUTBOX_CONNECTIONS``, default 4) SMTP connections in
    lockstep. Safe to run in several processes at once (claims and compare-and-set, see the
    module docstring). Failures are retried later with :func:`backoff`; after
    ``OUTBOX_MAX_ATTEMPTS`` or a permanent refusal (5xx) the message is ``failed`` and waits for
    a coordinator.
    """
    now = now or utcnow()
    holder = (holder or _new_holder())[:80]
    lease = _claim_lease()
    report = DeliveryReport()
    rows = _claim(now, limit, holder, lease)
    report.claimed = len(rows)
    if not rows:
        return report
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    remaining = [row.id for row in rows]
    if app.extensions["mail"].suppress:  # MAIL_SUPPRESS_SEND: record as sent without a server
        for row in rows:
            _mark_sent_many([row.id], holder)
            remaining.remove(row.id)
            _dispatched(app, row)
            report.sent += 1
        return report
    pool = _Connections(min(len(rows), connections or _setting("OUTBOX_CONNECTIONS", 4)))
    group = _Group(pool, holder, now, report, app)
    renew_at = utcnow() + lease / 2
    try:
        position = 0
        while position < len(rows):
            if utcnow() >= renew_at:
                _renew(remaining, holder, utcnow() + lease)
                renew_at = utcnow() + lease / 2
            slots = pool.live()
            if not slots:
                # The server is down: every claimed message counts an attempt and waits.
                err = pool.last_error or ConnectionError("no SMTP connection")
                for row in rows[position:]:
                    remaining.remove(row.id)
                    _count(report, _schedule_retry(row.id, err, holder, now, "pending"), err)
                break
            batch = rows[position : position + len(slots)]
            position += len(batch)
            for row in batch:
                remaining.remove(row.id)
            group.send(batch, slots)
    finally:
        pool.close()
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


def _note(message_id: int, text: str) -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(last_error=text[:2000])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def deliver_all(
    *,
    now: datetime | None = None,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
    connections: int | None = None,
) -> DeliveryReport:
    """Deliver batches until nothing is due; stops early when a whole batch could not be sent
    (server down or refusing): those messages wait for their retry."""
    total = DeliveryReport()
    while True:
        report = deliver_due(batch_size, now=now, connections=connections)
        total.merge(report)
        if progress is not None:
            progress(total.sent + total.retried + total.failed)
        if report.claimed == 0 or report.sent == 0:
            return total


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

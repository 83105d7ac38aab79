"""The transactional outbox against real SMTP servers: outages, refusals, races, lost claims."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.mail import outbox
from network.mail.outbox import backoff, deliver_all, deliver_due, queue_email, queue_rendered
from network.models import OutboxMessage, User
from network.models.base import utcnow
from tests.conftest import SmtpSink, free_port, text_of


class ScriptedSink(SmtpSink):
    """An SMTP server that can refuse recipients or whole messages, or answer slowly.

    ``delay`` slows the answer to RCPT. A message is accepted the moment its end-of-data
    arrives, as real servers commit it then (a delay inside DATA would let aiosmtpd drop a
    complete message whose client went away before the answer, which no MTA does).
    """

    def __init__(
        self,
        *,
        refuse_rcpt: tuple[str, ...] = (),
        data_reply: str | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__("127.0.0.1", free_port())
        self.refuse_rcpt = refuse_rcpt
        self.data_reply = data_reply
        self.delay = delay

    def start(self) -> None:
        import asyncio

        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                if address in sink.refuse_rcpt:
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                if sink.data_reply:
                    return sink.data_reply
                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname=self.host, port=self.port)
        self.controller.start()


@pytest.fixture
def use_sink(app, monkeypatch):
    """Point the app's mail settings at another SMTP server for one test."""

    def point(sink: SmtpSink) -> SmtpSink:
        state = app.extensions["mail"]
        monkeypatch.setattr(state, "server", sink.host)
        monkeypatch.setattr(state, "port", sink.port)
        return sink

    return point


def _queue(count: int, prefix: str = "person") -> list[str]:
    addresses = [f"{prefix}{n}@test.example.org" for n in range(count)]
    for n, address in enumerate(addresses):
        queue_rendered(
            address, f"Nachricht {n}", f"Text {n}", f"<p>Text {n}</p>", key=f"test:{prefix}:{n}"
        )
    db.session.commit()
    return addresses


def _statuses() -> dict[str, int]:
    db.session.expire_all()
    return dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )


def test_queue_is_part_of_the_callers_transaction(app, make_user):
    user = make_user("trainee")
    queue_email(user.email, "Hallo", "auth/confirm", user=user, link="http://localhost/x", hours=48)
    db.session.rollback()  # the change that caused the mail did not happen: neither does the mail
    assert _statuses() == {}
    queue_email(
        user.email,
        "Hallo",
        "auth/confirm",
        key="confirm:1",
        user=user,
        link="http://localhost/x",
        hours=48,
    )
    queue_email(
        user.email,
        "Hallo",
        "auth/confirm",
        key="confirm:1",
        user=user,
        link="http://localhost/x",
        hours=48,
    )
    db.session.commit()
    assert _statuses() == {"pending": 1}


def test_smtp_outage_keeps_mail_and_delivers_it_when_the_server_is_back(app, use_sink):
    sink = use_sink(ScriptedSink())  # not started: nothing listens on its port
    addresses = _queue(5)
    report = deliver_due()
    assert (report.sent, report.retried, report.failed) == (0, 5, 0)
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert all(r.status == "pending" and r.attempts == 1 and r.claimed_until is None for r in rows)
    assert all("Connection refused" in r.last_error or "Errno" in r.last_error for r in rows)
    assert all(r.next_attempt_at > utcnow() + timedelta(seconds=20) for r in rows)

    sink.start()
    try:
        assert deliver_due().claimed == 0  # waits for its backoff
        later = utcnow() + backoff(1) + timedelta(seconds=1)
        report = deliver_due(now=later)
        assert report.sent == 5
        sink.wait_for(addresses[-1])
        time.sleep(0.2)
        assert sorted(m["To"] for m in sink.messages) == sorted(addresses)
        assert deliver_due(now=later + timedelta(hours=1)).claimed == 0
        assert _statuses() == {"sent": 5}
    finally:
        sink.stop()


def test_backoff_grows_and_gives_up_after_the_last_attempt(app, use_sink):
    use_sink(ScriptedSink())
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    try:
        _queue(1)
        now = utcnow()
        waits = []
        for _ in range(3):
            deliver_due(now=now)
            row = db.session.scalar(sa.select(OutboxMessage))
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
        assert row.status == "failed" and row.attempts == 3
        assert waits[0] < waits[1]
    finally:
        app.config["OUTBOX_MAX_ATTEMPTS"] = 12


def test_refused_recipient_fails_for_good_and_the_rest_is_sent(app, use_sink):
    sink = use_sink(ScriptedSink(refuse_rcpt=("person1@test.example.org",)))
    sink.start()
    try:
        addresses = _queue(3)
        report = deliver_due()
        assert (report.sent, report.failed) == (2, 1)
        sink.wait_for(addresses[2])
        failed = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.status == "failed"))
        assert failed.recipient == "person1@test.example.org" and "550" in failed.last_error
    finally:
        sink.stop()


def test_message_refused_after_its_data_goes_back_to_the_queue(app, use_sink):
    sink = use_sink(ScriptedSink(data_reply="451 4.3.0 try again later"))
    sink.start()
    try:
        _queue(1)
        report = deliver_due()
        assert (report.sent, report.retried) == (0, 1)
        row = db.session.scalar(sa.select(OutboxMessage))
        assert (
            row.status == "pending"
            and row.sent_at is None
            and row.attempts == 1
            and "451" in row.last_error
        )
        sink.data_reply = None
        assert deliver_due(now=row.next_attempt_at).sent == 1
        assert len(sink.messages) == 1
    finally:
        sink.stop()


def test_sender_that_lost_its_claim_abandons_the_message(app, use_sink, monkeypatch):
    sink = use_sink(ScriptedSink())
    sink.start()
    real_mark_sent = outbox._mark_sent_many

    def taken_over_meanwhile(message_ids: list[int], holder: str) -> set[int]:
        # Another sender claimed the first row after our lease ran out.
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_ids[0])
            .values(claimed_by="other-sender")
        )
        db.session.commit()
        return real_mark_sent(message_ids, holder)

    monkeypatch.setattr(outbox, "_mark_sent_many", taken_over_meanwhile)
    try:
        addresses = _queue(2)  # one group: both messages on their own connection
        report = deliver_due()
        assert report.sent == 1
        time.sleep(0.3)
        # The taken-over message's unfinished SMTP transaction was dropped by the server; the
        # other one of the group went out.
        assert [m["To"] for m in sink.messages] == [addresses[1]]
        assert _statuses() == {"pending": 1, "sent": 1}
    finally:
        sink.stop()


def test_two_senders_at_once_deliver_every_message_once(app, use_sink):
    sink = use_sink(ScriptedSink(delay=0.005))
    sink.start()
    try:
        addresses = _queue(60)
        app.config["OUTBOX_CLAIM_SECONDS"] = (
            1  # short leases: the senders also steal from each other
        )
        errors = []

        def sender() -> None:
            with app.app_context():
                try:
                    deliver_all(batch_size=7)
                except Exception as err:  # noqa: BLE001
                    errors.append(err)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=sender) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        deliver_all(now=utcnow() + timedelta(seconds=5))  # anything a thread had released
        sink.wait_for(addresses[0])
        time.sleep(0.3)
        received = [m["To"] for m in sink.messages]
        assert sorted(received) == sorted(addresses)  # every message, none twice
        assert _statuses() == {"sent": 60}
    finally:
        app.config.pop("OUTBOX_CLAIM_SECONDS", None)
        sink.stop()


def test_sent_mail_has_a_stable_message_id_and_the_queued_headers(app, smtp_server):
    message = queue_rendered(
        "kopf@test.example.org",
        "Betreff",
        "Text",
        key="test:headers",
        headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    db.session.commit()
    deliver_due()
    [mail] = smtp_server.wait_for("kopf@test.example.org")
    assert mail["Message-ID"].startswith(f"<outbox.{message.id}.") and mail["Message-ID"].endswith(
        "@localhost>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert text_of(mail).strip() == "Text"


def test_queue_email_outside_a_request_renders_templates(app, smtp_server):
    user = User(email="cli@test.example.org", name="CLI", role="trainee", password_hash="x")
    queue_email(
        user.email,
        "Hallo",
        "auth/confirm",
        user=user,
        link="http://localhost/bestaetigen",
        hours=48,
    )
    db.session.commit()
    assert deliver_all().sent == 1
    assert "http://localhost/bestaetigen" in text_of(smtp_server.wait_for(user.email)[0])


def test_in_memory_database_delivers_without_threads(smtp_server, tmp_path):
    from tests.conftest import make_test_app

    memory_app = make_test_app("sqlite://", smtp_server, INSTANCE_PATH=str(tmp_path))
    with memory_app.app_context():
        db.create_all()
        queue_rendered("speicher@test.example.org", "Betreff", "Text", key="test:memory")
        db.session.commit()
        assert deliver_all().sent == 1
        db.session.remove()
    smtp_server.wait_for("speicher@test.example.org")


def test_long_lines_and_umlauts_arrive_intact(app, smtp_server):
    long_paragraph = "Wir laden alle Praxen im Kreis Steinfurt ein. " * 40  # > 998 characters
    queue_rendered(
        "lang@test.example.org",
        "Grüße aus Münster",
        long_paragraph,
        f"<p>{long_paragraph}</p>",
        key="test:long",
    )
    queue_rendered(
        "kurz@test.example.org",
        "Grüße",
        "Kurz und gut: Übermorgen.",
        "<p>Übermorgen</p>",
        key="test:short",
    )
    db.session.commit()
    assert deliver_all().sent == 2
    [long_mail] = smtp_server.wait_for("lang@test.example.org")
    [short_mail] = smtp_server.wait_for("kurz@test.example.org")
    assert text_of(long_mail).strip() == long_paragraph.strip()
    assert (
        long_mail.get_body(preferencelist=("plain",))["Content-Transfer-Encoding"]
        == "quoted-printable"
    )
    assert long_mail["Subject"] == "Grüße aus Münster"
    assert text_of(short_mail).strip() == "Kurz und gut: Übermorgen."
    assert short_mail.get_body(preferencelist=("plain",))["Content-Transfer-Encoding"] == "8bit"
    assert (
        short_mail.get_body(preferencelist=("html",)).get_content().strip() == "<p>Übermorgen</p>"
    )

"""Shared fixtures: the app on a real database, a real SMTP server, users and organisations.

The database is a SQLite file in a temporary folder, or the PostgreSQL database named by
``TEST_DATABASE_URL`` (CI runs the suite on both). Its schema is created once per session and
every test that uses ``app`` starts from empty tables (municipalities stay: they are reference
data every test needs).
"""

from __future__ import annotations

import contextvars
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

KEEP_TABLES = {"municipality", "alembic_version"}
TEST_PASSWORD = "Test-Passwort-2026!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- SMTP


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    controller: object = None

    def clear(self) -> None:
        self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"no mail for {address} within {timeout}s; got {[m['To'] for m in self.messages]}"
        )

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a message."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    sink.start()
    yield sink
    sink.stop()


# --------------------------------------------------------------------------- app and database


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def make_test_app(database_url: str, smtp: SmtpSink, **overrides):  # type: ignore[no-untyped-def]
    from network import create_app
    from network.config import TestConfig

    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        MAIL_PORT=smtp.port,
        MAIL_SERVER=smtp.host,
        INSTANCE_PATH=overrides.pop("INSTANCE_PATH", settings["INSTANCE_PATH"]),
    )
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture(scope="session")
def _app_session(tmp_path_factory, smtp_server):  # type: ignore[no-untyped-def]
    from network.demo import load_reference_data
    from network.extensions import db

    instance = tmp_path_factory.mktemp("instance")
    app = make_test_app(
        _database_url(tmp_path_factory),
        smtp_server,
        INSTANCE_PATH=str(instance),
        UPLOAD_FOLDER=str(instance / "uploads"),
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_reference_data()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def clean_tables(app) -> None:  # type: ignore[no-untyped-def]
    from network.extensions import db

    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())
        from network.extensions import limiter

        limiter.reset()


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in production.

    The ``app`` fixture keeps an app context pushed so tests can use ``db.session``; without
    this, every request would reuse that context and share ``g`` (Flask-Login caches the user
    there) and the database session with the test and with other clients. After each request
    the test's own session is expired, so it reads what the request committed.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = contextvars.Context().run(super().open, *args, **kwargs)
        from flask import has_app_context

        if has_app_context():
            from network.extensions import db

            db.session.expire_all()
        return response


@pytest.fixture
def app(_app_session, smtp_server):  # type: ignore[no-untyped-def]
    """The app with empty tables (but the 66 municipalities) and an empty SMTP mailbox.

    An app context stays pushed for the test (use ``db.session`` freely); requests made with
    ``client`` run in their own context and session, like real ones.
    """
    _app_session.test_client_class = IsolatedClient
    clean_tables(_app_session)
    smtp_server.clear()
    with _app_session.app_context():
        yield _app_session
        from network.extensions import db

        db.session.remove()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


# --------------------------------------------------------------------------- factories


@pytest.fixture
def make_user(app):  # type: ignore[no-untyped-def]
    """``make_user(role="provider", email=None, confirmed=True, **fields) -> User``."""
    from network.extensions import db
    from network.models import User
    from network.models.base import utcnow

    counter = {"n": 0}

    def factory(role: str = "provider", email: str | None = None, confirmed: bool = True, **fields):  # type: ignore[no-untyped-def]
        counter["n"] += 1
        user = User(
            email=email or f"{role}{counter['n']}@test.example.org",
            name=fields.pop("name", f"{role.title()} {counter['n']}"),
            role=role,
            email_confirmed_at=utcnow() if confirmed else None,
            **fields,
        )
        user.set_password(TEST_PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_org(app):  # type: ignore[no-untyped-def]
    """``make_org(name="…", kind="gp_practice", ags="05566040", offers=(), needs=(), members=(), **fields)``."""
    from network.extensions import db
    from network.models import Membership, Municipality, Organisation

    def factory(
        name: str = "Testpraxis",
        kind: str = "gp_practice",
        ags: str = "05566040",
        offers=(),
        needs=(),
        members=(),
        **fields,
    ):  # type: ignore[no-untyped-def]
        place = db.session.get(Municipality, ags)
        org = Organisation(
            name=name,
            kind=kind,
            ags=ags,
            latitude=fields.pop("latitude", place.latitude),
            longitude=fields.pop("longitude", place.longitude),
            **fields,
        )
        org.set_tags(set(offers), set(needs))
        db.session.add(org)
        db.session.flush()
        for user in members:
            db.session.add(
                Membership(user_id=user.id, organisation_id=org.id, role="admin", status="approved")
            )
        db.session.commit()
        return org

    return factory


class AuthActions:
    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self._client = client

    def login(self, email: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
        return self._client.post("/konto/anmelden", data={"email": email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self._client.post("/konto/abmelden")


@pytest.fixture
def auth(client) -> AuthActions:  # type: ignore[no-untyped-def]
    return AuthActions(client)


@pytest.fixture
def login_as(client, make_user):  # type: ignore[no-untyped-def]
    """``login_as("coordinator") -> User``: create a confirmed user of that role and log in."""

    def factory(role: str = "provider", **fields):  # type: ignore[no-untyped-def]
        user = make_user(role, **fields)
        response = client.post(
            "/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return factory


# --------------------------------------------------------------------------- live server and browser


class LiveServer:
    def __init__(self, app, port: int) -> None:  # type: ignore[no-untyped-def]
        from werkzeug.serving import make_server

        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def _live_session(tmp_path_factory, smtp_server):  # type: ignore[no-untyped-def]
    """A second app for the browser: real CSRF, mail sent right after each request."""
    from network.demo import load_reference_data
    from network.extensions import db

    port = free_port()
    instance = tmp_path_factory.mktemp("live-instance")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance / 'live.sqlite3'}"
    app = make_test_app(
        url,
        smtp_server,
        INSTANCE_PATH=str(instance),
        UPLOAD_FOLDER=str(instance / "uploads"),
        WTF_CSRF_ENABLED=True,
        OUTBOX_SEND_IMMEDIATELY=True,
        BASE_URL=f"http://127.0.0.1:{port}",
        TESTING=False,
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_reference_data()
    server = LiveServer(app, port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_server(_live_session, smtp_server):  # type: ignore[no-untyped-def]
    """The running server (``.url``, ``.app``) on empty tables; use ``with live_server.app.app_context()``
    to prepare data. On PostgreSQL it shares the test database with ``app`` (same schema)."""
    clean_tables(_live_session.app)
    smtp_server.clear()
    return _live_session


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

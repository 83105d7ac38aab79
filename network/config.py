"""Settings from environment variables, with safe defaults for local development.

Every setting can be overridden by an environment variable of the same name. The defaults give a
working local installation: SQLite under ``instance/``, a generated secret key stored in
``instance/secret_key``, mail to a local SMTP server on port 8025. In production
(``NETWORK_ENV=production``) the app refuses to start without a real ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["Config", "TestConfig", "ConfigurationError", "instance_path", "load_secret_key"]

DEVELOPMENT_SECRET_MARKER = "dev-"


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete."""


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def instance_path() -> Path:
    """The instance folder: ``INSTANCE_PATH`` or ``instance/`` at the repository root."""
    configured = os.environ.get("INSTANCE_PATH")
    if configured:
        return Path(configured).resolve()
    return (Path(__file__).resolve().parent.parent / "instance").resolve()


def load_secret_key(folder: Path) -> str:
    """Read the local development secret from ``folder/secret_key``, creating it on first use.

    The stored key starts with ``dev-`` so that production can recognise and refuse it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    key = DEVELOPMENT_SECRET_MARKER + secrets.token_urlsafe(48)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return key


def _normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings read from the environment when the class body runs (at import)."""

    NETWORK_ENV = os.environ.get("NETWORK_ENV", "development")
    INSTANCE_PATH = str(instance_path())
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{instance_path() / 'network.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    # Mail: Flask-Mail settings; the outbox retries failed deliveries with backoff.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 8025)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Gesundheitsregion Münsterland <noreply@gesundheitsregion.example>"
    )
    MAIL_TIMEOUT_SECONDS = _int("MAIL_TIMEOUT_SECONDS", 10)
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 12)
    # Send mail right after the request that queued it (a background thread); the scheduler's
    # outbox job delivers whatever is still pending either way.
    OUTBOX_SEND_IMMEDIATELY = _bool("OUTBOX_SEND_IMMEDIATELY", True)
    # A sender's claim on a message; after a crash the message is retried once it expires.
    OUTBOX_CLAIM_SECONDS = _int("OUTBOX_CLAIM_SECONDS", 60)
    # SMTP connections one sender drives in step.
    OUTBOX_CONNECTIONS = _int("OUTBOX_CONNECTIONS", 4)
    DIGEST_UNSUBSCRIBE_MAX_AGE_SECONDS = _int("DIGEST_UNSUBSCRIBE_MAX_AGE_SECONDS", 90 * 24 * 3600)
    # Listed as the mailto: alternative in List-Unsubscribe; empty leaves only the link.
    MAIL_UNSUBSCRIBE_ADDRESS = os.environ.get("MAIL_UNSUBSCRIBE_ADDRESS", "")

    # Move everything alive after start-up out of the garbage collector's reach (gc.freeze):
    # otherwise every full collection walks the application's hundreds of thousands of
    # long-lived objects, a pause of ~100 ms in the middle of a request.
    GC_FREEZE_AFTER_STARTUP = _bool("GC_FREEZE_AFTER_STARTUP", True)

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Accounts.
    EMAIL_TOKEN_MAX_AGE_SECONDS = _int("EMAIL_TOKEN_MAX_AGE_SECONDS", 48 * 3600)
    RESET_TOKEN_MAX_AGE_SECONDS = _int("RESET_TOKEN_MAX_AGE_SECONDS", 2 * 3600)
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per 15 minutes")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True

    # Languages: German first, English second.
    LANGUAGES = ("de", "en")
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"

    # Maps: no tile server is assumed; the municipal boundaries are the base layer.
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")

    # Uploads (application attachments, planning figures, toolbox materials).
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(instance_path() / "uploads"))
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)

    # Scheduler process (`flask --app network scheduler`).
    SCHEDULER_LOCK_SECONDS = _int("SCHEDULER_LOCK_SECONDS", 60)
    DIGEST_HOUR = _int("DIGEST_HOUR", 7)

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    @classmethod
    def finalise(cls, settings: dict) -> None:
        """Fill derived settings and refuse unsafe production configurations."""
        env = settings.get("NETWORK_ENV", "development")
        secret = settings.get("SECRET_KEY")
        if env == "production":
            if not secret or secret.startswith(DEVELOPMENT_SECRET_MARKER) or len(secret) < 32:
                raise ConfigurationError(
                    "NETWORK_ENV=production needs SECRET_KEY set to a random value of at least "
                    "32 characters (not the generated development key)."
                )
            settings.setdefault("SESSION_COOKIE_SECURE", True)
            settings.setdefault("REMEMBER_COOKIE_SECURE", True)
        elif not secret:
            settings["SECRET_KEY"] = load_secret_key(Path(settings["INSTANCE_PATH"]))
        if env == "development":
            settings.setdefault("SESSION_COOKIE_SECURE", False)
        else:
            settings.setdefault("SESSION_COOKIE_SECURE", env != "testing")


class TestConfig(Config):
    """Settings for the test suite: a throw-away database, no background threads."""

    NETWORK_ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-for-hmac"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    OUTBOX_SEND_IMMEDIATELY = False
    # The suite builds hundreds of applications; frozen objects would never be freed.
    GC_FREEZE_AFTER_STARTUP = False
    # Tests deliver to a real local SMTP server, so Flask-Mail must not swallow the mail.
    MAIL_SUPPRESS_SEND = False
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 8025
    BASE_URL = "http://localhost"

"""Accounts: people acting for organisations, trainees, coordinators and administrators."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from network.extensions import db
from network.models.base import UTCDateTime, utcnow

__all__ = ["User", "PASSWORD_METHOD"]

# scrypt is memory-hard and ships with the standard library (hashlib.scrypt).
PASSWORD_METHOD = "scrypt"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True, index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    role: so.Mapped[str] = so.mapped_column(sa.String(20), index=True, default="provider")
    language: so.Mapped[str] = so.mapped_column(sa.String(2), default="de")
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    email_confirmed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Bumped on password change: signed tokens and sessions issued before become invalid.
    security_stamp: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)

    # Digest preferences (see the digest blueprint).
    digest_frequency: so.Mapped[str] = so.mapped_column(sa.String(10), default="weekly")
    digest_weekday: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)  # Monday
    last_digest_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    memberships: so.Mapped[list[Membership]] = so.relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan"
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login asks this on every request
        return self.active

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def has_role(self, *roles: str) -> bool:
        return self.role in roles or self.role == "admin"

    def get_id(self) -> str:
        # The stamp in the session id logs out every session when the password changes.
        return f"{self.id}:{self.security_stamp}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"

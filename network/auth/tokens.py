"""Signed, expiring tokens for e-mail confirmation and password reset."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["make_token", "read_token", "TokenError", "TokenExpired", "TokenInvalid"]


class TokenError(Exception):
    """The token cannot be used."""


class TokenExpired(TokenError):
    pass


class TokenInvalid(TokenError):
    pass


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"network.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as err:
        raise TokenExpired(str(err)) from err
    except BadSignature as err:
        raise TokenInvalid(str(err)) from err

"""Server-side role checks for views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

__all__ = ["roles_required", "coordinator_required", "admin_required"]


def roles_required(*roles: str) -> Callable:
    """Allow the view to users with one of ``roles`` (admins always pass).

    Anonymous users are redirected to the log-in page (302); logged-in users of another role get
    403. Templates may hide links too, but this check is what protects the view.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]  # read by the access test
        return wrapped

    return decorator


coordinator_required = roles_required("coordinator")
admin_required = roles_required("admin")

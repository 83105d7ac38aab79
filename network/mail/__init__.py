"""Outgoing mail through a transactional outbox.

Callers queue a message in the same database transaction as the change that caused it
(:func:`queue_email`); :func:`deliver_due` sends what is due through Flask-Mail, retrying
failures with exponential backoff. Nothing is sent from inside a request's transaction, so a
rolled-back change never sends mail, and an SMTP outage never loses any.
"""

from network.mail.outbox import (
    DeliveryReport,
    deliver_all,
    deliver_due,
    init_app,
    mail_context,
    queue_email,
    queue_rendered,
    render_email,
)

__all__ = [
    "DeliveryReport",
    "deliver_all",
    "deliver_due",
    "init_app",
    "mail_context",
    "queue_email",
    "queue_rendered",
    "render_email",
]

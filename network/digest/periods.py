"""Digest periods: which period a moment belongs to and when its digest is due (pure).

A period is a calendar day, an ISO week or a calendar month in local time (Europe/Berlin). Its
key (``2026-11-25``, ``2026-W48``, ``2026-11``) is the idempotency key of a user's digest: one
digest per user and period, however often the scheduler looks.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

__all__ = ["FREQUENCIES", "WEEKDAYS", "period_key", "scheduled_moment", "next_scheduled_moment"]

FREQUENCIES: tuple[str, ...] = ("daily", "weekly", "monthly", "off")
#: ISO weekday numbers as stored in ``User.digest_weekday``: 0 = Monday … 6 = Sunday.
WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


def _day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def period_key(frequency: str, moment: date | datetime) -> str:
    """The key of the period that contains ``moment`` (a local date or time).

    Examples
    --------
    >>> period_key("daily", date(2026, 11, 25))
    '2026-11-25'
    >>> period_key("weekly", date(2026, 11, 25))
    '2026-W48'
    >>> period_key("weekly", date(2027, 1, 1))  # ISO week 53 of 2026
    '2026-W53'
    >>> period_key("monthly", date(2026, 11, 25))
    '2026-11'
    """
    day = _day(moment)
    if frequency == "daily":
        return day.isoformat()
    if frequency == "weekly":
        iso_year, iso_week, _ = day.isocalendar()
        return f"{iso_year}-W{iso_week:02d}"
    if frequency == "monthly":
        return f"{day.year:04d}-{day.month:02d}"
    raise ValueError(f"no digest period for frequency {frequency!r}")


def _first_day(frequency: str, weekday: int, day: date) -> date:
    if frequency == "daily":
        return day
    if frequency == "weekly":
        monday = day - timedelta(days=day.weekday())
        return monday + timedelta(days=weekday % 7)
    if frequency == "monthly":
        return day.replace(day=1)
    raise ValueError(f"no digest period for frequency {frequency!r}")


def scheduled_moment(frequency: str, weekday: int, now: datetime, hour: int) -> datetime:
    """When the digest of the period containing ``now`` is due (in ``now``'s time zone).

    Daily at ``hour``; weekly on ``weekday`` of the ISO week at ``hour``; monthly on the first
    at ``hour``. A digest whose moment has passed stays due for the rest of its period, so a
    scheduler that was down catches up without sending anything twice.

    Examples
    --------
    >>> scheduled_moment("weekly", 4, datetime(2026, 11, 25, 12), 7)  # Wednesday → Friday
    datetime.datetime(2026, 11, 27, 7, 0)
    """
    day = _first_day(frequency, weekday, _day(now))
    return datetime.combine(day, time(hour=hour), tzinfo=now.tzinfo)


def next_scheduled_moment(
    frequency: str, weekday: int, now: datetime, hour: int, sent_this_period: bool
) -> datetime | None:
    """The next moment a digest will be due, or ``None`` when digests are off.

    Examples
    --------
    >>> next_scheduled_moment("daily", 0, datetime(2026, 11, 25, 9), 7, sent_this_period=True)
    datetime.datetime(2026, 11, 26, 7, 0)
    >>> next_scheduled_moment("monthly", 0, datetime(2026, 12, 5, 9), 7, sent_this_period=True)
    datetime.datetime(2027, 1, 1, 7, 0)
    """
    if frequency not in FREQUENCIES or frequency == "off":
        return None
    moment = scheduled_moment(frequency, weekday, now, hour)
    if not sent_this_period:
        return max(moment, now)
    day = _day(now)
    if frequency == "daily":
        following = day + timedelta(days=1)
    elif frequency == "weekly":
        following = day - timedelta(days=day.weekday()) + timedelta(days=7)
    else:
        following = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return scheduled_moment(
        frequency, weekday, datetime.combine(following, time(), tzinfo=now.tzinfo), hour
    )

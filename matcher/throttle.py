"""Sign-in throttling kept in the app's own database, so every worker process agrees.

Each wrong password is a row (login, address, time). Before a password is even
checked, :func:`wait_for` counts the rows of the last ``window``: an account with
``account_limit`` failures, or an address with ``ip_limit``, is told how long to wait.
The address limit is much higher than the account limit, so people behind one proxy
can still sign in to their own accounts while someone guesses at another.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matcher.models import LoginFailure

__all__ = ["WINDOW", "ACCOUNT_LIMIT", "IP_LIMIT", "wait_for", "record_failure", "minutes"]

WINDOW = dt.timedelta(minutes=15)
ACCOUNT_LIMIT = 10
IP_LIMIT = 100


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _key(login: str) -> str:
    return login.strip().lower()[:254]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def _wait(session: Session, column, value: str, limit: int, window: dt.timedelta, now: dt.datetime) -> float:
    """Seconds until fewer than ``limit`` failures of ``column == value`` lie inside the window."""
    recent = session.scalars(select(LoginFailure.at).where(column == value, LoginFailure.at > now - window)
                             .order_by(LoginFailure.at.desc()).limit(limit)).all()
    if len(recent) < limit:
        return 0.0
    # The limit-th newest failure is the one whose leaving the window frees an attempt.
    return max(1.0, (_utc(recent[-1]) + window - now).total_seconds())


def wait_for(session: Session, login: str, ip: str, *, account_limit: int = ACCOUNT_LIMIT,
             ip_limit: int = IP_LIMIT, window: dt.timedelta = WINDOW, now: dt.datetime | None = None) -> float:
    """Return how many seconds this login from this address must wait (0 when it may try now).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from matcher.models import Base
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine, tables=[LoginFailure.__table__])
    >>> with Session(engine) as s:
    ...     for _ in range(3):
    ...         record_failure(s, "dana@example.org", "192.0.2.7")
    ...     minutes(wait_for(s, "dana@example.org", "192.0.2.7", account_limit=3))
    15
    >>> with Session(engine) as s:
    ...     wait_for(s, "sam@example.org", "192.0.2.7", account_limit=3)
    0.0
    """
    now = now or _now()
    return max(_wait(session, LoginFailure.login, _key(login), account_limit, window, now),
               _wait(session, LoginFailure.ip, ip[:64], ip_limit, window, now))


def record_failure(session: Session, login: str, ip: str, *, window: dt.timedelta = WINDOW,
                   now: dt.datetime | None = None) -> None:
    """Note one wrong password for ``login`` from ``ip`` (and forget failures older than a day).

    The caller commits: the row must outlive the request that failed.
    """
    now = now or _now()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - max(window, dt.timedelta(days=1))))
    session.add(LoginFailure(login=_key(login), ip=ip[:64], at=now))
    session.flush()


def minutes(seconds: float) -> int:
    """Whole minutes to tell a person to wait: 61 seconds is "2 minutes".

    >>> minutes(61), minutes(900), minutes(0.5)
    (2, 15, 1)
    """
    return max(1, math.ceil(seconds / 60))

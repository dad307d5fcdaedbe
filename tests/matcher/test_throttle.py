"""Sign-in throttling counts wrong passwords in the database over a sliding window."""

import datetime as dt

from matcher import throttle

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)


def test_an_account_may_try_again_once_its_oldest_failure_leaves_the_window(session):
    for minute in range(10):
        throttle.record_failure(session, "Dana@Example.org ", "192.0.2.1", now=T0 + dt.timedelta(minutes=minute))
    at_ten = T0 + dt.timedelta(minutes=10)
    assert throttle.wait_for(session, "dana@example.org", "192.0.2.99", now=at_ten) == 5 * 60
    assert throttle.wait_for(session, "dana@example.org", "192.0.2.99", now=T0 + dt.timedelta(minutes=15, seconds=1)) == 0
    assert throttle.wait_for(session, "sam@example.org", "192.0.2.1", now=at_ten) == 0


def test_failures_older_than_a_day_are_forgotten(session):
    from sqlalchemy import func, select

    from matcher.models import LoginFailure

    throttle.record_failure(session, "dana@example.org", "192.0.2.1", now=T0)
    throttle.record_failure(session, "dana@example.org", "192.0.2.1", now=T0 + dt.timedelta(days=2))
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1

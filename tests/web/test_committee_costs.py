"""What a view of the committee page costs: two statements, a session cookie checked once, a signed
CSRF token reused for a while; and what it must still show: each pair's latest request."""

import time

import itsdangerous
from sqlalchemy import event

from conftest import csrf_token, login
from matcher import decisions
from web import security


def _url(world) -> str:
    return f"/relationships/{world.hot_springs.id}/volunteers"


def _selects(connection, run) -> list[str]:
    """The SELECT statements ``run()`` sends through ``connection``."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", note)
    return seen


def test_a_kept_view_reads_the_user_and_the_rows_with_their_requests_in_two_statements(client, world, as_role,
                                                                                       connection, db_session):
    as_role("committee")
    decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    client.get(_url(world))  # the page is built and kept

    def view():
        page = client.get(_url(world)).get_data(as_text=True)
        assert "introduction pending" in page and "Request introduction" in page  # Hana's request, Daniel's form

    statements = _selects(connection, view)
    assert len(statements) == 2, statements
    assert "FROM users" in statements[0] and "match_requests" in statements[1]
    # the kind in the text: a parameter meeting the partial unique index's condition made SQLite prepare the
    # statement again on every run
    assert "kind = 'introduction'" in statements[1]


def test_a_request_asked_again_after_a_refusal_shows_as_pending(client, world, as_role, db_session):
    """Two requests about one pair: the page shows the latest (it showed the first, refused, one)."""
    as_role("committee")
    first = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    decisions.decide(db_session, first.id, "rejected", "coord@example.org", "not now")
    db_session.flush()
    assert "introduction rejected" in client.get(_url(world)).get_data(as_text=True)
    again = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    assert again.id != first.id
    page = client.get(_url(world)).get_data(as_text=True)
    assert "introduction pending" in page and "introduction rejected" not in page
    assert page.count('class="result"') == 2  # one row per volunteer, however many requests


def test_the_same_session_cookie_is_verified_once_and_its_age_still_checked(app, client, world, as_role,
                                                                           monkeypatch):
    as_role("committee")
    client.get(_url(world))
    client.get(_url(world))  # the cookie the page left is the one sent from now on
    loads = []
    real = itsdangerous.URLSafeTimedSerializer.loads

    def counted(self, *args, **kwargs):
        loads.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(itsdangerous.URLSafeTimedSerializer, "loads", counted)
    for _ in range(3):
        assert client.get(_url(world)).status_code == 200
    assert loads == []  # kept from the views before
    lifetime = app.permanent_session_lifetime.total_seconds()
    now = time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + lifetime + 5)
    response = client.get(_url(world))
    assert response.status_code == 302 and "/login" in response.headers["Location"]  # too old, kept or not


def test_a_tampered_cookie_is_refused_even_after_the_real_one_was_kept(app, client, world, as_role):
    as_role("committee")
    assert client.get(_url(world)).status_code == 200
    cookie = client.get_cookie("session").value
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    other = app.test_client()
    other.set_cookie("session", forged)
    response = other.get(_url(world))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_signed_csrf_token_is_reused_for_a_minute_then_signed_again_and_both_work(client, world, as_role,
                                                                                     monkeypatch):
    as_role("committee")
    start = time.time()
    first = csrf_token(client)
    monkeypatch.setattr(time, "time", lambda: start + security.CSRF_GRAIN / 2)
    assert csrf_token(client) == first  # Flask-WTF alone signs it anew, with the new time in it
    monkeypatch.setattr(time, "time", lambda: start + security.CSRF_GRAIN + 5)
    later = csrf_token(client)
    assert later != first
    for token in (first, later):
        response = client.post(f"/relationships/{world.hot_springs.id}/volunteers/{world.hana.id}/request",
                               data={"csrf_token": token})
        assert response.status_code == 302


def test_another_sessions_token_is_never_handed_out(app, world):
    """Two sessions of one login, within the same second: each its own token (the kept ones are per raw token)."""
    tokens = set()
    for _ in range(2):
        other = app.test_client()
        login(other, world.logins["committee"])
        tokens.add(csrf_token(other))
    assert len(tokens) == 2

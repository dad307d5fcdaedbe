"""Finding 5 of issue 12: sessions end when they should, accounts can be disabled and reset,
invite links and API tokens expire, and invite links never take their host from the request."""

import datetime as dt

from sqlalchemy import select

from conftest import csrf_token, login, post
from matcher import accounts
from matcher.models import User


def _user(db_session, world, key) -> User:
    db_session.expire_all()
    return db_session.scalar(select(User).where(User.login == world.logins[key]))


def _copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_copied_cookie_stops_working_after_logout(app, client, world):
    assert login(client, world.logins["committee"]).status_code == 302
    thief = _copy_of(app, client)
    assert thief.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert thief.get("/").status_code == 302
    assert "/login" in thief.get("/").headers["Location"]


def test_signing_out_on_one_device_ends_the_others(app, world):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, world.logins["alumnus"])
    login(phone, world.logins["alumnus"])
    phone.post("/logout", data={"csrf_token": csrf_token(phone)})
    assert laptop.get("/me").status_code == 302


def test_disabling_ends_sessions_and_api_tokens_and_enabling_restores_sign_in(app, client, world, db_session,
                                                                              as_role):
    member = app.test_client()
    login(member, world.logins["committee"])
    token = accounts.new_api_token(db_session, _user(db_session, world, "committee"))
    db_session.flush()
    user_id = _user(db_session, world, "committee").id
    as_role("coordinator")
    assert post(client, f"/users/{user_id}/disable").status_code == 303
    assert member.get("/").status_code == 302
    assert login(app.test_client(), world.logins["committee"]).status_code == 401
    assert app.test_client().get("/api/v1/relationships",
                                 headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "disabled" in client.get("/users").get_data(as_text=True)
    assert post(client, f"/users/{user_id}/enable").status_code == 303
    assert login(app.test_client(), world.logins["committee"]).status_code == 302


def test_a_coordinator_resets_a_password_with_an_invite_link(app, client, world, db_session, as_role):
    member = app.test_client()
    login(member, world.logins["committee"])
    user_id = _user(db_session, world, "committee").id
    as_role("coordinator")
    page = post(client, f"/users/{user_id}/reset-password").get_data(as_text=True)
    assert member.get("/").status_code == 302  # the old session ended
    assert login(app.test_client(), world.logins["committee"]).status_code == 401  # the old password is gone
    link = page.split("/invite/")[1].split("<")[0]
    fresh = app.test_client()
    response = fresh.post(f"/invite/{link}", data={"password": "a new long password", "confirm": "a new long password",
                                                   "csrf_token": csrf_token(fresh)})
    assert response.status_code == 302
    assert login(app.test_client(), world.logins["committee"], "a new long password").status_code == 302


def test_sessions_end_after_the_idle_timeout_and_the_absolute_lifetime(app, client, world, monkeypatch):
    import web.auth

    clock = [1_000_000.0]
    monkeypatch.setattr(web.auth.time, "time", lambda: clock[0])
    app.config.update(SESSION_IDLE_TIMEOUT=600, SESSION_ABSOLUTE_LIFETIME=3600)
    login(client, world.logins["coordinator"])
    for _ in range(6):  # busy: a request every 9 minutes keeps it alive up to the hour…
        clock[0] += 540
        assert client.get("/").status_code == 200
    clock[0] += 540  # …but not past it
    assert client.get("/").status_code == 302
    login(client, world.logins["coordinator"])
    clock[0] += 601  # idle for ten minutes and a second
    response = client.get("/", follow_redirects=True)
    assert "Your session has ended" in response.get_data(as_text=True)


def test_invite_links_use_the_configured_base_url_never_the_host_header(app, client, world, as_role):
    from web.auth import invite_url

    app.config["BASE_URL"] = "https://jetmatch.example.org/"
    with app.test_request_context("/users", base_url="http://evil.example"):
        assert invite_url("abc") == "https://jetmatch.example.org/invite/abc"
    as_role("coordinator")
    page = post(client, "/users", {"login": "new.member@example.org", "role": "committee",
                                   "relationship_id": world.rutland.id}).get_data(as_text=True)
    assert "https://jetmatch.example.org/invite/" in page and "for 7 days" in page


def test_an_expired_invite_link_is_refused_with_a_clear_message(app, client, world, db_session):
    user, token = accounts.create_user(db_session, "late@example.org", "coordinator")
    user.invite_expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    db_session.flush()
    response = client.post(f"/invite/{token}", data={"password": "a fine password", "confirm": "a fine password",
                                                     "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert login(app.test_client(), "late@example.org", "a fine password").status_code == 401


def test_api_token_page_shows_expiry_and_last_use_and_revokes(client, world, as_role):
    as_role("committee")
    page = post(client, "/account/token", {"action": "issue"}).get_data(as_text=True)
    token = page.split('<code class="token">')[1].split("<")[0]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/relationships", headers=headers).status_code == 200
    state = client.get("/account/token").get_data(as_text=True)
    assert "expires" in state and "last used never" not in state
    post(client, "/account/token", {"action": "revoke"})
    assert client.get("/api/v1/relationships", headers=headers).status_code == 401
    assert "You have no API token" in client.get("/account/token").get_data(as_text=True)


def test_profile_form_shows_out_of_range_values_beside_the_field(client, world, as_role, db_session):
    as_role("alumnus")
    response = post(client, "/me", {"home": "", "interests": "", "japanese_level": 9, "availability_hours": 6,
                                    "max_matches": 1})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    field = body.split('id="japanese_level"')[0].rsplit("<input", 1)[1]
    assert 'aria-invalid="true"' in field
    after = body.split('id="japanese_level"')[1]
    assert after.index("Number must be between 0 and 5.") < after.index('id="availability_hours"')
    db_session.expire_all()
    assert db_session.get(type(world.hana), world.hana.id).japanese_level == 4  # not clamped to 5: unchanged


def test_placement_years_out_of_range_are_field_errors(client, world, as_role):
    as_role("alumnus")
    response = post(client, "/me/placements", {"place": "Ishidoriya", "role": "ALT", "start_year": 1950,
                                               "end_year": 1951})
    assert response.status_code == 400
    assert "Number must be between 1987 and 2100." in response.get_data(as_text=True)

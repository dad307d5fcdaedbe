"""Issue 12 (part a) through the web app: names as given name and initial on every page, the API
and the export; consent on the queue and withdrawn from /me; formulas neutralised in the CSV
export; distances as bands; approvals that never wait on an SMTP server."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

import jm_world
from conftest import app_config, login, post
from matcher import accounts, decisions
from matcher.models import Alumnus, MatchRequest, OutboxMessage, Suggestion, User
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run
from web import create_app


def _token(db_session, login_name: str) -> dict:
    user = db_session.scalar(select(User).where(User.login == login_name))
    token = accounts.new_api_token(db_session, user)
    db_session.flush()
    return {"Authorization": f"Bearer {token}"}


def _whitfield(db_session, world) -> Alumnus:
    """An alum the roster wrote "Whitfield, Dana" (family name first), suggested to Hot Springs."""
    dana = Alumnus(external_id="T-WHITFIELD", name="Whitfield, Dana", email="dana.w@example.org",
                   home="Hot Springs, AR", home_lat=34.5037, home_lon=-93.0552, home_state_abbr="AR",
                   consent=True, consent_contact=True, japanese_level=3, max_matches=1)
    db_session.add(dana)
    db_session.flush()
    db_session.add(Suggestion(run_id=ensure_run(db_session, "default")[0], kind="volunteer", alumnus_id=dana.id,
                              relationship_id=world.hot_springs.id, score=9.0, rank=1,
                              levels=pair_levels(db_session, dana.id, world.hot_springs.id)))
    db_session.flush()
    return dana


# --- finding 1: no family name before approval ---------------------------------------------------


def test_a_family_name_first_roster_shows_given_name_and_initial_everywhere(app, client, world, as_role,
                                                                            db_session):
    dana = _whitfield(db_session, world)
    req = decisions.request_introduction(db_session, world.hot_springs.id, dana.id, None)
    decisions.decide(db_session, req.id, "on_hold", "coord@example.org", "=cmd|' /C calc'!A0")
    db_session.flush()
    committee = app.test_client()
    login(committee, world.logins["committee"])
    page = committee.get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    api = committee.get(f"/api/v1/relationships/{world.hot_springs.id}/volunteers",
                        headers=_token(db_session, world.logins["committee"])).get_json()
    home = committee.get("/").get_data(as_text=True)
    as_role("coordinator")
    queue = client.get("/queue").get_data(as_text=True)
    export = client.get("/export.csv").get_data(as_text=True)
    requests = client.get("/api/v1/requests", headers=_token(db_session, world.logins["coordinator"])).get_json()
    for seen in (page, home, queue, export, str(api), str(requests)):
        assert "Dana W." in seen and "Whitfield" not in seen


# --- finding 2: consent on the queue, withdrawn from the profile ----------------------------------


def test_the_queue_shows_consent_and_unticking_it_closes_the_waiting_request(app, client, world, as_role,
                                                                          db_session):
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    coordinator = app.test_client()
    login(coordinator, world.logins["coordinator"])
    assert "consents to introductions" in coordinator.get("/queue").get_data(as_text=True)
    as_role("alumnus")
    saved = post(client, "/me", {"home": world.hana.home, "interests": "education", "japanese_level": 4,
                                 "availability_hours": 8, "max_matches": 2}, follow_redirects=True)
    assert "1 waiting introduction request closed" in saved.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(MatchRequest, req.id).status == "withdrawn"
    committee = app.test_client()
    login(committee, world.logins["committee"])
    assert "no longer available" in committee.get("/").get_data(as_text=True)
    refused = post(coordinator, f"/queue/{req.id}/decide", {"status": "approved", "expected": 0},
                   follow_redirects=True).get_data(as_text=True)
    assert "withdrawn consent" in refused
    assert db_session.get(MatchRequest, req.id).status == "withdrawn"


# --- finding 7: formulas neutralised ------------------------------------------------------------


def test_export_neutralises_formulas_and_keeps_numbers(client, world, as_role, db_session):
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    for status, note in (("on_hold", "=HYPERLINK(\"http://evil.example\",\"x\")"), ("on_hold", "+1 555 0100"),
                         ("on_hold", "@SUM(A1:A9)"), ("rejected", "-2+3")):
        decisions.decide(db_session, req.id, status, "coord@example.org", note)
    db_session.flush()
    as_role("coordinator")
    rows = [r for r in csv.DictReader(io.StringIO(client.get("/export.csv").get_data(as_text=True)))
            if r["request_id"] == str(req.id)]
    assert sorted(r["note"] for r in rows) == sorted(["'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1 555 0100",
                                                      "'@SUM(A1:A9)", "'-2+3"])
    assert {r["score"] for r in rows} == {"7.6"} and {r["sequence"] for r in rows} == {"1", "2", "3", "4"}


# --- finding 10: bands, not kilometres ------------------------------------------------------------


def test_committees_see_distance_bands_and_no_internal_ids_in_the_api(app, world, db_session):
    committee = app.test_client()
    login(committee, world.logins["committee"])
    page = committee.get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    assert "lives in Hot Springs, AR" in page and " km from " not in page and "lives 0 km" not in page
    rows = committee.get(f"/api/v1/relationships/{world.hot_springs.id}/volunteers",
                         headers=_token(db_session, world.logins["committee"])).get_json()
    hana = next(r for r in rows if r["name"] == "Hana Q.")
    assert "km" not in hana and "alum_id" not in hana
    assert hana["band"] == "lives in Hot Springs, AR"
    assert any(r["sentence"] == "lives in Hot Springs, AR" for r in hana["reasons"])


# --- finding 9: the page never waits on SMTP -----------------------------------------------------


def test_approving_never_talks_to_a_hanging_smtp_server(db_url, connection, gazetteer, world, db_session,
                                                       smtp_server, tmp_path, monkeypatch):
    hanging = smtp_server(hang=True)
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(db_url, DB_CONNECTION=connection, GAZETTEER=gazetteer, MAIL_SERVER="127.0.0.1",
                                MAIL_PORT=hanging.port))
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    client = app.test_client()
    login(client, world.logins["coordinator"])
    response = post(client, "/queue/bulk", {"pick": [f"{req.id}:0"]}, follow_redirects=True)
    assert "Approved 1 request" in response.get_data(as_text=True)
    assert hanging.connections == 0
    waiting = db_session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.request_id == req.id)).all()
    assert sorted(waiting) == sorted([jm_world.HANA_EMAIL, "sistercities@hotsprings.example"])

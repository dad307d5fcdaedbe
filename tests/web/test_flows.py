"""What each role does: search, volunteers, requests, the queue, the alum's profile, the API.

The contact rule runs through everything: no page or API answer shows an alum's
e-mail or surname until a coordinator approves the introduction.
"""

import csv
import io
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import jm_world
from conftest import csrf_token, login, post
from matcher import accounts, decisions
from matcher.mail import send_outbox
from matcher.models import Alumnus, Decision, MatchRequest, Placement, User
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run
from test_routes import EXPECTED, _url

SECRETS = (jm_world.HANA_EMAIL, jm_world.HANA_SURNAME, jm_world.PRIYA_SURNAME, "daniel.om@example.org",
           "Okonkwo-Marsh")
VIEWERS = ("coordinator", "chapter_lead", "committee", "committee_rutland", "alumnus_daniel")


def world_run(db_session) -> int:
    return ensure_run(db_session, "default")[0]


def _token(db_session, world, key):
    user = db_session.scalar(select(User).where(User.login == world.logins[key]))
    token = accounts.new_api_token(db_session, user)
    db_session.flush()
    return {"Authorization": f"Bearer {token}"}


def _every_get(client, world, headers, values):
    for (method, rule) in EXPECTED:
        if method == "GET" and not rule.startswith("/static"):
            response = client.get(_url(rule, values), headers=headers if rule.startswith("/api/") else {})
            yield rule, response.get_data(as_text=True)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_contact_data_anywhere_before_approval(viewer, client, world, db_session):
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    decisions.decide(db_session, req.id, "on_hold", "coord@example.org", "check dates")
    headers = _token(db_session, world, viewer)
    login(client, world.logins[viewer])
    values = {"relationship_id": world.hot_springs.id, "slug": world.chapter.slug, "token": "x"}
    own = {"daniel.om@example.org", "Okonkwo-Marsh"} if viewer == "alumnus_daniel" else set()  # his own pages
    seen = 0
    for rule, body in _every_get(client, world, headers, values):
        seen += 1
        for secret in set(SECRETS) - own:
            assert secret not in body, f"{viewer} saw {secret!r} on {rule}"
    assert seen > 20


def test_committee_finds_volunteers_with_reasons_and_requests_an_introduction(client, world, as_role, db_session):
    as_role("committee")
    page = client.get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    assert "Volunteers for Hot Springs, AR ↔ Hanamaki" in page
    assert page.index("Hana Q.") < page.index("Daniel O.")
    assert "placed in Ishidoriya (merged into Hanamaki in 2006)" in page
    assert "lived in Ishidoriya (now Hanamaki), 2003–2005" in page and "within 25 km" in page
    assert "Priya" not in page  # no consent, never shown
    response = post(client, f"/relationships/{world.hot_springs.id}/volunteers/{world.hana.id}/request")
    assert response.status_code == 302
    req = db_session.scalar(select(MatchRequest).where(MatchRequest.alumnus_id == world.hana.id))
    assert req.status == "pending" and req.kind == "introduction" and req.score == pytest.approx(7.6)
    page = client.get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    assert "introduction pending" in page and jm_world.HANA_EMAIL not in page


@pytest.mark.parametrize("query, wanted", [({"level": 4}, ["Hana Q."]), ({"theme": "business"}, ["Daniel O."]),
                                           ({"radius": "25"}, ["Hana Q."]), ({"radius": "200"}, ["Hana Q.", "Daniel O."])])
def test_volunteer_filters(client, world, as_role, query, wanted):
    as_role("committee")
    page = client.get(f"/relationships/{world.hot_springs.id}/volunteers", query_string=query).get_data(as_text=True)
    assert [n for n in ("Hana Q.", "Daniel O.") if n in page] == wanted


def _deliver(db_session, outbox) -> dict:
    """Send the outbox as `jetmatch mail send` would, in a session of its own (it commits per message:
    a session nested in the test's transaction, so the commits are undone with it)."""
    with Session(bind=db_session.connection(), join_transaction_mode="create_savepoint") as sender:
        return send_outbox(sender, outbox, sender="jetmatch <no-reply@jetmatch.test>")


def test_coordinator_approves_then_both_sides_see_contacts_and_mail_goes(client, world, as_role, db_session,
                                                                         outbox, app):
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    as_role("coordinator")
    queue = client.get("/queue").get_data(as_text=True)
    assert f"request-{req.id}" in queue and "Hana Q." in queue and jm_world.HANA_EMAIL not in queue
    response = post(client, f"/queue/{req.id}/decide", {"status": "approved", "note": "great fit", "expected": 0},
                    follow_redirects=True)
    assert "approved" in response.get_data(as_text=True)
    decision = db_session.scalar(select(Decision).where(Decision.request_id == req.id))
    assert (decision.status, decision.decided_by, decision.note) == ("approved", world.logins["coordinator"],
                                                                     "great fit")
    assert outbox.outbox == []  # the page does not wait on SMTP: the e-mails are in the outbox table
    _deliver(db_session, outbox)
    assert sorted(m["To"] for m in outbox.outbox) == sorted([jm_world.HANA_EMAIL, "sistercities@hotsprings.example"])
    history = client.get("/history").get_data(as_text=True)
    assert "great fit" in history and world.logins["coordinator"] in history
    exported = list(csv.DictReader(io.StringIO(client.get("/export.csv").get_data(as_text=True))))
    assert any(row["request_id"] == str(req.id) and row["status"] == "approved" for row in exported)
    assert jm_world.HANA_EMAIL not in client.get("/export.csv").get_data(as_text=True)

    committee = app.test_client()
    login(committee, world.logins["committee"])
    page = committee.get(f"/relationships/{world.hot_springs.id}/volunteers").get_data(as_text=True)
    assert jm_world.HANA_EMAIL in page and f"Hana {jm_world.HANA_SURNAME}" in page
    api = committee.get(f"/api/v1/relationships/{world.hot_springs.id}/volunteers",
                        headers=_token(db_session, world, "committee"))
    assert api.status_code == 200 and api.get_json()[0]["name"] == "Hana Q."
    alum = app.test_client()
    login(alum, world.logins["alumnus"])
    assert "sistercities@hotsprings.example" in alum.get("/me/suggestions").get_data(as_text=True)
    other = app.test_client()
    login(other, world.logins["committee_rutland"])
    assert jm_world.HANA_EMAIL not in other.get(f"/relationships/{world.rutland.id}/volunteers").get_data(as_text=True)


def test_second_coordinator_is_told_who_decided_first(app, client, world, as_role, db_session):
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    as_role("coordinator")
    other = app.test_client()
    login(other, world.logins["coordinator2"])
    post(client, f"/queue/{req.id}/decide", {"status": "approved", "expected": 0})
    response = post(other, f"/queue/{req.id}/decide", {"status": "rejected", "expected": 0}, follow_redirects=True)
    assert f"already decided by {world.logins['coordinator']}" in response.get_data(as_text=True)
    assert db_session.scalars(select(Decision.status).where(Decision.request_id == req.id)).all() == ["approved"]


def test_bulk_approve(client, world, as_role, db_session, outbox):
    a = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    b = decisions.request_introduction(db_session, world.hot_springs.id, world.daniel.id, None)
    db_session.flush()
    as_role("coordinator")
    response = post(client, "/queue/bulk", {"pick": [f"{a.id}:0", f"{b.id}:0"], "note": "batch"},
                    follow_redirects=True)
    assert "Approved 2 requests" in response.get_data(as_text=True)
    db_session.expire_all()
    assert {db_session.get(MatchRequest, a.id).status, db_session.get(MatchRequest, b.id).status} == {"approved"}
    assert _deliver(db_session, outbox)["sent"] == 4
    assert len(outbox.outbox) == 4


def test_chapter_lead_sees_partners_with_evidence_and_proposes(client, world, as_role, db_session):
    as_role("chapter_lead")
    page = client.get(f"/chapters/{world.chapter.slug}/partners").get_data(as_text=True)
    assert "Hot Springs, AR ↔ Hanamaki" in page and "2 of your members lived in Hanamaki" in page
    assert "2 members lived in the partner" in page and "dormant since 2012" in page
    assert "Iwate" in page  # members' reach
    post(client, f"/chapters/{world.chapter.slug}/partners/{world.hot_springs.id}/propose")
    req = db_session.scalar(select(MatchRequest).where(MatchRequest.kind == "partnership",
                                                       MatchRequest.chapter_id == world.chapter.id))
    assert req.status == "pending" and req.relationship_id == world.hot_springs.id


@pytest.mark.parametrize("q", ["Hanamaki", "花巻市", "hanamaki-shi", "Ishidoriya"])
def test_search_finds_both_hanamaki_partners_by_any_spelling(client, world, as_role, q):
    as_role("committee")
    page = client.get("/relationships", query_string={"q": q}).get_data(as_text=True)
    assert "Hot Springs, AR" in page and "Rutland, VT" in page, q


def test_search_by_us_city(client, world, as_role):
    as_role("committee")
    page = client.get("/relationships", query_string={"q": "Rutland, VT"}).get_data(as_text=True)
    assert "Rutland, VT" in page and "Hot Springs, AR" not in page


def test_alum_edits_profile_and_adds_a_placement_by_an_old_merged_name(client, world, as_role, db_session):
    as_role("alumnus")
    response = post(client, "/me", {"home": "Rutland, VT", "interests": "youth exchange", "japanese_level": 3,
                                    "availability_hours": 6, "max_matches": 1, "consent": "1"})
    assert response.status_code == 303
    db_session.expire_all()
    hana = db_session.get(Alumnus, world.hana.id)
    assert hana.home_state_abbr == "VT" and hana.consent and not hana.consent_contact
    assert abs(hana.home_lat - 43.61) < 0.2
    post(client, "/me/placements", {"place": "Ishidoriya", "role": "CIR", "start_year": 2006, "end_year": 2007})
    placements = db_session.scalars(select(Placement).where(Placement.alumnus_id == hana.id,
                                                            Placement.role == "CIR")).all()
    assert [(p.municipality_code, p.alias.name) for p in placements] == [("03205", "Ishidoriya")]
    page = client.get("/me").get_data(as_text=True)
    assert "Ishidoriya (now Hanamaki)" in page


def test_place_autocomplete_names_merged_towns(client, world, as_role):
    as_role("alumnus")
    labels = [item["label"] for item in client.get("/places/suggest?q=Ishidor").get_json()]
    assert any(label.startswith("Ishidoriya (now Hanamaki)") for label in labels), labels


def test_alum_downloads_own_data_and_deletes_account(client, world, as_role, db_session):
    as_role("alumnus")
    data = json.loads(client.get("/me/data.json").get_data(as_text=True))
    assert data["email"] == jm_world.HANA_EMAIL and data["placements"][0]["municipality_code"] == "03205"
    response = post(client, "/me/delete", {"confirm": "delete"})
    assert response.status_code == 303
    db_session.expunge_all()
    assert db_session.scalar(select(Alumnus).where(Alumnus.external_id == "T-HANA")) is None
    assert client.get("/me").status_code == 302


def test_coordinator_invites_a_user_who_sets_a_password(app, client, world, as_role):
    as_role("coordinator")
    page = post(client, "/users", {"login": "new.member@example.org", "role": "committee",
                                   "relationship_id": world.rutland.id}).get_data(as_text=True)
    link = page.split("/invite/")[1].split("<")[0]
    invited = app.test_client()
    response = invited.post(f"/invite/{link}", data={"password": "a fine password", "confirm": "a fine password",
                                                      "csrf_token": csrf_token(invited)})
    assert response.status_code == 302
    assert login(app.test_client(), "new.member@example.org", "a fine password").status_code == 302


def test_import_page_shows_row_level_errors(client, world, as_role):
    as_role("coordinator")
    bad = ("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
           "X-1,Ann Example,ann@example.org,\"Rutland, VT\",9,,4,1,yes\n")
    response = client.post("/import", data={"kind": "alumni", "dry_run": "1", "csrf_token": csrf_token(client),
                                            "file": (io.BytesIO(bad.encode()), "alumni.csv")},
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing written" in body
    assert "japanese_level" in body and "<td>2</td>" in body


def test_api_needs_a_token_and_answers_json(client, world, db_session):
    anonymous = client.get("/api/v1/relationships")
    assert anonymous.status_code == 401 and anonymous.get_json() == {"error": "a valid bearer token is required"}
    bad = client.get("/api/v1/relationships", headers={"Authorization": "Bearer jm_wrong"})
    assert bad.status_code == 401
    headers = _token(db_session, world, "committee")
    found = client.get("/api/v1/relationships?q=Ishidoriya", headers=headers).get_json()
    assert {r["us"] for r in found} >= {"Hot Springs, AR", "Rutland, VT"}
    volunteers = client.get(f"/api/v1/relationships/{world.hot_springs.id}/volunteers", headers=headers).get_json()
    assert volunteers[0]["reasons"][0]["sentence"].startswith("placed in Ishidoriya")
    assert client.get(f"/api/v1/relationships/{world.rutland.id}/volunteers", headers=headers).status_code == 403


def test_api_decision_and_conflict(client, world, db_session):
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    one = _token(db_session, world, "coordinator")
    two = _token(db_session, world, "coordinator2")
    first = client.post(f"/api/v1/requests/{req.id}/decisions", json={"status": "approved", "expected_count": 0},
                        headers=one)
    assert first.status_code == 201 and first.get_json()["request"]["contacts"]["alum_email"] == jm_world.HANA_EMAIL
    second = client.post(f"/api/v1/requests/{req.id}/decisions", json={"status": "rejected", "expected_count": 0},
                         headers=two)
    assert second.status_code == 409 and second.get_json()["decided_by"] == world.logins["coordinator"]


def test_api_alum_self_profile(client, world, db_session):
    me = client.get("/api/v1/me", headers=_token(db_session, world, "alumnus")).get_json()
    assert me["external_id"] == "T-HANA" and me["placements"][0]["place"] == "Ishidoriya-cho, Iwate"


def test_openapi_paths_match_the_registered_routes(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(method.upper(), "/api/v1" + path.replace("{", "<").replace("}", ">"))
                  for path, ops in spec["paths"].items() for method in ops}
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule
            for conv in ("int:", "path:"):
                path = path.replace(f"<{conv}", "<")
            registered |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == registered


def test_volunteers_are_paged_best_first(app, client, world, as_role):
    app.config["VOLUNTEER_PAGE_SIZE"] = 1
    as_role("committee")
    url = f"/relationships/{world.hot_springs.id}/volunteers"
    first = client.get(url).get_data(as_text=True)
    second = client.get(url, query_string={"page": 2}).get_data(as_text=True)
    assert "Hana Q." in first and "Daniel O." not in first and "next →" in first
    assert "Daniel O." in second and "Hana Q." not in second


def test_radius_filter_fills_the_page_from_inside_the_circle(db_session, world, app):
    # An alum in the corner of the 25 km box around Hot Springs (about 28 km away) scores
    # higher than Hana; with one row a page, page 1 must still show Hana, not an empty page.
    from matcher.models import Alumnus, Suggestion
    from web.committee import volunteer_rows

    hs = world.hot_springs.us_place
    corner = Alumnus(external_id="T-CORNER", name="Corey Nook", email="corey@example.org", home="corner",
                     home_lat=hs.lat + 0.2, home_lon=hs.lon + 0.24, home_state_abbr="AR", consent=True)
    db_session.add(corner)
    db_session.flush()
    db_session.add(Suggestion(run_id=world_run(db_session), kind="volunteer", alumnus_id=corner.id,
                              relationship_id=world.hot_springs.id, score=8.0, rank=0,
                              levels=pair_levels(db_session, corner.id, world.hot_springs.id)))
    db_session.flush()
    with app.app_context():
        rows = volunteer_rows(db_session, world.hot_springs, radius=25, page=1, size=1)
    assert [r["name"] for r in rows] == ["Hana Q."]
    assert all(r["band"].startswith(("lives in Hot Springs", "lives within 25 km of Hot Springs")) for r in rows)


def test_a_sister_state_tie_counts_members_anywhere_in_the_prefecture(db_session, world):
    # For a state–prefecture tie (as Maryland ↔ Kanagawa), the partner is the whole prefecture:
    # every member placed in Iwate counts, not zero for want of a partner municipality.
    from matcher.models import Relationship, Suggestion
    from web.chapter import member_ties, partner_rows

    tie = Relationship(pair_key="state:AR|pref:03", us_kind="state", us_state_abbr="AR", jp_kind="prefecture",
                       jp_prefecture_code="03", status="unknown")
    db_session.add(tie)
    db_session.flush()
    db_session.add(Suggestion(run_id=world_run(db_session), kind="partner", chapter_id=world.chapter.id,
                              relationship_id=tie.id, score=9.9, rank=0, contributions=[]))
    db_session.flush()
    row = next(r for r in partner_rows(db_session, world.chapter) if r["rel"].id == tie.id)
    in_iwate = member_ties(db_session, world.chapter.id)[1]["03"]
    assert in_iwate >= 2
    assert row["members_partner"] == row["members_prefecture"] == in_iwate

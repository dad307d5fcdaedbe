"""Every registered route × every role: allowed, forbidden, or sent to sign in.

A new route without an entry in ``EXPECTED`` fails ``test_every_route_has_an_entry``.
Outcomes: "ok" (served: 2xx, or a redirect that is not to the sign-in page), "login"
(redirected to /login), "403", "401" (API without token), "404", "any".
"""

import pytest
from sqlalchemy import select

from conftest import csrf_token, login
from matcher import accounts, decisions
from matcher.models import Job, Placement, User

ROLES = ("anon", "coordinator", "chapter_lead", "committee", "alumnus")


def _page(allowed, anon="login"):
    """Outcomes for a page: allowed roles get "ok", others 403, anonymous visitors "login"."""
    return {role: "ok" if role in allowed else ("login" if role == "anon" else "403") for role in ROLES} | (
        {"anon": anon})


def _api(allowed):
    return {role: "ok" if role in allowed else ("401" if role == "anon" else "403") for role in ROLES}


EVERYONE = ROLES[1:]
ANY = {role: "any" for role in ROLES}
EXPECTED = {
    ("GET", "/"): _page(EVERYONE),
    ("GET", "/login"): {"anon": "ok", **{r: "ok" for r in EVERYONE}},
    ("POST", "/login"): ANY,
    ("POST", "/logout"): ANY,
    ("GET", "/invite/<token>"): {role: "404" for role in ROLES} | {"anon": "ok"} | {r: "ok" for r in EVERYONE},
    ("POST", "/invite/<token>"): {role: "404" for role in ROLES},
    ("GET", "/account/token"): _page(EVERYONE),
    ("POST", "/account/token"): _page(EVERYONE),
    ("GET", "/relationships"): _page(EVERYONE),
    ("GET", "/relationships/<int:relationship_id>"): _page(EVERYONE),
    ("GET", "/relationships/<int:relationship_id>/volunteers"): _page(("coordinator", "committee")),
    ("POST", "/relationships/<int:relationship_id>/volunteers/<int:alumnus_id>/request"):
        _page(("coordinator", "committee")),
    ("GET", "/chapters/<slug>/partners"): _page(("coordinator", "chapter_lead")),
    ("POST", "/chapters/<slug>/partners/<int:relationship_id>/propose"): _page(("coordinator", "chapter_lead")),
    ("GET", "/queue"): _page(("coordinator",)),
    ("POST", "/queue/<int:request_id>/decide"): _page(("coordinator",)),
    ("POST", "/queue/bulk"): _page(("coordinator",)),
    ("GET", "/history"): _page(("coordinator",)),
    ("GET", "/partnerships"): _page(("coordinator",)),
    ("POST", "/partnerships/propose"): _page(("coordinator",)) | {"coordinator": "400"},
    ("GET", "/export.csv"): _page(("coordinator",)),
    ("GET", "/import"): _page(("coordinator",)),
    ("POST", "/import"): _page(("coordinator",)) | {"coordinator": "400"},
    ("GET", "/users"): _page(("coordinator",)),
    ("GET", "/map"): _page(("coordinator",)),
    ("GET", "/reports"): _page(("coordinator",)),
    ("GET", "/reports/<section>/<table>.csv"): _page(("coordinator",)),
    ("POST", "/users"): _page(("coordinator",)) | {"coordinator": "400"},
    ("POST", "/users/<int:user_id>/<action>"): _page(("coordinator",)),
    ("GET", "/jobs"): _page(("coordinator",)),
    ("GET", "/jobs/<int:job_id>.json"): _page(("coordinator",)),
    ("POST", "/jobs/<int:job_id>/retry"): _page(("coordinator",)),
    ("POST", "/jobs/add"): _page(("coordinator",)),
    ("GET", "/me"): _page(("alumnus",)),
    ("POST", "/me"): _page(("alumnus",)) | {"alumnus": "400"},  # an empty form: field errors
    ("POST", "/me/placements"): _page(("alumnus",)) | {"alumnus": "400"},
    ("POST", "/me/placements/<int:placement_id>/delete"): _page(("alumnus",)),
    ("GET", "/me/suggestions"): _page(("alumnus",)),
    ("GET", "/me/data.json"): _page(("alumnus",)),
    ("GET", "/me/delete"): _page(("alumnus",)),
    ("POST", "/me/delete"): _page(("alumnus",)) | {"alumnus": "400"},
    ("GET", "/places/suggest"): _page(EVERYONE),
    ("GET", "/static/<path:filename>"): {role: "ok" for role in ROLES},
    ("GET", "/api/v1/openapi.json"): {role: "ok" for role in ROLES},
    ("GET", "/api/v1/relationships"): _api(EVERYONE),
    ("GET", "/api/v1/relationships/<int:relationship_id>"): _api(EVERYONE),
    ("GET", "/api/v1/relationships/<int:relationship_id>/volunteers"): _api(("coordinator", "committee")),
    ("GET", "/api/v1/chapters/<slug>/partners"): _api(("coordinator", "chapter_lead")),
    ("GET", "/api/v1/requests"): _api(("coordinator",)),
    ("POST", "/api/v1/requests/<int:request_id>/decisions"): _api(("coordinator",)) | {"coordinator": "400"},
    ("GET", "/api/v1/me"): _api(("alumnus",)),
    ("GET", "/places/resolve"): _page(EVERYONE),
    ("GET", "/api/v1/places/resolve"): _api(EVERYONE) | {role: "400" for role in EVERYONE},  # no q given
    ("POST", "/api/v1/places/resolve"): _api(EVERYONE) | {role: "400" for role in EVERYONE},
}


def registered(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def test_every_route_has_an_entry(app):
    routes = set(registered(app))
    assert routes - set(EXPECTED) == set(), "add the new routes to EXPECTED"
    assert set(EXPECTED) - routes == set(), "EXPECTED lists routes that no longer exist"


def _url(rule: str, values: dict) -> str:
    url = rule
    for name, value in values.items():
        for conv in ("int:", "path:", ""):
            url = url.replace(f"<{conv}{name}>", str(value))
    return url


def _outcome(response) -> str:
    code = response.status_code
    if code in (301, 302, 303):
        return "login" if "/login" in response.headers["Location"] else "ok"
    if 200 <= code < 300:
        return "ok"
    return str(code)


@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(role, app, client, world, db_session):
    pending = world.hot_springs.id
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.daniel.id, None)
    placement = db_session.scalar(select(Placement.id).where(Placement.alumnus_id == world.hana.id))
    job = Job(kind="rescore", title="a failed re-score", params={"full": True}, status="failed", attempts=1)
    db_session.add(job)
    db_session.flush()
    values = {"job_id": job.id, "relationship_id": world.hot_springs.id, "alumnus_id": world.hana.id, "slug": world.chapter.slug,
              "request_id": req.id, "placement_id": placement, "token": "not-an-invite", "filename": "style.css",
              "user_id": db_session.scalar(select(User.id).where(User.login == world.logins["committee_rutland"])),
              "action": "revoke-token",
              "section": "coverage", "table": "relationships"}
    headers = {}
    if role != "anon":
        assert login(client, world.logins[role]).status_code == 302
        user = db_session.scalar(select(User).where(User.login == world.logins[role]))
        headers = {"Authorization": f"Bearer {accounts.new_api_token(db_session, user)}"}
    db_session.flush()
    wrong = []
    for (method, rule), outcomes in EXPECTED.items():
        want = outcomes[role]
        url = _url(rule, values)
        if method == "GET":
            response = client.get(url, headers=headers if rule.startswith("/api/") else {})
        elif rule.startswith("/api/"):
            response = client.post(url, json={}, headers=headers)
        else:
            response = client.post(url, data={"csrf_token": csrf_token(client)})
        got = _outcome(response)
        response.close()
        if want != "any" and got != want:
            wrong.append(f"{method} {url}: expected {want}, got {got}")
        if role != "anon" and (rule == "/logout" or (rule == "/me/delete" and got == "ok")):
            login(client, world.logins[role])
        if role != "anon" and rule == "/account/token":  # a new token replaced ours
            db_session.expire_all()
            headers = {"Authorization": f"Bearer {accounts.new_api_token(db_session, user)}"}
    assert not wrong, "\n".join(wrong)
    assert pending  # the world stayed in place


def test_committee_member_sees_only_their_own_relationship(client, world, as_role):
    as_role("committee_rutland")
    assert client.get(f"/relationships/{world.hot_springs.id}/volunteers").status_code == 403
    assert client.get(f"/relationships/{world.rutland.id}/volunteers").status_code == 200
    refused = client.post(f"/relationships/{world.hot_springs.id}/volunteers/{world.hana.id}/request",
                          data={"csrf_token": csrf_token(client)})
    assert refused.status_code == 403


def test_chapter_lead_sees_only_their_chapter(client, world, as_role, db_session):
    from matcher.models import Chapter

    other = Chapter(slug="jm-test-other", name="Other chapter (test)", states="VT")
    db_session.add(other)
    db_session.flush()
    as_role("chapter_lead")
    assert client.get(f"/chapters/{world.chapter.slug}/partners").status_code == 200
    assert client.get("/chapters/jm-test-other/partners").status_code == 403


def test_an_alum_cannot_remove_another_alums_placement(client, world, as_role, db_session):
    theirs = db_session.scalar(select(Placement.id).where(Placement.alumnus_id == world.daniel.id))
    as_role("alumnus")
    response = client.post(f"/me/placements/{theirs}/delete", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 404
    assert db_session.get(Placement, theirs) is not None

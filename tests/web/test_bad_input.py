"""Finding 8 of issue 12: hostile input gets a clear 4xx, never a 500, and nothing over a cap
is stored. Each case here was a 500 (on SQLite, PostgreSQL or both) before the bounds."""

import io

import pytest
from sqlalchemy import select

from conftest import csrf_token, login, post
from matcher import accounts
from matcher.models import Alumnus, User

HUGE = "9" * 25


@pytest.fixture
def coordinator_token(db_session, world):
    user = db_session.scalar(select(User).where(User.login == world.logins["coordinator"]))
    token = accounts.new_api_token(db_session, user)
    db_session.flush()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("url, code", [
    (f"/relationships/{HUGE}", 404),
    (f"/relationships/{HUGE}/volunteers", 404),
    (f"/chapters/x/partners/{HUGE}/propose", 405),  # GET on a POST route: routed, not a crash
    ("/relationships?page=" + HUGE, 400),
    ("/queue?page=" + HUGE, 400),
    ("/history?page=" + HUGE, 400),
    ("/queue?page=-3", 400),
    ("/relationships?q=Hana%00maki", 400),
    ("/relationships?q=" + "x" * 5000, 400),
    ("/chapters/%00/partners", 400),
])
def test_pages_answer_bad_numbers_and_text_with_a_4xx(url, code, client, world, as_role):
    as_role("coordinator")
    response = client.get(url)
    assert response.status_code == code, response.get_data(as_text=True)[:300]
    assert "Traceback" not in response.get_data(as_text=True)


def test_the_volunteer_filter_level_is_range_checked(client, world, as_role):
    as_role("coordinator")
    response = client.get(f"/relationships/{world.hot_springs.id}/volunteers?level={HUGE}")
    assert response.status_code == 400
    assert "Level must be a whole number from 0 to 5." in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [f"/api/v1/relationships/{HUGE}", f"/api/v1/relationships/{HUGE}/volunteers",
                                 "/api/v1/chapters/%00/partners", "/api/v1/relationships?q=a%00b",
                                 "/api/v1/relationships/1/volunteers?level=" + HUGE])
def test_the_api_answers_bad_paths_and_arguments_with_a_json_4xx(url, client, coordinator_token):
    response = client.get(url, headers=coordinator_token)
    assert response.status_code in (400, 404)
    assert response.is_json and response.get_json()["error"]


@pytest.mark.parametrize("body", [[1, 2], "approved", 7, None, {"status": "approved", "expected_count": "x"},
                                  {"status": "approved", "expected_count": int(HUGE)},
                                  {"status": "approved", "note": ["not", "text"]},
                                  {"status": "approved", "note": "a\x00b"}, {"status": "maybe"}])
def test_a_decision_body_that_is_not_the_documented_object_is_a_400(body, client, coordinator_token):
    response = client.post("/api/v1/requests/1/decisions", json=body, headers=coordinator_token)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_a_decision_on_a_huge_request_id_is_a_404(client, coordinator_token):
    response = client.post(f"/api/v1/requests/{HUGE}/decisions", json={"status": "approved"},
                           headers=coordinator_token)
    assert response.status_code == 404


def test_nul_bytes_and_huge_values_in_forms_are_refused_before_any_work(client, world):
    response = client.post("/login", data={"login": "coordinator\x00@example.org", "password": "x",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    response = client.post("/login", data={"login": "a" * 20_000, "password": "x", "csrf_token": csrf_token(client)})
    assert response.status_code == 400


def test_a_very_long_home_is_a_field_error_and_is_not_stored(client, world, as_role, db_session):
    as_role("alumnus")
    response = post(client, "/me", {"home": "Rutland, VT " + "x" * 5000, "interests": "", "japanese_level": 3,
                                    "availability_hours": 6, "max_matches": 1})
    assert response.status_code == 400
    assert "Field cannot be longer than 200 characters." in response.get_data(as_text=True)
    db_session.expire_all()
    assert len(db_session.get(Alumnus, world.hana.id).home) <= 200


def test_interests_over_the_cap_are_refused_not_cut(client, world, as_role, db_session):
    as_role("alumnus")
    response = post(client, "/me", {"home": "", "interests": "tea ceremony " * 200, "japanese_level": 3,
                                    "availability_hours": 6, "max_matches": 1})
    assert response.status_code == 400
    db_session.expire_all()
    assert "tea ceremony" not in db_session.get(Alumnus, world.hana.id).interests


@pytest.mark.parametrize("cell, message", [("x" * 200_000, "has a cell longer than 128 KB"),
                                           ("Rutland\x00, VT", "contains a NUL character")])
def test_import_page_reports_huge_cells_and_nul_bytes_as_row_errors(cell, message, client, world, as_role):
    as_role("coordinator")
    text = ("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
            f'X-1,Ann Example,ann@example.org,"{cell}",3,,4,1,yes\n')
    response = client.post("/import", data={"kind": "alumni", "dry_run": "1", "csrf_token": csrf_token(client),
                                            "file": (io.BytesIO(text.encode()), "alumni.csv")},
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<td>2</td>" in body and message in body

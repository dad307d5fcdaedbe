"""Place text on the pages and the API: a preview before saving, and a clear error for text too long."""

from sqlalchemy import select

from conftest import post
from matcher.models import Placement
from test_flows import _token

HUNDRED_KB = "Ishidoriya" * 10_240


def test_placement_preview_json_says_what_the_text_resolves_to(client, world, as_role):
    as_role("alumnus")
    found = client.get("/places/resolve", query_string={"q": "Ishidoriya, Iwate"}).get_json()
    assert found["status"] == "resolved" and found["code"] == "03205" and found["via"] == "alias"
    assert found["message"].startswith("Ishidoriya — merged into Hanamaki on 2006-01-01")
    unsure = client.get("/places/resolve", query_string={"q": "Azuma, Gunma"}).get_json()
    assert unsure["status"] == "ambiguous" and len(unsure["candidates"]) == 3
    assert all(c["reason"].startswith("old village") for c in unsure["candidates"])


def test_check_place_button_previews_without_saving(client, world, as_role, db_session):
    as_role("alumnus")
    before = db_session.scalars(select(Placement.id).where(Placement.alumnus_id == world.hana.id)).all()
    response = post(client, "/me/placements", {"place": "静岡県榛原郡川根町", "preview": "Check place"})
    assert response.status_code == 303
    page = client.get("/me").get_data(as_text=True)
    assert "Kawane — merged into Shimada on 2008-04-01" in page
    assert db_session.scalars(select(Placement.id).where(Placement.alumnus_id == world.hana.id)).all() == before


def test_a_100_kb_placement_name_is_a_clear_error_on_the_page(client, world, as_role, db_session):
    as_role("alumnus")
    before = db_session.scalars(select(Placement.id).where(Placement.alumnus_id == world.hana.id)).all()
    response = post(client, "/me/placements", {"place": HUNDRED_KB, "role": "ALT", "start_year": 2001,
                                               "end_year": 2002})
    # refused before any work (the app's cap on every field), with the field named
    assert response.status_code == 400
    assert "The form field &#39;place&#39; has 102400 characters; at most 10000 are accepted." in response.get_data(
        as_text=True)
    over = post(client, "/me/placements", {"place": "Ishidoriya " * 20, "role": "ALT", "start_year": 2001,
                                           "end_year": 2002})
    assert over.status_code == 400 and "Field cannot be longer than 200 characters." in over.get_data(as_text=True)
    assert db_session.scalars(select(Placement.id).where(Placement.alumnus_id == world.hana.id)).all() == before
    assert client.get("/places/resolve", query_string={"q": HUNDRED_KB}).status_code == 400
    preview = client.get("/places/resolve", query_string={"q": "Ishidoriya " * 20}).get_json()
    assert preview["status"] == "too long"


def test_a_100_kb_placement_name_is_a_clear_error_in_the_api(client, world, db_session):
    headers = _token(db_session, world, "alumnus")
    response = client.post("/api/v1/places/resolve", json={"q": HUNDRED_KB}, headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"error": "the place text is 102,400 characters long; a place is at most 200"}


def test_api_resolves_a_placement_with_how_it_matched(client, world, db_session):
    headers = _token(db_session, world, "alumnus")
    ward = client.get("/api/v1/places/resolve", query_string={"q": "Chikusa-ku, Nagoya"}, headers=headers).get_json()
    assert (ward["name"], ward["via"], ward["ward"]["name_ja"]) == ("Nagoya", "ward", "千種区")
    org = client.post("/api/v1/places/resolve", json={"q": "Ikuno Town Board of Education, Hyogo"},
                      headers=headers).get_json()
    assert (org["name"], org["via"]) == ("Asago", "organisation")
    unknown = client.get("/api/v1/places/resolve", query_string={"q": "Ishidorixxa"}, headers=headers).get_json()
    assert unknown["status"] == "unknown" and "did you mean Ishidoriya (now Hanamaki), Iwate" in unknown["message"]

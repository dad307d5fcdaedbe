"""The volunteer page keeps each row's HTML and the partner map per process, under the database's
change stamp: any change to the data they are built from must show on the very next view."""

import pytest
from sqlalchemy import text, update

import jm_world
from conftest import login
from matcher import decisions
from matcher.models import STAMPED_TABLES, Alumnus, Placement, ScoringModel
from web.present import data_stamp


def _page(client, world) -> str:
    response = client.get(f"/relationships/{world.hot_springs.id}/volunteers")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_consent_withdrawal_takes_the_volunteer_off_the_page_and_the_map_at_once(client, world, as_role,
                                                                                     db_session):
    as_role("committee")
    before = _page(client, world)
    assert "Hana Q." in before and "<title>Hanamaki: 1 willing alumnus</title>" in before
    assert _without_tokens(_page(client, world)) == _without_tokens(before)  # kept: the same page again (the
    # signed CSRF token carries the second it was signed in)
    decisions.withdraw_consent(db_session, world.hana)
    db_session.flush()
    after = _page(client, world)
    assert "Hana Q." not in after and "Ishidoriya (now Hanamaki)" not in after
    assert "Hanamaki: 1 willing alumnus" not in after and "Daniel O." in after


def test_a_decision_shows_on_the_kept_page_at_once(app, client, world, as_role, db_session):
    as_role("committee")
    assert "Request introduction" in _page(client, world)
    req = decisions.request_introduction(db_session, world.hot_springs.id, world.hana.id, None)
    db_session.flush()
    assert "introduction pending" in _page(client, world)
    decisions.decide(db_session, req.id, "approved", "coord@example.org", "good fit")
    db_session.flush()
    page = _page(client, world)
    assert "Introduction approved" in page and jm_world.HANA_EMAIL in page
    other = app.test_client()  # another committee's viewer of the same kept rows sees no contact
    login(other, world.logins["committee_rutland"])
    rutland = other.get(f"/relationships/{world.rutland.id}/volunteers").get_data(as_text=True)
    assert "Hana Q." in rutland and jm_world.HANA_EMAIL not in rutland


def test_a_corrected_placement_changes_the_kept_row(client, world, as_role, db_session):
    """The tie sentence is not in the suggestion row the page reads each time: only the stamp tells."""
    as_role("committee")
    assert "lived in Ishidoriya (now Hanamaki), 2003–2005" in _page(client, world)
    db_session.execute(update(Placement).where(Placement.alumnus_id == world.hana.id).values(end_year=2006))
    db_session.flush()
    page = _page(client, world)
    assert "lived in Ishidoriya (now Hanamaki), 2003–2006" in page and "2003–2005" not in page


def test_a_corrected_name_shows_at_once(client, world, as_role, db_session):
    as_role("committee")
    assert "Hana Q." in _page(client, world)
    db_session.execute(update(Alumnus).where(Alumnus.id == world.hana.id).values(given_name="Hanako"))
    db_session.flush()
    page = _page(client, world)
    assert "Hanako Q." in page and "Hana Q." not in page


def test_the_kept_page_equals_a_fresh_one(app, client, world, as_role, db_session):
    """Rows built for one filter and reused by another are the same HTML a fresh build gives."""
    as_role("committee")
    url = f"/relationships/{world.hot_springs.id}/volunteers"
    warm = [client.get(f"{url}?radius=200").get_data(as_text=True), _page(client, world)]
    app.extensions.pop("jetmatch_volunteer_fragments")  # a fresh process
    fresh = [_page(client, world), client.get(f"{url}?radius=200").get_data(as_text=True)]
    assert _without_tokens(warm[1]) == _without_tokens(fresh[0])
    assert _without_tokens(warm[0]) == _without_tokens(fresh[1])


def _without_tokens(html: str) -> str:
    import re

    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]+"', r'\1=""', html)


@pytest.mark.parametrize("table", STAMPED_TABLES)
def test_every_change_to_a_stamped_table_raises_the_stamp(table, db_session, world):
    """Insert, update and delete, through any writer (here plain SQL), raise it in the same transaction."""
    db_session.add(ScoringModel(version="stamp-test", settings={}))  # the world has no model of its own
    db_session.flush()
    columns = db_session.execute(text(f"SELECT * FROM {table} LIMIT 1")).mappings().first()
    assert columns is not None, f"the test world has no {table}"
    key, value = next(iter(columns.items()))
    before = data_stamp(db_session)
    db_session.execute(text(f"UPDATE {table} SET {key} = {key} WHERE {key} = :v"), {"v": value})
    after_update = data_stamp(db_session)
    assert after_update > before
    with db_session.begin_nested() as nested:  # a delete that the foreign keys may refuse: undo it either way
        try:
            db_session.execute(text(f"DELETE FROM {table} WHERE {key} = :v"), {"v": value})
        except Exception:
            pass
        else:
            assert data_stamp(db_session) > after_update
        nested.rollback()


def test_an_insert_raises_the_stamp(db_session, world):
    before = data_stamp(db_session)
    db_session.add(Placement(alumnus_id=world.daniel.id, place="Hanamaki", prefecture_code="03", role="ALT",
                             start_year=2014, end_year=2015))
    db_session.flush()
    assert data_stamp(db_session) > before


def _tokens(html: str) -> set[str]:
    import re

    return set(re.findall(r'(?:name="csrf_token" value|name="csrf-token" content)="([^"]+)"', html))


def test_the_kept_page_carries_each_sessions_own_token_and_its_forms_work(app, client, world, as_role):
    """The whole page is kept with stand-ins for the CSRF token and the rows' request slots: a second
    viewer gets their own token (and nav), and the form on the kept page is accepted."""
    as_role("committee")
    first = _page(client, world)
    same = app.test_client()  # the same login on another device: the same kept page, another session
    login(same, world.logins["committee"])
    second = _page(same, world)
    assert len(_tokens(first)) == 1 and len(_tokens(second)) == 1 and _tokens(first) != _tokens(second)
    assert _without_tokens(first) == _without_tokens(second)
    coordinator = app.test_client()
    login(coordinator, world.logins["coordinator"])
    theirs = _page(coordinator, world)
    assert ">Queue</a>" in theirs and ">Queue</a>" not in first  # the coordinator's nav, not the committee's
    token = _tokens(first).pop()
    response = client.post(f"/relationships/{world.hot_springs.id}/volunteers/{world.hana.id}/request",
                           data={"csrf_token": token})
    assert response.status_code == 302
    shown = _page(client, world)  # the flashed message is shown once, on a page rendered afresh
    assert "Introduction requested (request #" in shown and "introduction pending" in shown
    again = _page(client, world)  # then the kept page again, with the new request's status in its slot
    assert "Introduction requested" not in again and "introduction pending" in again
    assert _without_tokens(again) == _without_tokens(shown).replace(
        shown[shown.index('<p class="flash'):shown.index("</p>", shown.index('<p class="flash')) + 4], "")

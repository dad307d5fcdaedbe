"""The coordinators' "Potential new partnerships" page: suggestions with reasons and
champions, marking one as proposed, and deciding the proposal in the queue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from conftest import post
from matcher import partnerships as pt
from matcher.models import Decision, MatchRequest, ScoringModel


@pytest.fixture
def trained(db_session):
    """A stored partnerships model, so that the page does not fit one."""
    return pt.train(db_session)


def test_the_page_lists_new_pairs_with_reasons_that_read_true(client, as_role, trained, db_session):
    as_role("coordinator")
    page = client.get("/partnerships").get_data(as_text=True)
    assert "Potential new partnerships" in page and trained.version in page
    assert page.count('class="result"') == 20
    assert "Mark as proposed" in page
    # A zero count is never shown as "(0)" beside a positive weight.
    assert not re.search(r"\(0\)", page)
    cities = client.get("/partnerships?level=city").get_data(as_text=True)
    assert "city ↔ municipality" in cities and "state ↔ prefecture</span>" not in cities
    assert client.get("/partnerships?level=nonsense").status_code == 404


def test_a_stored_model_is_the_newest_partnerships_row_and_never_active(db_session, trained):
    model, version = pt.stored_model(db_session)
    assert version == trained.version and version.startswith("partnerships-")
    assert trained.settings["kind"] == "partnerships" and trained.settings["current"] is True
    assert trained.active is False
    assert db_session.get(ScoringModel, version).metrics["pairs"] > 100
    assert model.names_ == list(pt.DEFAULT_FEATURES)


def test_proposing_puts_a_request_in_the_queue_and_approval_proposes_to_both_cities(
        client, as_role, trained, db_session, outbox):
    as_role("coordinator")
    page = client.get("/partnerships?level=state").get_data(as_text=True)
    us, jp = re.search(r'name="us" value="([^"]+)">\s*<input type="hidden" name="jp" value="(\d+)"', page).groups()
    response = post(client, "/partnerships/propose", {"us": us, "jp": jp, "note": "both have ports",
                                                      "level": "state"})
    assert response.status_code == 303
    request = db_session.scalars(select(MatchRequest).where(MatchRequest.kind == "new_partnership")).one()
    assert request.status == "pending" and request.note == "both have ports"
    assert sum(c["weight"] for c in request.contributions) == pytest.approx(request.score, abs=1e-3)
    assert f"request #{request.id}" in client.get("/partnerships?level=state").get_data(as_text=True)

    queue = client.get("/queue").get_data(as_text=True)
    label = pt.proposal_labels(db_session, [request])[request.id]
    assert f"New partnership: {label}" in queue and "both have ports" in queue
    decided = post(client, f"/queue/{request.id}/decide", {"status": "approved", "expected": "0",
                                                            "note": "sent to both mayors"},
                   follow_redirects=True).get_data(as_text=True)
    assert "proposed to both cities" in decided
    db_session.expire_all()
    assert db_session.get(MatchRequest, request.id).status == "approved"
    assert db_session.scalar(select(Decision.note).where(Decision.request_id == request.id)) == "sent to both mayors"
    assert outbox.outbox == []  # no committee or volunteer to write to
    history = client.get("/history").get_data(as_text=True)
    assert label in history and "proposed to both cities" in history
    assert label in client.get("/export.csv").get_data(as_text=True)


def test_a_proposal_decided_twice_from_the_same_view_is_refused_the_second_time(client, as_role, db_session):
    request = pt.propose_partnership(db_session, "MD", "25", by_login="coord@example.org")
    as_role("coordinator")
    first = post(client, f"/queue/{request.id}/decide", {"status": "on_hold", "expected": "0"})
    second = post(client, f"/queue/{request.id}/decide", {"status": "rejected", "expected": "0"},
                  follow_redirects=True)
    assert first.status_code == 303
    assert "already decided" in second.get_data(as_text=True)


def test_proposing_an_existing_partnership_or_an_unknown_place_is_refused(client, as_role, db_session):
    as_role("coordinator")
    assert post(client, "/partnerships/propose", {"us": "MD", "jp": "14"}).status_code == 400  # Maryland–Kanagawa
    assert post(client, "/partnerships/propose", {"us": "99999999", "jp": "25"}).status_code == 400
    assert post(client, "/partnerships/propose", {"us": "MD", "jp": "x"}).status_code == 400


def test_the_page_reads_the_suggestions_stored_at_training(client, as_role, trained, db_session, monkeypatch):
    from matcher.models import PartnershipSuggestion

    stored = db_session.scalars(select(PartnershipSuggestion).where(
        PartnershipSuggestion.model_version == trained.version, PartnershipSuggestion.level == "any")
        .order_by(PartnershipSuggestion.rank)).all()
    assert len(stored) == pt.STORED_TOP and trained.metrics["suggestions"] == 3 * pt.STORED_TOP

    def no_ranking(*args, **kwargs):
        raise AssertionError("the page ranked pairs instead of reading the stored ones")

    monkeypatch.setattr(pt, "load_graph", no_ranking)
    monkeypatch.setattr(pt, "suggest_partnerships", no_ranking)
    as_role("coordinator")
    page = client.get("/partnerships").get_data(as_text=True)
    positions = [page.index(f"{s.us_label} ↔ {s.jp_label}") for s in stored]
    assert positions == sorted(positions)  # in the stored order
    assert f"{100 * stored[0].probability:.1f}%" in page and "calibrated" in page
    assert "changed since these were ranked" not in page


def test_stored_suggestions_follow_consent_and_new_relationships(db_session, trained):
    from matcher.models import Alumnus, PartnershipSuggestion, Relationship, USPlace

    rows = pt.stored_suggestions(db_session, "city")["rows"]
    with_champion = next((r for r in rows if r["champions"]), None)
    if with_champion is not None:  # a champion who withdraws consent disappears at once
        alum = db_session.get(Alumnus, with_champion["champions"][0]["alumnus_id"])
        alum.consent = False
        db_session.flush()
        again = next(r for r in pt.stored_suggestions(db_session, "city")["rows"]
                     if (r["us_key"], r["jp_key"]) == (with_champion["us_key"], with_champion["jp_key"]))
        assert alum.id not in {c["alumnus_id"] for c in again["champions"]}
    first = db_session.scalars(select(PartnershipSuggestion).where(PartnershipSuggestion.level == "city")
                               .order_by(PartnershipSuggestion.rank)).first()
    place, muni = int(first.us_key[6:]), first.jp_key[5:]
    db_session.add(Relationship(pair_key=f"{first.us_key}|{first.jp_key}", us_kind="city", us_place_id=place,
                                us_state_abbr=db_session.get(USPlace, place).state_abbr,
                                jp_kind="municipality", jp_municipality_code=muni, jp_prefecture_code=muni[:2]))
    db_session.flush()
    after = pt.stored_suggestions(db_session, "city")
    assert after["stale"] is True  # the page says so
    assert (first.us_key, first.jp_key) not in {(r["us_key"], r["jp_key"]) for r in after["rows"]}


def test_a_new_training_replaces_the_stored_suggestions(db_session, trained):
    import datetime as dt

    from matcher.models import PartnershipSuggestion

    newer = pt.train(db_session, now=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
    versions = set(db_session.scalars(select(PartnershipSuggestion.model_version)))
    assert versions == {newer.version}
    assert pt.stored_suggestions(db_session)["version"] == newer.version

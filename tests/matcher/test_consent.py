"""Finding 2: consent is checked inside the decision's transaction, and withdrawing it closes the
alum's waiting requests (kept in the history) and tells the committee "no longer available"."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from matcher import db
from matcher.decisions import (AlreadyDecided, ConsentWithdrawn, decide, history, request_introduction,
                               withdraw_consent)
from matcher.ingest.importer import import_csv
from matcher.models import Alumnus, Decision, MatchRequest, OutboxMessage, Relationship, Suggestion
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run


def _world(session):
    rel = session.scalar(select(Relationship).where(Relationship.jp_municipality_code == "03205")
                         .order_by(Relationship.id))
    rel.committee_email = "sistercities@hotsprings.example"
    alum = Alumnus(external_id="C-DANA", name="Dana Whitfield", email="dana.whitfield@example.org", consent=True,
                   consent_contact=True)
    session.add(alum)
    session.flush()
    session.add(Suggestion(run_id=ensure_run(session, "default")[0], kind="volunteer", alumnus_id=alum.id,
                           relationship_id=rel.id, score=6.0, levels=pair_levels(session, alum.id, rel.id)))
    session.flush()
    return rel, alum


def test_withdrawing_consent_closes_waiting_requests_and_tells_the_committee(session):
    rel, alum = _world(session)
    waiting = request_introduction(session, rel.id, alum.id, None)
    closed = withdraw_consent(session, alum, "dana.whitfield@example.org")
    assert [r.id for r in closed] == [waiting.id]
    session.refresh(waiting)
    assert (waiting.status, alum.consent) == ("withdrawn", False)
    kept = [(d.status, d.decided_by) for d, r in session.execute(history()) if r.id == waiting.id]
    assert kept == [("withdrawn", "dana.whitfield@example.org")]
    (told,) = session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == waiting.id))
    assert told.recipient == "sistercities@hotsprings.example" and "no longer available" in told.body
    assert "Dana W." in told.body and "Whitfield" not in told.body


def test_approving_a_request_closed_by_withdrawal_is_refused_with_a_clear_message(session):
    rel, alum = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    withdraw_consent(session, alum)
    with pytest.raises(ConsentWithdrawn, match="Dana W. has withdrawn consent"):
        decide(session, req.id, "approved", "coord@example.org")
    assert session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.request_id == req.id)).all() == [
        "sistercities@hotsprings.example"]  # only the "no longer available" note, no approval mail


def test_consent_is_checked_at_the_moment_of_approval(session):
    """Consent gone below the app (another writer) while the request still waits: no approval,
    nothing written, and the coordinator is told why."""
    rel, alum = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    session.execute(update(Alumnus).where(Alumnus.id == alum.id).values(consent=False))
    with pytest.raises(ConsentWithdrawn, match="withdrawn consent"):
        decide(session, req.id, "approved", "coord@example.org", expected_count=0)
    session.refresh(req)
    assert (req.status, req.decision_count) == ("pending", 0)
    assert session.scalars(select(Decision).where(Decision.request_id == req.id)).all() == []
    decide(session, req.id, "rejected", "coord@example.org")  # a rejection needs no consent
    session.refresh(req)
    assert req.status == "rejected"


def test_an_import_that_withdraws_consent_closes_the_requests(session, gazetteer, tmp_path):
    rel, alum = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    path = tmp_path / "alumni.csv"
    path.write_text("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
                    "C-DANA,Dana Whitfield,dana.whitfield@example.org,,0,,0,1,no\n", encoding="utf-8")
    report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    assert report.ok, report.summary()
    session.expire_all()
    assert session.get(MatchRequest, req.id).status == "withdrawn"


def test_a_withdrawal_and_an_approval_at_the_same_moment_settle_on_one_outcome(scratch_db_url):
    """Two threads, two connections: the alum unticks consent as a coordinator approves. One of them
    goes first; the other sees it (no deadlock, never both an approval and a withdrawal)."""
    engine = db.make_engine(scratch_db_url)
    sessions = db.make_sessionmaker(engine)
    for round_ in range(3):
        with db.session_scope(sessions) as s:
            rel = s.scalar(select(Relationship).where(Relationship.jp_municipality_code == "03205")
                           .order_by(Relationship.id))
            alum = Alumnus(external_id=f"C-RACE-{round_}", name="Dana Whitfield", email="d@example.org",
                           consent=True)
            s.add(alum)
            s.flush()
            alum_id, request_id = alum.id, request_introduction(s, rel.id, alum.id, None).id
        start = threading.Barrier(2, timeout=20)
        outcome, errors = {}, []

        def approve():
            with sessions() as s:
                s.get(MatchRequest, request_id)
                start.wait()
                try:
                    decide(s, request_id, "approved", "coord@example.org", expected_count=0)
                    s.commit()
                    outcome["approve"] = "approved"
                except (ConsentWithdrawn, AlreadyDecided) as exc:
                    s.rollback()
                    outcome["approve"] = type(exc).__name__

        def withdraw():
            with sessions() as s:
                alum = s.get(Alumnus, alum_id)
                start.wait()
                outcome["withdraw"] = len(withdraw_consent(s, alum))
                s.commit()

        def run(fn):
            try:
                fn()
            except BaseException as exc:  # a deadlock or any other surprise fails the test below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(fn,)) for fn in (approve, withdraw)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        with sessions() as check:
            statuses = check.scalars(select(Decision.status).where(Decision.request_id == request_id)).all()
            assert statuses in (["approved"], ["withdrawn"]), statuses
            assert (outcome["approve"] == "approved") == (statuses == ["approved"])
            assert outcome["withdraw"] == (1 if statuses == ["withdrawn"] else 0)
            assert check.get(Alumnus, alum_id).consent is False
    engine.dispose()

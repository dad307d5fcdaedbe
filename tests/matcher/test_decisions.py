"""Introduction requests, decisions with compare-and-set, contact reveal and approval mail."""

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from matcher import db
from matcher.decisions import (AlreadyDecided, DecisionError, SMTPTransport, contacts_for, decide,
                               propose_partnership, queue, request_introduction)
from matcher.models import (Alumnus, Chapter, Decision, MatchRequest, MunicipalityAlias, OutboxMessage, Placement,
                            Relationship, Suggestion)
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run


def _world(session, suffix=""):
    """Hot Springs, AR ↔ Hanamaki and one consenting alum placed in Ishidoriya (now Hanamaki)."""
    rel = session.scalar(select(Relationship).where(Relationship.jp_municipality_code == "03205")
                         .order_by(Relationship.id))
    assert rel is not None, "the reference data lists Hanamaki's sister cities"
    rel.committee_email = "sistercities@hotsprings.example"
    alum = Alumnus(external_id=f"D-HANA{suffix}", name="Hana Quillfeather", email="hana.q@example.org",
                   consent=True, consent_contact=True)
    shy = Alumnus(external_id=f"D-SHY{suffix}", name="Sam Shy", email="sam@example.org", consent=True,
                  consent_contact=False)
    nope = Alumnus(external_id=f"D-NOPE{suffix}", name="Noa Nope", email="noa@example.org", consent=False)
    session.add_all([alum, shy, nope])
    session.flush()
    session.add(Placement(alumnus_id=alum.id, place="Ishidoriya", municipality_code="03205", prefecture_code="03",
                          alias_id=session.scalar(select(MunicipalityAlias.id).where(
                              MunicipalityAlias.municipality_code == "03205", MunicipalityAlias.name == "Ishidoriya")),
                          role="ALT", start_year=2003, end_year=2005))
    session.flush()
    session.add(Suggestion(run_id=ensure_run(session, "default")[0], kind="volunteer", alumnus_id=alum.id,
                           relationship_id=rel.id, score=7.6, rank=1, levels=pair_levels(session, alum.id, rel.id)))
    session.flush()
    return rel, alum, shy, nope


def test_request_copies_the_suggestions_reasons_and_is_not_duplicated(session):
    rel, alum, _, _ = _world(session)
    first = request_introduction(session, rel.id, alum.id, None)
    assert first.status == "pending" and first.score == 7.6
    assert first.contributions[0]["sentence"].startswith("placed in Ishidoriya")
    assert request_introduction(session, rel.id, alum.id, None).id == first.id


def test_an_alum_without_consent_cannot_be_requested(session):
    rel, _, _, nope = _world(session)
    with pytest.raises(DecisionError, match="not available"):
        request_introduction(session, rel.id, nope.id, None)


def test_decision_is_appended_and_bumps_the_count(session):
    rel, alum, _, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    held = decide(session, req.id, "on_hold", "coord@example.org", "ask about dates")
    assert (held.sequence, held.status) == (1, "on_hold")
    approved = decide(session, req.id, "approved", "coord2@example.org", "good fit")
    assert approved.sequence == 2
    session.refresh(req)
    assert (req.status, req.decision_count) == ("approved", 2)
    assert [d.decided_by for d in req.decisions] == ["coord@example.org", "coord2@example.org"]
    assert approved.features == {c["factor"]: c["level"] for c in req.contributions}
    assert approved.features["placement"] == "partner"


def test_a_stale_view_loses_and_names_the_winner(session):
    rel, alum, _, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    decide(session, req.id, "on_hold", "first@example.org", expected_count=0)
    with pytest.raises(AlreadyDecided, match="already decided by first@example.org") as caught:
        decide(session, req.id, "rejected", "second@example.org", expected_count=0)
    assert caught.value.decided_by == "first@example.org"
    assert session.scalars(select(Decision.status).where(Decision.request_id == req.id)).all() == ["on_hold"]


def test_a_final_decision_cannot_be_overwritten(session):
    rel, alum, _, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    decide(session, req.id, "rejected", "first@example.org")
    with pytest.raises(AlreadyDecided, match="first@example.org"):
        decide(session, req.id, "approved", "second@example.org")


def test_unknown_status_is_refused(session):
    rel, alum, _, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    with pytest.raises(DecisionError, match="unknown decision"):
        decide(session, req.id, "maybe", "coord@example.org")


def test_the_database_refuses_to_edit_a_decision(session):
    rel, alum, _, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    decide(session, req.id, "approved", "coord@example.org")
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text("UPDATE decisions SET note = 'rewritten' WHERE request_id = :r"), {"r": req.id})


def test_contacts_only_after_approval_and_only_with_consent(session):
    rel, alum, shy, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    assert contacts_for(session, req) is None
    decide(session, req.id, "approved", "coord@example.org")
    session.refresh(req)
    contacts = contacts_for(session, req)
    assert (contacts.alum_name, contacts.alum_email) == ("Hana Quillfeather", "hana.q@example.org")
    assert contacts.committee_email == "sistercities@hotsprings.example"
    shy_req = request_introduction(session, rel.id, shy.id, None)
    decide(session, shy_req.id, "approved", "coord@example.org")
    session.refresh(shy_req)
    assert contacts_for(session, shy_req).alum_email is None


def test_approval_writes_both_sides_mail_to_the_outbox_in_its_transaction(session):
    rel, alum, _, _ = _world(session)
    req = request_introduction(session, rel.id, alum.id, None)
    decide(session, req.id, "on_hold", "coord@example.org")
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == req.id)).all() == []
    decide(session, req.id, "approved", "coord@example.org")
    to = {m.recipient: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == req.id))}
    assert set(to) == {"sistercities@hotsprings.example", "hana.q@example.org"}
    assert "Hana Quillfeather <hana.q@example.org>" in to["sistercities@hotsprings.example"].body
    assert "sistercities@hotsprings.example" in to["hana.q@example.org"].body
    assert {m.status for m in to.values()} == {"pending"}


def test_smtp_transport_speaks_smtp(monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("starttls",))

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, message):
            sent.append(("send", message["To"]))

    monkeypatch.setattr("matcher.mail.smtplib.SMTP", FakeSMTP)
    from email.message import EmailMessage

    message = EmailMessage()
    message["To"] = "a@example.org"
    SMTPTransport("mail.example.org", 587, "user", "pw", starttls=True).send(message)
    assert sent == [("connect", "mail.example.org", 587), ("starttls",), ("login", "user"), ("send", "a@example.org")]


def test_queue_is_oldest_first_and_partnerships_join_it(session):
    rel, alum, _, _ = _world(session)
    chapter = Chapter(slug="d-test-chapter", name="Test chapter")
    session.add(chapter)
    session.flush()
    intro = request_introduction(session, rel.id, alum.id, None)
    proposal = propose_partnership(session, chapter.id, rel.id, None)
    ids = [r.id for r in session.scalars(queue()) if r.id in (intro.id, proposal.id)]
    assert ids == [intro.id, proposal.id]


@pytest.fixture(scope="module")
def committed_request(scratch_db_url):
    engine = db.make_engine(scratch_db_url)
    sessions = db.make_sessionmaker(engine)
    with db.session_scope(sessions) as s:
        rel, alum, _, _ = _world(s, "-C")
        request_id = request_introduction(s, rel.id, alum.id, None).id
    yield engine, request_id
    engine.dispose()


def test_two_coordinators_in_separate_sessions_one_wins(committed_request):
    """Both read the request while it was pending; the second to write is told who won."""
    engine, request_id = committed_request
    sessions = db.make_sessionmaker(engine)
    with sessions() as a, sessions() as b:
        seen_a = a.get(MatchRequest, request_id).decision_count
        seen_b = b.get(MatchRequest, request_id).decision_count
        decide(a, request_id, "approved", "alice@example.org", "good fit", expected_count=seen_a)
        a.commit()
        with pytest.raises(AlreadyDecided, match="already decided by alice@example.org"):
            decide(b, request_id, "rejected", "bob@example.org", "no", expected_count=seen_b)
        b.rollback()
    with sessions() as check:
        rows = check.execute(select(Decision.decided_by, Decision.status)
                             .where(Decision.request_id == request_id)).all()
        assert rows == [("alice@example.org", "approved")]
        assert check.get(MatchRequest, request_id).status == "approved"


def test_two_coordinators_at_the_same_moment_one_wins(scratch_db_url):
    """Two threads, two connections, released together: exactly one decision is written."""
    engine = db.make_engine(scratch_db_url)
    sessions = db.make_sessionmaker(engine)
    with db.session_scope(sessions) as s:
        rel, alum, _, _ = _world(s, "-T")
        request_id = request_introduction(s, rel.id, alum.id, None).id
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def coordinator(login: str, status: str) -> None:
        with sessions() as session:
            seen = session.get(MatchRequest, request_id).decision_count
            start.wait()
            try:
                decide(session, request_id, status, login, expected_count=seen)
                session.commit()
                outcomes[login] = "won"
            except AlreadyDecided as exc:
                session.rollback()
                outcomes[login] = f"lost to {exc.decided_by}"

    threads = [threading.Thread(target=coordinator, args=(login, status))
               for login, status in (("alice@example.org", "approved"), ("bob@example.org", "rejected"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values())[0].startswith("lost to ") and list(outcomes.values()).count("won") == 1
    winner = next(login for login, outcome in outcomes.items() if outcome == "won")
    assert f"lost to {winner}" in outcomes.values()
    with sessions() as check:
        assert check.scalars(select(Decision.decided_by).where(Decision.request_id == request_id)).all() == [winner]
    engine.dispose()

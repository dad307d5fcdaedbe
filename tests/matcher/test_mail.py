"""Finding 9: mail goes through an outbox written with the decision and is delivered later by
a real SMTP conversation (aiosmtpd on loopback), with a timeout and retries; a hanging
server costs an attempt, never a request; a partnership approval mails the chapter lead and
the committee the right text."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher import db
from matcher.cli import cli
from matcher.decisions import decide, propose_partnership, request_introduction
from matcher.mail import SMTPTransport, enqueue, send_outbox
from matcher.models import Alumnus, Chapter, OutboxMessage, Relationship, Suggestion, User
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run

SENDER = "jetmatch <no-reply@jetmatch.test>"


def _hot_springs(session) -> Relationship:
    rel = session.scalar(select(Relationship).where(Relationship.jp_municipality_code == "03205")
                         .order_by(Relationship.id))
    rel.committee_email, rel.committee_name = "sistercities@hotsprings.example", "Hot Springs Sister City Committee"
    return rel


def _sender_session(session) -> Session:
    """A session inside the test's transaction: send_outbox commits per message."""
    return Session(bind=session.connection(), join_transaction_mode="create_savepoint")


def test_outbox_is_delivered_over_smtp_and_marked_sent(session, smtp_server):
    server = smtp_server()
    message = enqueue(session, "sistercities@hotsprings.example", "jetmatch: hello", "Volunteer: Dana Whitfield\n")
    session.flush()
    with _sender_session(session) as sender:
        counts = send_outbox(sender, SMTPTransport("127.0.0.1", server.port, timeout=5), sender=SENDER)
    assert (counts["sent"], counts["failed"]) == (1, 0)
    (envelope,) = server.messages
    assert envelope.rcpt_tos == ["sistercities@hotsprings.example"] and b"Volunteer: Dana Whitfield" in envelope.content
    session.refresh(message)
    assert (message.status, message.attempts, message.sent_at is not None) == ("sent", 1, True)


def test_a_hanging_server_costs_an_attempt_then_the_message_fails_after_the_last(session, smtp_server):
    hanging = smtp_server(hang=True)
    message = enqueue(session, "sistercities@hotsprings.example", "jetmatch: hello", "body")
    session.flush()
    transport = SMTPTransport("127.0.0.1", hanging.port, timeout=0.5)
    now = dt.datetime.now(dt.timezone.utc)
    with _sender_session(session) as sender:
        first = send_outbox(sender, transport, sender=SENDER, max_attempts=2, now=now)
        session.refresh(message)
        assert first["retried"] == 1 and message.status == "pending" and message.attempts == 1
        assert "timed out" in message.last_error
        # Not due again until the retry delay has passed.
        assert send_outbox(sender, transport, sender=SENDER, max_attempts=2, now=now)["retried"] == 0
        later = now + dt.timedelta(hours=1)
        last = send_outbox(sender, transport, sender=SENDER, max_attempts=2, now=later)
    session.refresh(message)
    assert last["failed"] == 1 and (message.status, message.attempts) == ("failed", 2)
    assert hanging.connections == 2 and hanging.messages == []


def test_partnership_approval_mails_the_committee_and_the_chapter_lead_the_right_text(session):
    rel = _hot_springs(session)
    chapter = Chapter(slug="m-heartland", name="JETAA Heartland (test)", states="AR")
    session.add(chapter)
    session.flush()
    lead = User(login="lead@heartland.example", name="Lee Lead", role="chapter_lead", chapter_id=chapter.id)
    session.add(lead)
    session.flush()
    request = propose_partnership(session, chapter.id, rel.id, lead)
    decide(session, request.id, "approved", "coord@example.org")
    mail = {m.recipient: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == request.id))}
    assert set(mail) == {"sistercities@hotsprings.example", "lead@heartland.example"}
    to_committee, to_lead = mail["sistercities@hotsprings.example"], mail["lead@heartland.example"]
    assert "JETAA Heartland (test)" in to_committee.body and "Lee Lead <lead@heartland.example>" in to_committee.body
    assert "Committee: Hot Springs Sister City Committee <sistercities@hotsprings.example>" in to_lead.body
    assert not any("None" in m.body or "Volunteer" in m.body for m in mail.values())


def test_mail_send_command_delivers_and_reports_json(scratch_db_url, runner, smtp_server):
    server = smtp_server()
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        rel = _hot_springs(s)
        alum = Alumnus(external_id="M-CLI", name="Dana Whitfield", email="dana@example.org", consent=True,
                       consent_contact=True)
        s.add(alum)
        s.flush()
        s.add(Suggestion(run_id=ensure_run(s, "default")[0], kind="volunteer", alumnus_id=alum.id,
                         relationship_id=rel.id, score=5.0, levels=pair_levels(s, alum.id, rel.id)))
        s.flush()
        decide(s, request_introduction(s, rel.id, alum.id, None).id, "approved", "coord@example.org")
    engine.dispose()
    result = runner.invoke(cli, ["--database-url", scratch_db_url, "mail", "send", "--server", "127.0.0.1",
                                 "--port", str(server.port), "--json"])
    assert result.exit_code == 0, result.output
    assert '"sent": 2' in result.output
    assert sorted(e.rcpt_tos[0] for e in server.messages) == ["dana@example.org", "sistercities@hotsprings.example"]
    status = runner.invoke(cli, ["--database-url", scratch_db_url, "mail", "status", "--json"])
    assert '"pending": 0' in status.output and '"sent": 2' in status.output


def test_an_approval_queues_a_send_job_only_when_a_mail_server_is_set(session, monkeypatch):
    from matcher.models import Job

    rel = _hot_springs(session)
    chapter = Chapter(slug="m-ozark", name="JETAA Ozark (test)", states="AR")
    session.add(chapter)
    session.flush()
    lead = User(login="lead@ozark.example", name="Oz Lead", role="chapter_lead", chapter_id=chapter.id)
    session.add(lead)
    session.flush()
    sends = select(Job).where(Job.kind == "send_outbox")
    monkeypatch.delenv("JETMATCH_MAIL_SERVER", raising=False)
    decide(session, propose_partnership(session, chapter.id, rel.id, lead).id, "approved", "coord@example.org")
    assert session.scalars(sends).all() == []  # the mail waits in the outbox for `jetmatch mail send`
    other = session.scalar(select(Relationship).where(Relationship.id != rel.id).order_by(Relationship.id))
    other.committee_email = "committee@other.example"
    monkeypatch.setenv("JETMATCH_MAIL_SERVER", "127.0.0.1")
    decide(session, propose_partnership(session, chapter.id, other.id, lead).id, "approved", "coord@example.org")
    assert [j.status for j in session.scalars(sends)] == ["queued"]

"""Background jobs against a real worker thread on the real queue storage (Huey's SQLite file
beside the database, or its PostgreSQL tables): imports queue re-scores that run, failures
are recorded and can be retried, interrupted jobs are not left running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from matcher import db, jobs
from matcher.ingest.importer import import_csv
from matcher.models import Job, ScoringModel
from matcher.scoring import score_all, suggest_relationships
from matcher.synth import add_demo_alumni

ALUM = ("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
        "{id},Zora Plimpton,zora.{id}@example.org,\"Hot Springs, AR\",N2,education,5,2,yes\n")
# Ishidoriya merged into Hanamaki (2006), Hot Springs' partner.
PLACEMENT = ("alum_external_id,place,role,start_year,end_year,employer\n"
             "{id},\"Ishidoriya, Iwate\",ALT,2003,2005,Ishidoriya Town Board of Education\n")


@pytest.fixture(scope="module")
def sessions(scratch_db_url):
    engine = db.make_engine(scratch_db_url)
    factory = db.make_sessionmaker(engine)
    with db.session_scope(factory) as session:  # enough alumni that one re-scored alone beats a full pass
        add_demo_alumni(session, 300, seed=13)
    with db.session_scope(factory) as session:  # the stored lists the incremental job updates
        score_all(session)
    yield factory
    jobs.close_queues()
    engine.dispose()


@pytest.fixture(scope="module")
def worker(scratch_db_url, sessions):
    with jobs.start_worker(scratch_db_url) as threads:
        yield threads


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(sessions, gazetteer, kind: str, path: Path) -> list[int]:
    with db.session_scope(sessions) as session:
        report = import_csv(session, kind, path, gazetteer=gazetteer)
        assert report.ok, report.summary()
        return [j.id for j in jobs.after_import(session, report, requested_by="test")]


def wait_for(sessions, job_id: int, seconds: float = 90) -> Job:
    """The job once it has finished (a bounded wait: a worker that never runs it fails the test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with sessions() as session:
            job = session.get(Job, job_id)
            if job.status in ("done", "failed"):
                return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {seconds} s")


def test_an_import_of_an_alum_and_a_placement_is_rescored_by_the_worker(sessions, worker, gazetteer, tmp_path):
    first = _import(sessions, gazetteer, "alumni", _csv(tmp_path, "alumni.csv", ALUM.format(id="JOB-1")))
    second = _import(sessions, gazetteer, "placements", _csv(tmp_path, "placements.csv", PLACEMENT.format(id="JOB-1")))
    assert len(first) == len(second) == 1
    for job_id in first + second:
        job = wait_for(sessions, job_id)
        if "merged_into" in job.result:  # queued behind the other one, and done by it
            job = wait_for(sessions, job.result["merged_into"])
        assert (job.status, job.error, job.result["mode"]) == ("done", None, "incremental")
    with sessions() as session:
        job = session.get(Job, second[0])
        assert job.title == "re-score 1 alumnus after importing placements (placements.csv)"
        assert job.started_at >= job.created_at and job.finished_at >= job.started_at
        best = suggest_relationships(session, "JOB-1", top=1)[0]
    assert (best["us_place"], best["jp_place"]) == ("Hot Springs, AR", "Hanamaki, Iwate")
    assert any("Ishidoriya" in r["sentence"] for r in best["reasons"])


def test_rescores_queued_behind_a_starting_one_are_merged_into_it(sessions, scratch_db_url):
    with db.session_scope(sessions) as session:  # rows only, not sent: the module's worker leaves them alone
        one, two = (Job(kind="rescore", title=t, params={"alumni": a}, status="queued", attempts=0)
                    for t, a in (("first", [1, 2]), ("second", [2, 3])))
        session.add_all([one, two])
    assert jobs.run_job(scratch_db_url, one.id) == "done"
    with sessions() as session:
        one, two = session.get(Job, one.id), session.get(Job, two.id)
        assert (one.params, one.result["mode"], one.result["alumni"]) == ({"alumni": [1, 2, 3]}, "incremental", 3)
        assert (two.status, two.result) == ("done", {"merged_into": one.id})
    assert jobs.run_job(scratch_db_url, two.id) is None  # already done: not run again


def test_a_failing_job_is_recorded_with_its_error_and_succeeds_when_retried(sessions, worker):
    with db.session_scope(sessions) as session:  # a broken active model: scoring refuses it
        session.add(ScoringModel(version="broken-1", settings={"weights": {"sparkle": {"high": 1.0}}}, metrics={},
                                 active=True))
        job_id = jobs.rescore_everything(session, "a test").id
    job = wait_for(sessions, job_id)
    assert job.status == "failed"
    assert job.error == "ValueError: unknown factor 'sparkle'"
    assert job.finished_at is not None
    with db.session_scope(sessions) as session:
        session.execute(delete(ScoringModel).where(ScoringModel.version == "broken-1"))
        assert jobs.retry_job(session, job_id, requested_by="coordinator@example.org").status == "queued"
    job = wait_for(sessions, job_id)
    assert (job.status, job.error, job.attempts, job.result["mode"]) == ("done", None, 2, "full")
    with db.session_scope(sessions) as session, pytest.raises(jobs.JobError, match="only a failed job"):
        jobs.retry_job(session, job_id)


def test_a_relationship_import_queues_a_full_rescore_and_a_retraining(sessions, gazetteer, tmp_path):
    text = ("us_place,jp_place,signed,status,themes,committee_name,committee_email,volunteers_wanted\n"
            "\"Rice Lake, WI\",\"Takeo, Saga\",2012,active,education,Rice Lake–Takeo committee,rl@example.org,3\n")
    with sessions() as session:
        report = import_csv(session, "relationships", _csv(tmp_path, "rel.csv", text), gazetteer=gazetteer)
        queued = jobs.after_import(session, report)
        assert [(j.kind, j.params) for j in queued] == [("rescore", {"full": True}), ("retrain_partnerships", {})]
        # a second change before the first re-score ran adds no twin
        assert jobs.after_relationship_change(session, "an edit") == queued
        session.rollback()


def test_jobs_reach_the_queue_only_when_their_transaction_commits(sessions, scratch_db_url):
    huey = jobs.queue_for(scratch_db_url)
    with sessions() as session:
        before = huey.pending_count()
        jobs.add_job(session, "retrain_partnerships")
        assert huey.pending_count() == before  # not yet: a worker could not read the row
        session.rollback()
        assert huey.pending_count() == before
        assert session.scalar(select(Job).where(Job.kind == "retrain_partnerships")) is None


def test_a_job_left_running_by_a_dead_worker_is_marked_failed(sessions, scratch_db_url):
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with db.session_scope(sessions) as session:
        job = Job(kind="rescore", title="cut short", params={}, status="running", attempts=1,
                  worker=f"{socket.gethostname()}:{gone.stdout.strip()}")
        session.add(job)
        session.flush()
        job_id = job.id
    assert job_id in jobs.recover_interrupted(scratch_db_url)
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job.status == "failed" and job.error.startswith("interrupted: the worker")


def test_unknown_kinds_are_refused(sessions):
    with sessions() as session, pytest.raises(jobs.JobError, match="unknown job kind 'reindex'"):
        jobs.add_job(session, "reindex")


def test_the_outbox_job_says_what_is_missing_and_hands_the_outbox_an_smtp_transport(sessions, scratch_db_url,
                                                                                   monkeypatch):
    from matcher.decisions import SMTPTransport
    from matcher.jobs import kinds

    def run_one() -> Job:
        with db.session_scope(sessions) as session:  # a row only: the module's worker leaves it alone
            job = Job(kind="send_outbox", title="send the mail outbox", params={}, status="queued", attempts=0)
            session.add(job)
        jobs.run_job(scratch_db_url, job.id)
        with sessions() as session:
            return session.get(Job, job.id)

    handed = []
    monkeypatch.setattr(kinds, "SEND_OUTBOX", lambda session, transport, sender: handed.append(transport) or 2)
    monkeypatch.delenv("JETMATCH_MAIL_SERVER", raising=False)
    assert run_one().error.startswith("RuntimeError: no mail server is configured")
    monkeypatch.setenv("JETMATCH_MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("JETMATCH_MAIL_PORT", "2525")
    job = run_one()
    assert (job.status, job.result) == ("done", {"sent": 2})
    assert handed == [SMTPTransport("127.0.0.1", 2525, None, None, False)]

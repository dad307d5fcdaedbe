"""Finding 4: decisions are append-only in the database itself — REPLACE, UPSERT and TRUNCATE
refused besides UPDATE and DELETE — a request's status moves only with a decision row, and the
hash chain names the first link broken below the app."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from matcher import db
from matcher.audit import verify
from matcher.cli import cli
from matcher.decisions import decide
from matcher.models import Decision, MatchRequest

# the back end of this run (tests/conftest.py decides it the same way; its name is shadowed here)
_BACKEND = "postgresql" if os.environ.get("JETMATCH_DATABASE_URL", "").startswith("postgres") else "sqlite"


def _decided(session, n: int = 3) -> list[Decision]:
    out = []
    for i in range(n):
        request = MatchRequest(kind="introduction", note=f"audit {i}")
        session.add(request)
        session.flush()
        out.append(decide(session, request.id, ("approved", "rejected", "on_hold")[i % 3], "coord@example.org",
                          f"note {i}"))
    return out


def _refused(session, sql: str, params: dict | None = None, match: str = "append-only") -> None:
    with pytest.raises(DBAPIError, match=match):
        with session.begin_nested():
            session.execute(text(sql), params or {})


@pytest.mark.skipif(_BACKEND != "sqlite", reason="INSERT OR REPLACE is SQLite's")
def test_sqlite_refuses_insert_or_replace_and_upsert_over_a_decision(session):
    (first, *_) = _decided(session)
    row = {"id": first.id, "r": first.request_id, "s": first.sequence}
    _refused(session, "INSERT OR REPLACE INTO decisions (id, request_id, sequence, status, decided_by, decided_at, "
                      "note, features) VALUES (:id, :r, :s, 'rejected', 'mallory', CURRENT_TIMESTAMP, '', '{}')", row)
    _refused(session, "REPLACE INTO decisions (request_id, sequence, status, decided_by, decided_at, note, features) "
                      "VALUES (:r, :s, 'rejected', 'mallory', CURRENT_TIMESTAMP, '', '{}')", row)
    _refused(session, "INSERT INTO decisions (id, request_id, sequence, status, decided_by, decided_at, note, features) "
                      "VALUES (:id, :r, :s, 'rejected', 'mallory', CURRENT_TIMESTAMP, '', '{}') "
                      "ON CONFLICT (id) DO UPDATE SET status = 'rejected'", row)
    assert session.scalar(select(Decision.decided_by).where(Decision.id == first.id)) == "coord@example.org"


@pytest.mark.skipif(_BACKEND != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_postgresql_refuses_truncate_and_upsert_of_decisions(session):
    (first, *_) = _decided(session)
    _refused(session, "TRUNCATE decisions CASCADE")
    _refused(session, "TRUNCATE match_requests CASCADE")
    _refused(session, "INSERT INTO decisions (id, request_id, sequence, status, decided_by, decided_at, note, features) "
                      "VALUES (:id, :r, :s, 'rejected', 'mallory', now(), '', '{}') "
                      "ON CONFLICT (id) DO UPDATE SET status = 'rejected'",
             {"id": first.id, "r": first.request_id, "s": first.sequence})
    assert session.scalar(select(Decision.decided_by).where(Decision.id == first.id)) == "coord@example.org"


def test_a_request_status_cannot_change_without_a_decision_row(session):
    request = MatchRequest(kind="introduction")
    session.add(request)
    session.flush()
    _refused(session, "UPDATE match_requests SET status = 'approved' WHERE id = :id", {"id": request.id},
             match="only with a decision")
    _refused(session, "INSERT INTO match_requests (kind, note, contributions, requested_at, status, decision_count) "
                      "VALUES ('introduction', '', '[]', CURRENT_TIMESTAMP, 'approved', 0)", match="only with a decision")
    decide(session, request.id, "approved", "coord@example.org")  # the way that writes the row
    session.refresh(request)
    assert request.status == "approved"


def test_every_decision_is_chained_to_the_one_before(session):
    decisions = _decided(session, 3)
    assert decisions[1].prev_hash == decisions[0].chain_hash and decisions[2].prev_hash == decisions[1].chain_hash
    assert verify(session)["ok"]


def _below_the_app(session) -> None:
    """Lift the append-only guard inside this test's transaction, as someone with the database would."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_append_only"))
    else:
        session.execute(text("DROP TRIGGER decisions_no_update"))
        session.execute(text("DROP TRIGGER decisions_no_delete"))


def test_verify_names_a_decision_rewritten_below_the_app(session):
    first, second, third = _decided(session, 3)
    _below_the_app(session)
    session.execute(text("UPDATE decisions SET note = 'rewritten' WHERE id = :id"), {"id": second.id})
    result = verify(session)
    assert not result["ok"] and result["first_broken"]["id"] == second.id
    assert "changed after it was written" in result["first_broken"]["problem"]


def test_verify_names_the_decision_after_one_removed_below_the_app(session):
    first, second, third = _decided(session, 3)
    _below_the_app(session)
    session.execute(text("DELETE FROM decisions WHERE id = :id"), {"id": second.id})
    result = verify(session)
    assert not result["ok"] and result["first_broken"]["id"] == third.id
    assert f"does not follow decision #{first.id}" in result["first_broken"]["problem"]


def test_audit_verify_command_says_whole_or_names_the_broken_link(empty_db_url, runner):
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine)
    sessions = db.make_sessionmaker(engine)
    with db.session_scope(sessions) as s:
        ids = [d.id for d in _decided(s, 2)]
    whole = runner.invoke(cli, ["--database-url", empty_db_url, "audit", "verify"])
    assert whole.exit_code == 0 and "whole: 2 decisions" in whole.output
    with db.session_scope(sessions) as s:
        _below_the_app(s)
        s.execute(text("UPDATE decisions SET status = 'approved', note = 'backdated' WHERE id = :id"), {"id": ids[1]})
    broken = runner.invoke(cli, ["--database-url", empty_db_url, "audit", "verify", "--json"])
    assert broken.exit_code == 1
    assert json.loads(broken.output)["first_broken"]["id"] == ids[1]
    engine.dispose()

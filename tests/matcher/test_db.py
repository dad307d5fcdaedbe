"""The schema: migrations up and down, and constraints enforced by the database itself."""

import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from matcher import db
from matcher.models import Alumnus, Decision, MatchRequest, Placement


def test_fresh_database_migrates_up_and_down(empty_db_url):
    engine = db.make_engine(empty_db_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert {"alumni", "placements", "relationships", "decisions"} <= set(inspect(engine).get_table_names())
    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def _alum(external_id="A-1", **kw):
    fields = dict(external_id=external_id, name="Hana Sato", email="hana@example.org", japanese_level=3,
                  availability_hours=4, max_matches=2, consent=True)
    fields.update(kw)
    return Alumnus(**fields)


def test_duplicate_external_id_is_refused_by_the_schema(session):
    session.add(_alum("DUP-1"))
    session.flush()
    session.add(_alum("DUP-1"))
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize(
    "start, end, role",
    [(1980, 1981, "ALT"), (2004, 2003, "ALT"), (2004, 2005, "JTE")],
    ids=["before-jet-began", "end-before-start", "unknown-role"],
)
def test_placement_checks_are_in_the_schema(session, start, end, role):
    alum = _alum("CHK-1")
    session.add(alum)
    session.flush()
    # Yamauchi merged into Takeo (41206, Saga = 41) on 2006-03-01.
    session.add(Placement(alumnus_id=alum.id, place="Yamauchi, Saga", municipality_code="41206",
                          prefecture_code="41", role=role, start_year=start, end_year=end))
    with pytest.raises(IntegrityError):
        session.flush()


def test_placement_must_name_a_real_municipality(session):
    alum = _alum("FK-1")
    session.add(alum)
    session.flush()
    session.add(Placement(alumnus_id=alum.id, place="Nowhere", municipality_code="99999",
                          prefecture_code="41", role="ALT", start_year=2004, end_year=2005))
    with pytest.raises(IntegrityError):
        session.flush()


def test_decisions_cannot_be_updated_or_deleted(session):
    request = MatchRequest(kind="introduction")
    session.add(request)
    session.flush()
    session.add(Decision(request_id=request.id, sequence=1, status="approved", decided_by="coord@example.org",
                         decided_at=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), note="good fit"))
    session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text("UPDATE decisions SET status = 'rejected'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text("DELETE FROM decisions"))


def test_second_decision_with_the_same_sequence_collides(session):
    request = MatchRequest(kind="introduction")
    session.add(request)
    session.flush()
    session.add(Decision(request_id=request.id, sequence=1, status="approved", decided_by="a@example.org"))
    session.flush()
    session.add(Decision(request_id=request.id, sequence=1, status="rejected", decided_by="b@example.org"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_session_fixture_undoes_commits(engine, session):
    # The rolled-back `session` fixture must undo even a commit inside the test.
    session.add(_alum("ROLLBACK-1"))
    session.commit()
    from sqlalchemy import select

    with engine.connect() as other:
        # Another connection cannot see an uncommitted outer transaction.
        assert other.scalar(select(Alumnus.id).where(Alumnus.external_id == "ROLLBACK-1")) is None


def test_the_quick_schema_check_finds_alembics_head():
    # every command checks the schema by reading the migration files, not by importing Alembic
    assert db._scan_head() == db.head_revision()

"""Finding 3: one open request per (relationship, alum) and per (chapter, relationship), held by
a unique index on both databases; two concurrent clicks get the same request back."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from matcher import db
from matcher.decisions import decide, propose_partnership, request_introduction
from matcher.models import Alumnus, Chapter, MatchRequest, Relationship


def _pair(session, suffix: str):
    rel = session.scalar(select(Relationship).where(Relationship.jp_municipality_code == "03205")
                         .order_by(Relationship.id))
    alum = Alumnus(external_id=f"O-{suffix}", name="Dana Whitfield", email="dana@example.org", consent=True)
    chapter = Chapter(slug=f"o-{suffix.lower()}", name=f"Chapter {suffix}")
    session.add_all([alum, chapter])
    session.flush()
    return rel.id, alum.id, chapter.id


def test_the_database_refuses_a_second_open_request_for_the_same_pair(session):
    rel_id, alum_id, _ = _pair(session, "IDX")
    session.add(MatchRequest(kind="introduction", relationship_id=rel_id, alumnus_id=alum_id))
    session.flush()
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.add(MatchRequest(kind="introduction", relationship_id=rel_id, alumnus_id=alum_id))
            session.flush()


def test_a_closed_request_does_not_block_a_new_one(session):
    rel_id, alum_id, _ = _pair(session, "CLOSED")
    first = request_introduction(session, rel_id, alum_id, None)
    decide(session, first.id, "rejected", "coord@example.org")
    second = request_introduction(session, rel_id, alum_id, None)
    assert second.id != first.id and second.status == "pending"


def _click_together(url: str, click) -> list[int]:
    """Run ``click(session)`` in two threads, each with its own session, and hold both at their
    INSERT until both have looked for an existing request: the race of a double click, every time."""
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    at_insert = threading.Barrier(2, timeout=20)
    waited = threading.local()

    @event.listens_for(engine, "before_cursor_execute")
    def _hold(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO MATCH_REQUESTS") and not getattr(waited, "done", 0):
            waited.done = 1
            at_insert.wait()

    ids: list[int] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with sessions() as session:
                ids.append(click(session).id)
                session.commit()
        except BaseException as exc:  # reported below, with the other thread's outcome
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    engine.dispose()
    assert not errors, errors
    return ids


def test_two_concurrent_introduction_clicks_make_one_request(scratch_db_url):
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        rel_id, alum_id, _ = _pair(s, "RACE")
    ids = _click_together(scratch_db_url, lambda s: request_introduction(s, rel_id, alum_id, None))
    assert len(ids) == 2 and ids[0] == ids[1]
    with db.make_sessionmaker(engine)() as check:
        assert check.scalar(select(func.count()).select_from(MatchRequest).where(
            MatchRequest.relationship_id == rel_id, MatchRequest.alumnus_id == alum_id)) == 1
    engine.dispose()


def test_two_concurrent_partnership_proposals_make_one_request(scratch_db_url):
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        rel_id, _, chapter_id = _pair(s, "PRACE")
    ids = _click_together(scratch_db_url, lambda s: propose_partnership(s, chapter_id, rel_id, None))
    assert len(ids) == 2 and ids[0] == ids[1]
    with db.make_sessionmaker(engine)() as check:
        assert check.scalar(select(func.count()).select_from(MatchRequest).where(
            MatchRequest.relationship_id == rel_id, MatchRequest.chapter_id == chapter_id)) == 1
    engine.dispose()

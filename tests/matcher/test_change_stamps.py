"""The change stamp: raised by every committed change, and on PostgreSQL without making writers wait."""

import os

import pytest
from sqlalchemy import text

from matcher import db

_BACKEND = "postgresql" if os.environ.get("JETMATCH_DATABASE_URL", "").startswith("postgres") else "sqlite"

_STAMP = "SELECT sum(version) FROM change_stamps"
_TOUCH = "UPDATE municipalities SET name = name WHERE code = :id"


@pytest.mark.skipif(_BACKEND != "postgresql", reason="SQLite has one writer at a time")
def test_two_writers_do_not_wait_on_the_stamp_and_each_commit_raises_it(scratch_db_url):
    """Hanamaki and Takeo corrected in two open transactions at once: neither waits for the other's commit."""
    engine = db.make_engine(scratch_db_url)
    try:
        with engine.connect() as reader:
            ids = [reader.execute(text("SELECT code FROM municipalities WHERE name = :n"), {"n": n}).scalar_one()
                   for n in ("Hanamaki", "Takeo")]
            before = reader.execute(text(_STAMP)).scalar_one()
            reader.rollback()
            with engine.connect() as first, engine.connect() as second:
                first.execute(text(_TOUCH), {"id": ids[0]})
                # with one shared stamp row this update waited for ``first`` and hit the timeout
                second.execute(text("SET LOCAL lock_timeout = '2s'"))
                second.execute(text(_TOUCH), {"id": ids[1]})
                assert reader.execute(text(_STAMP)).scalar_one() == before  # nothing committed yet
                reader.rollback()
                first.commit()
                after_first = reader.execute(text(_STAMP)).scalar_one()
                reader.rollback()
                second.commit()
                after_second = reader.execute(text(_STAMP)).scalar_one()
            assert before < after_first < after_second
    finally:
        engine.dispose()


def test_a_downgrade_keeps_the_stamp_from_going_down(empty_db_url):
    """Back to one shared row (0009): the stamp a reader takes is not lower than before."""
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO chapters (slug, name, states, hub, source, coverage_basis) VALUES ('t1', 'Test', 'AR', '', '', '')"))
        with engine.begin() as conn:
            conn.execute(text("UPDATE chapters SET name = 'Test 2' WHERE slug = 't1'"))
        with engine.connect() as conn:
            stamp = conn.execute(text(_STAMP)).scalar_one()
        db.downgrade(engine, "0009_change_stamps")
        with engine.begin() as conn:
            assert conn.execute(text(_STAMP)).scalar_one() == stamp
            assert conn.execute(text("SELECT count(*) FROM change_stamps")).scalar_one() == 1
            conn.execute(text("UPDATE chapters SET name = 'Test 3' WHERE slug = 't1'"))
        with engine.connect() as conn:
            assert conn.execute(text(_STAMP)).scalar_one() > stamp
    finally:
        engine.dispose()

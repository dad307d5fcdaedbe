"""Stored suggestions: small rows whose reasons are written when read, replaced atomically by a run."""

import json
import threading

import numpy as np
import pytest
from sqlalchemy import func, select

from matcher import db
from matcher.models import Relationship, ScoringModel, Suggestion
from matcher.scoring.features import pair_codes
from matcher.scoring.pool import active_model, invalidate, load_pool
from matcher.scoring.readback import volunteer_reasons
from matcher.scoring.reasons import writer_for
from matcher.scoring.scorer import scorer_for
from matcher.scoring.store import unpack_levels
from matcher.scoring.suggestions import score_all, suggest_volunteers
from matcher.synth import add_demo_alumni


def test_reasons_written_from_stored_levels_equal_those_written_at_scoring_time(session):
    add_demo_alumni(session, 300, seed=7)
    invalidate()
    score_all(session)
    # what scoring saw: the pool, its pair codes, and the reasons its writer gives each pair
    version, settings = active_model(session)
    scorer = scorer_for({**settings, "version": version})
    pool = load_pool(session)
    codes = pair_codes(pool.geo, pool.alumni, pool.rels, scorer.settings, pool.side.table)
    writer = writer_for(scorer, pool.side, pool.alumni.ids, pool.info["alumni"], pool.alumni.codes)

    stored = session.execute(select(Suggestion.alumnus_id, Suggestion.relationship_id, Suggestion.levels,
                                    Suggestion.score).where(Suggestion.kind == "volunteer")
                             .order_by(Suggestion.id)).all()
    assert len(stored) > 300
    a = np.searchsorted(pool.alumni.ids, [s.alumnus_id for s in stored])
    r = np.searchsorted(pool.rels.ids, [s.relationship_id for s in stored])
    pair, combo = unpack_levels([s.levels for s in stored])
    assert (pair == codes[a, r]).all() and (combo == scorer.combos(pool.alumni.codes)[a]).all()
    at_scoring = [json.loads(t) for t in writer.pairs(a, r, codes[a, r], pool.alumni.muni, pool.alumni.pref)]

    read_back = volunteer_reasons(session, [(s.alumnus_id, s.relationship_id, s.levels) for s in stored])
    assert read_back == at_scoring
    for s, reasons in zip(stored, read_back):
        assert sum(c["weight"] for c in reasons) == pytest.approx(s.score, abs=1e-3)
    assert any("merged into" in c["sentence"] for reasons in read_back for c in reasons)


@pytest.fixture(scope="module")
def scored_url(scratch_db_url):
    """A committed database with synthetic alumni, scored with the default model."""
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as session:
        add_demo_alumni(session, 2000, seed=11)
    with db.session_scope(db.make_sessionmaker(engine)) as session:
        score_all(session)
    engine.dispose()
    return scratch_db_url


def _lists(session, rel_ids):
    """What a reader sees, one statement each: how many volunteer rows, and each relationship's list."""
    return (session.scalar(select(func.count()).where(Suggestion.kind == "volunteer")),
            *(tuple((i["alumnus_id"], i["score"]) for i in suggest_volunteers(session, rid, top=30))
              for rid in rel_ids))


def test_a_reader_during_a_score_run_sees_the_old_lists_or_the_new_never_a_mix(scored_url):
    engine = db.make_engine(scored_url)
    sessions = db.make_sessionmaker(engine)
    with sessions() as session:
        rel_ids = session.scalars(select(Suggestion.relationship_id).where(Suggestion.kind == "volunteer")
                                  .group_by(Suggestion.relationship_id)
                                  .order_by(func.count().desc()).limit(3)).all()
        old = _lists(session, rel_ids)
        # a model that cares about distance only: the lists change under it
        settings = {"weights": {"placement": {"partner": 0.5, "same_prefecture": 0.3}, "distance": {"within_25km": 6.0}}}
        session.add(ScoringModel(version="distance-only", settings=settings, active=False))
        session.execute(ScoringModel.__table__.update().values(active=ScoringModel.version == "distance-only"))
        session.commit()

    seen, done, failures = [], threading.Event(), []

    def read():
        try:
            while not done.is_set():
                with sessions() as reader:
                    seen.append(_lists(reader, rel_ids))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        with sessions() as session:
            score_all(session)
            session.commit()
    finally:
        done.set()
        thread.join()
    with sessions() as session:
        new = _lists(session, rel_ids)
        session.execute(ScoringModel.__table__.delete().where(ScoringModel.version == "distance-only"))
        session.commit()
    engine.dispose()

    assert not failures
    assert all(before != after for before, after in zip(old, new)) and old[0] > 0 and new[0] > 0
    assert seen
    for view in seen:  # each list (each statement) is all old or all new
        assert all(part in (before, after) for part, before, after in zip(view, old, new))


def _table_shape(session):
    """The suggestions table's primary key, indexes (name, columns) and checks, as the database has them."""
    from sqlalchemy import inspect

    seen = inspect(session.connection())
    return (seen.get_pk_constraint("suggestions")["name"],
            sorted((i["name"], tuple(i["column_names"])) for i in seen.get_indexes("suggestions")),
            sorted(c["name"] for c in seen.get_check_constraints("suggestions")))


def test_a_score_run_leaves_the_suggestions_table_as_the_migrations_made_it(session):
    add_demo_alumni(session, 200, seed=3)
    invalidate()
    before = _table_shape(session)
    assert ("ix_suggestions_relationship_score", ("relationship_id", "score")) in before[1]
    score_all(session)
    score_all(session)  # the second run replaces the table the first one wrote (on PostgreSQL)
    assert _table_shape(session) == before
    # the id default (PostgreSQL's sequence) came along: a row added by hand gets a fresh id
    one = session.execute(select(Suggestion.alumnus_id, Suggestion.relationship_id, Suggestion.run_id)
                          .where(Suggestion.kind == "volunteer").limit(1)).one()
    session.add(Suggestion(kind="volunteer", alumnus_id=one.alumnus_id, relationship_id=one.relationship_id,
                           run_id=one.run_id, score=0.5, rank=0, levels=0))
    session.flush()
    ids = session.scalars(select(Suggestion.id)).all()
    assert len(ids) == len(set(ids)) > 200


def test_a_score_run_that_fails_leaves_the_old_suggestions_and_their_indexes(scored_url, monkeypatch):
    from matcher.scoring import suggestions

    engine = db.make_engine(scored_url)  # sessions as the CLI opens them: the driver begins transactions itself
    sessions = db.make_sessionmaker(engine)
    with sessions() as session:
        before = _table_shape(session), session.scalars(select(Suggestion.id).order_by(Suggestion.id)).all()

    def fail(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(suggestions, "write_partners", fail)  # after the volunteer rows, before the indexes
    with sessions() as session, pytest.raises(RuntimeError):
        score_all(session)
    with sessions() as session:
        after = _table_shape(session), session.scalars(select(Suggestion.id).order_by(Suggestion.id)).all()
    engine.dispose()
    assert after == before and before[1]


@pytest.mark.parametrize("per", [1, 3, 500])
def test_written_volunteer_rows_read_back_as_given_whatever_the_rows_per_statement(session, monkeypatch, per):
    from matcher.scoring import store

    monkeypatch.setattr(store, "_ROWS_PER_INSERT", per)
    run_id = store.start_run(session, "default")
    n = 7  # not a multiple of 3: whole multi-row statements and a remainder
    alumni, rels = np.arange(101, 101 + n), np.arange(n)[::-1] + 11
    scores, ranks = np.linspace(-1.23456, 5.0, n), np.arange(n) % 3
    levels = store.pack_levels(np.arange(n) + 2, np.arange(n) * 5)
    store.write_volunteers(session, run_id, alumni, rels, scores, ranks, levels)
    rows = session.execute(select(Suggestion.run_id, Suggestion.kind, Suggestion.alumnus_id,
                                  Suggestion.relationship_id, Suggestion.score, Suggestion.rank, Suggestion.levels)
                           .order_by(Suggestion.alumnus_id)).all()
    assert [tuple(r) for r in rows] == [(run_id, "volunteer", int(a), int(r), round(float(s), 4), int(k), int(lv))
                                        for a, r, s, k, lv in zip(alumni, rels, scores, ranks, levels)]


def test_after_a_score_run_the_lists_are_read_by_their_indexes(scored_url):
    """The run rebuilds the indexes (and on PostgreSQL analyses the new table from a small sample):
    a relationship's list and an alumnus's list are each read through their index."""
    engine = db.make_engine(scored_url)
    with engine.connect() as conn:
        rel, alum = conn.exec_driver_sql("SELECT relationship_id, alumnus_id FROM suggestions "
                                         "WHERE kind = 'volunteer' LIMIT 1").one()
        explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        plans = [" ".join(str(part) for row in conn.exec_driver_sql(
            f"{explain}SELECT * FROM suggestions WHERE kind = 'volunteer' AND {col} = {int(val)} "
            "ORDER BY score DESC LIMIT 10").all() for part in row)
            for col, val in (("relationship_id", rel), ("alumnus_id", alum))]
    engine.dispose()
    assert "ix_suggestions_relationship_score" in plans[0]
    assert "ix_suggestions_alumnus_id" in plans[1]

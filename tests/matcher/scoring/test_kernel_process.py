"""`jetmatch score` scores in a helper process that loads Numba while the command reads the database."""

import io
import json
import os
import pickle
import subprocess
import sys

import pytest
from sqlalchemy import select

from matcher import db
from matcher.models import Suggestion
from matcher.scoring.kernel_process import KernelProcess, in_process
from matcher.scoring.pool import active_model, invalidate, load_pool
from matcher.scoring.scorer import scorer_for
from matcher.scoring.suggestions import score_all
from matcher.synth import add_demo_alumni

# the console script's way (its main sets ONE_SHOT), then whether this process loaded Numba
_PROBE = """
import json, sys
from matcher.cli import _app, cli
_app.ONE_SHOT = True
try:
    cli(sys.argv[1:], prog_name="jetmatch")
except SystemExit as exc:
    if exc.code:
        raise
print(json.dumps({"numba_here": "numba" in sys.modules}))
"""


def _stored(url: str) -> list[tuple]:
    engine = db.make_engine(url)
    try:
        with db.make_sessionmaker(engine)() as session:
            S = Suggestion
            return session.execute(select(S.kind, S.alumnus_id, S.chapter_id, S.relationship_id, S.score, S.rank,
                                          S.levels).order_by(S.kind, S.relationship_id, S.alumnus_id,
                                                             S.chapter_id)).all()
    finally:
        engine.dispose()


def test_the_command_scores_in_a_helper_and_stores_what_scoring_here_stores(scratch_db_url, tmp_path):
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as session:
        add_demo_alumni(session, 1500, seed=5)
    invalidate()
    with db.session_scope(db.make_sessionmaker(engine)) as session:
        score_all(session, kernel=in_process)
    engine.dispose()
    here = _stored(scratch_db_url)
    assert len(here) > 1500

    env = dict(os.environ, JETMATCH_INSTANCE_PATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _PROBE, "--database-url", scratch_db_url, "score", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.split("\n}")[0] + "\n}")
    assert summary["volunteer_suggestions"] + summary["partner_suggestions"] == len(here)
    assert json.loads(done.stdout.splitlines()[-1]) == {"numba_here": False}  # the kernels ran in the helper
    assert _stored(scratch_db_url) == here


def test_no_helper_where_numba_is_loaded_or_threads_run():
    import numba  # noqa: F401 - loaded in this process (the tests compile kernels)

    assert KernelProcess.start() is None


@pytest.fixture
def pool_and_scorer(session):
    add_demo_alumni(session, 400, seed=3)
    invalidate()
    version, settings = active_model(session)
    return load_pool(session), scorer_for({**settings, "version": version})


@pytest.mark.parametrize("reply", [b"", pickle.dumps(("error", "ValueError: boom"))],
                         ids=["helper gone", "helper failed"])
def test_a_failed_helper_leaves_the_scoring_to_the_command(pool_and_scorer, reply):
    pool, scorer = pool_and_scorer
    expected_col, expected_row = in_process(pool.geo, pool.alumni, pool.rels, scorer, 10, 10, {})()
    helper = KernelProcess(0, open(os.devnull, "wb"), io.BytesIO(reply))
    by_col, by_row = helper(pool.geo, pool.alumni, pool.rels, scorer, 10, 10, {})()
    for got, expected in ((by_col, expected_col), (by_row, expected_row)):
        for field in ("rows", "cols", "scores", "ranks", "codes"):
            assert (getattr(got, field) == getattr(expected, field)).all()

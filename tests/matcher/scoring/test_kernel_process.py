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
from matcher.scoring.suggestions import score_all, volunteer_rows
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
def pool_and_settings(session):
    add_demo_alumni(session, 400, seed=3)
    invalidate()
    version, settings = active_model(session)
    return load_pool(session), {**settings, "version": version}


@pytest.mark.parametrize("reply", [b"", pickle.dumps(("error", "ValueError: boom"))],
                         ids=["helper gone", "helper failed"])
def test_a_failed_helper_leaves_the_scoring_to_the_command(pool_and_settings, reply):
    pool, settings = pool_and_settings
    args = (pool.geo, pool.alumni, pool.rels, settings, 10)
    expected, expected_levels, _ = in_process(volunteer_rows, *args)()
    helper = KernelProcess(0, open(os.devnull, "wb"), io.BytesIO(reply))
    got, levels, _ = helper(volunteer_rows, *args)()
    assert (levels == expected_levels).all() and len(levels) > 400
    for field in ("rows", "cols", "scores", "ranks", "codes"):
        assert (getattr(got, field) == getattr(expected, field)).all()


def test_the_helper_runs_what_it_is_sent_and_hands_the_result_back(tmp_path):
    """In a fresh interpreter (one thread, no Numba): a helper is forked, runs a function, ends."""
    script = """
import json, os
from matcher.scoring.kernel_process import KernelProcess
helper = KernelProcess.start()
assert helper is not None
pid = helper.pid
result = helper(divmod, 17, 5)()
assert helper.pid == 0  # reaped
try:
    os.kill(pid, 0)
    gone = False
except ProcessLookupError:
    gone = True
print(json.dumps({"result": list(result), "helper_gone": gone}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"result": [3, 2], "helper_gone": True}

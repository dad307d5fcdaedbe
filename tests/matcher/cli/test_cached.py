"""The CLI's gazetteer cache file: reused while the reference tables are unchanged, rebuilt after."""

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from matcher.cached import cached_gazetteer
from matcher.gazetteer.resolver import Gazetteer
from matcher.models import USPlace


def test_the_gazetteer_comes_from_its_file_until_the_reference_tables_change(session, tmp_path, monkeypatch):
    built = cached_gazetteer(session, tmp_path)
    assert len(list(tmp_path.glob("gazetteer-*.pickle"))) == 1

    def must_not_build(*_args, **_kwargs):
        raise AssertionError("rebuilt although the tables did not change")

    monkeypatch.setattr(Gazetteer, "from_session", classmethod(must_not_build))
    again = cached_gazetteer(session, tmp_path)
    assert again is not built and again.resolve("Ishidoriya, Iwate").name == "Hanamaki"

    session.add(USPlace(id=session.scalar(select(func.max(USPlace.id))) + 1, name="Jetmatchville", state_abbr="VT",
                        kind="city", lat=44.0, lon=-72.7))
    session.flush()
    with pytest.raises(AssertionError, match="rebuilt"):
        cached_gazetteer(session, tmp_path)


_PROBE = """
import json, sys
from matcher.cli import cli
try:
    cli(sys.argv[1:], prog_name="jetmatch")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_file_written_through_sqlalchemy_is_found_without_it(session, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the quick path reads SQLite files; other databases go through SQLAlchemy")
    from matcher.cached import stored_gazetteer

    assert stored_gazetteer(db_url, tmp_path) is None  # no file yet
    cached_gazetteer(session, tmp_path)
    found = stored_gazetteer(db_url, tmp_path)
    assert found is not None and found.resolve("Yamauchi, Saga").name == "Takeo"


def test_resolve_answers_from_a_current_file_without_loading_sqlalchemy(db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the quick path reads SQLite files; other databases go through SQLAlchemy")
    env = dict(os.environ, JETMATCH_INSTANCE_PATH=str(tmp_path), JETMATCH_DATABASE_URL=db_url)
    args = [sys.executable, "-c", _PROBE, "resolve", "--json", "Ishidoriya, Iwate"]
    first = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    assert "sqlalchemy" in json.loads(first.stdout.splitlines()[-1])  # built the file: checked the schema
    second = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    assert second.stdout.split("\n]")[0] == first.stdout.split("\n]")[0]
    assert json.loads(second.stdout.split("\n]")[0] + "\n]")[0]["name"] == "Hanamaki"
    loaded = set(json.loads(second.stdout.splitlines()[-1]))
    assert not loaded & {"sqlalchemy", "alembic", "numpy", "sklearn", "networkx", "flask"}

"""`jetmatch partnerships score`: the cached graph and the one-pass features give the model's own numbers."""

import pytest
from sqlalchemy import select

import matcher.partnerships as pt
from matcher.cli._app import AppContext
from matcher.cached import scoring_inputs
from matcher.cli.partnerships import _score_rows, _scoring
from matcher.gazetteer.resolver import Gazetteer
from matcher.models import Relationship
from test_cached import _PROBE

pytestmark = pytest.mark.slow


def _rows(graph: pt.TieGraph) -> list[dict]:
    """Existing pairs (cities and a state–prefecture tie), new ones, and one that names nowhere."""
    u = graph.universe
    edges = list(zip(graph.us.tolist(), graph.jp.tolist()))
    cities = [(a, b) for a, b in edges if not u.us_is_state[a] and not u.jp_is_pref[b]][:4]
    states = [(a, b) for a, b in edges if u.us_is_state[a] and u.jp_is_pref[b]][:1]
    rows = [{"us_place": u.us_labels[a] if not u.us_is_state[a] else u.states[u.us_state[a]],
             "jp_place": u.jp_labels[b]} for a, b in cities + states]
    rows += [{"us_place": "Seattle, WA", "jp_place": place} for place in ("Takeo, Saga", "Hanamaki, Iwate", "大分市")]
    rows += [{"us_place": "Rice Lake, WI", "jp_place": "Ishidoriya, Iwate"},
             {"us_place": "Nowhere Special, ZZ", "jp_place": "Takeo, Saga"},
             {"us_place": "MD", "jp_place": "Shiga"}]
    return rows


def test_score_gives_the_scores_and_reasons_the_model_gives_pair_by_pair(session, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path))
    pt.train(session, suggestions=False)
    model, _ = pt.stored_model(session)
    full = pt.load_graph(session)  # what the command loaded before it kept a cache file
    app = AppContext(url=db_url, _gazetteer=Gazetteer.from_session(session))
    rows = _rows(full)

    graph, _, existing = _scoring(app, session)
    assert len(list(tmp_path.glob("cache/partnerships-*.pickle"))) == 1
    scored = _score_rows(app, graph, model, rows, existing)

    def must_not_load(*_args, **_kwargs):
        raise AssertionError("the graph was loaded again although nothing changed")

    monkeypatch.setattr("matcher.partnerships.load.load_graph", must_not_load)
    graph, _, existing = _scoring(app, session)  # from the file
    again = _score_rows(app, graph, model, rows, existing)

    assert scored == again
    assert sum(r["existing"] is True for r in scored) == 5 and sum(r["existing"] is False for r in scored) >= 5
    assert scored[-2]["score"] is None and "unknown" in scored[-2]["error"]
    for row, got in zip(rows, scored):
        if got["score"] is None:
            continue
        us, jp = full.universe.us_index[got["us_key"]], full.universe.jp_index[got["jp_key"]]
        assert got == row | pt.describe_pair(full, model, us, jp), row


def test_the_cached_graph_follows_the_relationships(session, tmp_path):
    before, existing = scoring_inputs(session, tmp_path, alumni=False)
    assert set(existing) == before.pair_set
    rel = session.scalars(select(Relationship).where(Relationship.us_kind == "city")).first()
    session.add(Relationship(pair_key="place:5268798|muni:03205", us_kind="city", us_place_id=5268798,
                             us_state_abbr="WI", jp_kind="municipality", jp_municipality_code="03205",
                             jp_prefecture_code="03", status="unknown", themes="", volunteers_wanted=3,
                             source=rel.source))
    session.flush()
    after, existing = scoring_inputs(session, tmp_path, alumni=False)
    assert len(after.us) == len(before.us) + 1 and set(existing) == after.pair_set
    assert len(list(tmp_path.glob("partnerships-*.pickle"))) == 1  # the older file is gone


def test_the_cached_graph_follows_the_distances_to_the_sea(session, tmp_path, monkeypatch):
    """A rebuilt data/coast_km.csv (Kobe's shore moved) is a new cache file, not the old graph."""
    from matcher.cached import _scoring_fingerprint

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("JETMATCH_DATA_DIR", str(data))
    without = _scoring_fingerprint(session, alumni=False)
    (data / "coast_km.csv").write_text("side,key,km\njp,28100,4.6\n", encoding="utf-8")
    kobe = _scoring_fingerprint(session, alumni=False)
    (data / "coast_km.csv").write_text("side,key,km\njp,28100,9.0\n", encoding="utf-8")
    moved = _scoring_fingerprint(session, alumni=False)
    assert len({without, kobe, moved}) == 3
    assert _scoring_fingerprint(session, alumni=False) == moved  # and the same file, the same key


def test_training_prepares_the_file_score_reads(session, tmp_path, monkeypatch):
    """`partnerships train` (and the retrain job, and the demo) build the cache file, so the first
    `partnerships score` after it reads the file instead of loading the graph."""
    from matcher.cached import prepare_scoring_inputs

    assert prepare_scoring_inputs(session, tmp_path) is False  # no model yet: nothing to build for
    assert not list(tmp_path.glob("partnerships-*.pickle"))
    pt.train(session, suggestions=False)
    assert prepare_scoring_inputs(session, tmp_path) is True
    assert len(list(tmp_path.glob("partnerships-*.pickle"))) == 1

    def must_not_load(*_args, **_kwargs):
        raise AssertionError("the graph was loaded although training had prepared the file")

    monkeypatch.setattr("matcher.partnerships.load.load_graph", must_not_load)
    graph, existing = scoring_inputs(session, tmp_path, alumni=False)
    assert existing and len(existing) == len(graph.pair_set)


def test_score_with_a_current_file_loads_no_sqlalchemy_and_gives_the_same_output(scratch_db_url, tmp_path):
    """On SQLite, after `partnerships train` wrote the cache file, scoring reads the model row and the
    file's fingerprint with sqlite3: no SQLAlchemy, and the same bytes as the SQLAlchemy path."""
    import json
    import os
    import subprocess
    import sys

    if not scratch_db_url.startswith("sqlite"):
        pytest.skip("the quick path reads SQLite files; other databases go through SQLAlchemy")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("us_place,jp_place\nSeattle,Kobe\nSeattle,\"Takeo, Saga\"\n\"Rice Lake, WI\",\"Hanamaki, Iwate\"\n"
                     "\"Rice Lake, WI\",\"Ishidoriya, Iwate\"\nNowhere Special ZZ,Shiga\nMD,Shiga\n", encoding="utf-8")

    def run(instance, *args):
        env = dict(os.environ, JETMATCH_INSTANCE_PATH=str(tmp_path / instance), JETMATCH_DATABASE_URL=scratch_db_url)
        done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True,
                              env=env)
        out, _, modules = done.stdout.rstrip("\n").rpartition("\n")
        return out, set(json.loads(modules))

    run("trained", "partnerships", "train")
    assert len(list((tmp_path / "trained" / "cache").glob("partnerships-*.pickle"))) == 1
    run("trained", "resolve", "Seattle")  # the gazetteer's file too
    quick, loaded = run("trained", "partnerships", "score", str(pairs), "--json")
    assert not loaded & {"sqlalchemy", "alembic", "sklearn", "networkx", "flask"}, loaded
    slow, loaded = run("fresh", "partnerships", "score", str(pairs), "--json")  # no files: SQLAlchemy builds them
    assert "sqlalchemy" in loaded
    assert quick == slow
    rows = json.loads(quick)
    assert len(rows) == 6 and rows[4]["score"] is None and "unknown" in rows[4]["error"]
    assert all(r["score"] is not None for r in rows[:4] + rows[5:]), [r.get("error") for r in rows]
    assert {r["existing"] for r in rows if r["score"] is not None} <= {True, False}

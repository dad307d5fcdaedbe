"""The engine commands on a scratch database: score, suggest (JSON shape, merger reason), assign."""

import json

import numpy as np
import pytest
from sqlalchemy import select, update

from matcher import db
from matcher.cli import cli
from matcher.models import Alumnus, MunicipalityAlias, Placement, Relationship, USPlace


@pytest.fixture(scope="module")
def scored_url(scratch_db_url):
    """A scratch database with an Ishidoriya alum and a few Takeo alumni."""
    engine = db.make_engine(scratch_db_url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        alias = s.scalars(select(MunicipalityAlias).where(MunicipalityAlias.name == "Ishidoriya")).one()
        for i, (place, muni, pref, alias_id) in enumerate([("Ishidoriya, Iwate", "03205", "03", alias.id)] +
                                                          [("Takeo", "41206", "41", None)] * 4):
            a = Alumnus(external_id=f"C-{i}", name=f"Test {i}", email=f"c{i}@example.org", japanese_level=3,
                        availability_hours=6, max_matches=1, consent=True, home="Portland, OR", home_lat=45.52,
                        home_lon=-122.68, home_state_abbr="OR")
            s.add(a)
            s.flush()
            s.add(Placement(alumnus_id=a.id, place=place, municipality_code=muni, prefecture_code=pref,
                            alias_id=alias_id, role="ALT", start_year=2003, end_year=2005))
    engine.dispose()
    return scratch_db_url


def _json(runner, url, *args):
    result = runner.invoke(cli, ["--database-url", url, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _rel(url, city, state):
    engine = db.make_engine(url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        rid = s.scalars(select(Relationship.id).join(USPlace, Relationship.us_place_id == USPlace.id)
                        .where(USPlace.name == city, USPlace.state_abbr == state)).one()
    engine.dispose()
    return rid


def test_score_then_suggest_volunteers_names_the_merger(runner, scored_url):
    summary = _json(runner, scored_url, "score", "--json")
    assert summary["alumni"] == 5 and summary["volunteer_suggestions"] > 0
    items = _json(runner, scored_url, "suggest", "volunteers", "--relationship",
                  str(_rel(scored_url, "Hot Springs", "AR")), "--json")
    top = items[0]
    assert {"relationship_id", "alumnus_id", "us_place", "jp_place", "score", "reasons"} <= top.keys()
    assert top["external_id"] == "C-0"
    assert {"factor", "level", "weight", "sentence"} == set(top["reasons"][0])
    assert any("Ishidoriya (merged into Hanamaki" in r["sentence"] for r in top["reasons"])


def test_suggest_relationships_and_partners_shape(runner, scored_url):
    mine = _json(runner, scored_url, "suggest", "relationships", "--alum", "C-1", "--json")
    assert mine and all({"us_place", "jp_place", "score", "reasons"} <= m.keys() for m in mine)
    partners = _json(runner, scored_url, "suggest", "partners", "--chapter", "portland", "--json")
    assert all({"chapter", "us_place", "jp_place", "score", "reasons"} <= p.keys() for p in partners)


def test_assign_never_exceeds_capacity(runner, scored_url):
    result = _json(runner, scored_url, "assign", "--json")
    per_alum = {}
    for p in result["pairs"]:
        per_alum[p["alumnus_id"]] = per_alum.get(p["alumnus_id"], 0) + 1
    assert all(n <= 1 for n in per_alum.values())  # every test alum has max_matches=1


def _hidden_preference_decisions(url, seed=3, groups=120, per_group=12):
    """Coordinators who weigh distance three times more than the defaults (and placement less) decide."""
    from matcher.scoring.comparisons import LEVELS, default_settings
    from matcher.scoring.learning import _scores, indicators
    from matcher.models import Decision, MatchRequest

    rng = np.random.default_rng(seed)
    hidden = default_settings()
    hidden["weights"]["distance"] = {k: 3 * v for k, v in hidden["weights"]["distance"].items()}
    hidden["weights"]["placement"] = {k: 0.3 * v for k, v in hidden["weights"]["placement"].items()}
    engine = db.make_engine(url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        rel_ids = s.scalars(select(Relationship.id).order_by(Relationship.id).limit(groups)).all()
        for rid in rel_ids:
            feats = [{f: LEVELS[f][rng.integers(len(LEVELS[f]))][0]
                      for f in ("placement", "distance", "themes", "japanese", "availability")}
                     for _ in range(per_group)]
            scores = _scores(hidden, indicators(feats))
            for feat, sc in zip(feats, scores):
                status = "approved" if sc - 3.0 + rng.logistic() * 0.7 > 0 else "rejected"
                req = MatchRequest(kind="introduction", relationship_id=rid)  # pending: status moves by decisions
                s.add(req)
                s.flush()
                s.add(Decision(request_id=req.id, sequence=1, status=status, decided_by="coordinator@test",
                               features=feat))
                s.flush()
                s.execute(update(MatchRequest).where(MatchRequest.id == req.id)
                          .values(status=status, decision_count=1))
    engine.dispose()


def test_model_status_train_use_with_simulated_coordinators(runner, scored_url):
    assert _json(runner, scored_url, "model", "status", "--json")[0]["version"] == "default"
    refused = runner.invoke(cli, ["--database-url", scored_url, "model", "train", "--json"])
    assert refused.exit_code != 0 and "decisions" in refused.output  # nothing to learn from yet
    _hidden_preference_decisions(scored_url)
    report = _json(runner, scored_url, "model", "train", "--json")
    assert report["adopted"] and report["candidate"]["ndcg@10"] > report["current"]["ndcg@10"]
    status = _json(runner, scored_url, "model", "status", "--json")
    assert {m["version"] for m in status} == {"default", report["version"]}
    assert [m["version"] for m in status if m["active"]] == [report["version"]]
    summary = _json(runner, scored_url, "score", "--json")
    assert summary["model_version"] == report["version"]
    assert {"alumni", "relationships", "volunteer_suggestions", "partner_suggestions"} <= summary.keys()

    used = runner.invoke(cli, ["--database-url", scored_url, "model", "use", "default"])
    assert used.exit_code == 0 and "active model: default" in used.output
    assert [m["version"] for m in _json(runner, scored_url, "model", "status", "--json") if m["active"]] == ["default"]
    assert _json(runner, scored_url, "score", "--json")["model_version"] == "default"
    missing = runner.invoke(cli, ["--database-url", scored_url, "model", "use", "no-such-model"])
    assert missing.exit_code != 0 and "no model" in missing.output


def test_score_json_is_one_summary_object(runner, scored_url):
    summary = _json(runner, scored_url, "score", "--json", "--top", "3")
    assert summary["alumni"] == 5 and summary["relationships"] > 100
    assert summary["volunteer_suggestions"] <= 5 * 3 + summary["relationships"] * 3
    assert all(isinstance(summary[k], int) for k in ("volunteer_suggestions", "partner_suggestions"))
    assert summary["features_s"] >= 0 and summary["score_s"] >= 0


def test_score_waits_for_a_running_rescore_job(runner, scored_url):
    """`jetmatch score` takes the re-score jobs' lock, so it never writes beside a worker."""
    import threading

    from matcher.jobs.runner import job_lock

    engine = db.make_engine(scored_url)
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def worker_job() -> None:
        with job_lock(engine, "rescore"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=worker_job)
    holder.start()
    held.wait(10)
    results = []
    scorer = threading.Thread(target=lambda: (results.append(runner.invoke(cli, ["--database-url", scored_url,
                                                                                  "score", "--json"])), done.set()))
    scorer.start()
    try:
        assert not done.wait(2.0)  # still waiting for the lock, whatever the machine's load
    finally:
        release.set()
        holder.join()
    scorer.join(120)
    engine.dispose()
    assert done.is_set() and results[0].exit_code == 0, results[0].output


def test_partnership_models_are_not_scoring_models(runner, scored_url):
    # `jetmatch partnerships train` stores its model in the same table; `model` must not offer it.
    trained = runner.invoke(cli, ["--database-url", scored_url, "partnerships", "train"])
    assert trained.exit_code == 0, trained.output
    engine = db.make_engine(scored_url)
    with db.session_scope(db.make_sessionmaker(engine)) as s:
        from matcher.models import ScoringModel

        version = s.scalars(select(ScoringModel.version).where(ScoringModel.version.like("partnerships-%"))).first()
    engine.dispose()
    assert version is not None
    assert version not in {m["version"] for m in _json(runner, scored_url, "model", "status", "--json")}
    refused = runner.invoke(cli, ["--database-url", scored_url, "model", "use", version])
    assert refused.exit_code != 0 and "partnership model" in refused.output


def test_the_console_entry_point_prints_the_summary_and_keeps_the_exit_status(scored_url, tmp_path):
    """`python -m matcher.cli` (the `jetmatch` script's main): the summary is printed and the
    status kept, although the process skips the collector's last passes on its way out."""
    import subprocess
    import sys

    def jetmatch(*args):
        return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True, text=True,
                              timeout=600)

    done = jetmatch("--database-url", scored_url, "score", "--json", "--top", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["alumni"] == 5
    refused = jetmatch("--database-url", f"sqlite:///{tmp_path / 'empty.sqlite'}", "score")
    assert refused.returncode == 1 and "jetmatch init" in refused.stderr


@pytest.mark.parametrize("one_shot", [False, True])
def test_the_collector_pauses_for_a_command_and_resumes_as_it_was(monkeypatch, one_shot):
    import gc

    from matcher.cli import _app

    monkeypatch.setattr(_app, "ONE_SHOT", one_shot)
    assert gc.isenabled()
    try:
        kept = [[] for _ in range(1000)]
        with _app.collector_paused():
            assert not gc.isenabled()
            kept += [[] for _ in range(1000)]
        assert gc.isenabled()
        # a process that ends with the command leaves what it built to the end, uncollected
        assert (gc.get_freeze_count() >= len(kept)) == one_shot
        gc.disable()  # paused when already off: stays off
        with _app.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()

"""New-partnership link prediction: projected indices, leave-one-out features, additive
explanations, evaluation, and the `jetmatch partnerships` commands."""

from __future__ import annotations

import csv
import json

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from sqlalchemy import func, select

from matcher import partnerships as pt

# --- a small named world: no database --------------------------------------------------------

STATES = ["HI", "MI", "WA"]
PREFS = ["25", "28", "47", "02"]  # Shiga, Hyogo, Okinawa, Aomori
PLACES = [  # name, state, population
    ("Lansing", "MI", 112_000), ("Ann Arbor", "MI", 123_000), ("Marshall", "MI", 7_000),
    ("Seattle", "WA", 737_000), ("Bellevue", "WA", 151_000), ("Honolulu", "HI", 350_000),
]
MUNIS = [  # code, prefecture, population
    ("25201", "25", 345_000), ("25202", "25", 113_000), ("25203", "25", 50_000), ("25441", "25", 7_000),
    ("28100", "28", 1_500_000), ("28201", "28", 530_000), ("28585", "28", 15_000),
    ("47201", "47", 317_000), ("47325", "47", 10_000), ("02201", "02", 275_000), ("02202", "02", 170_000),
]


def toy_graph(edges: list[tuple[str, str]] | None = None) -> pt.TieGraph:
    """Michigan–Shiga (sister states, with city pairs), Washington–Hyogo, Hawaii–Okinawa."""
    neighbours = sparse.csr_matrix(np.zeros((4, 4)))
    u = pt.Universe(
        us_keys=[f"place:{i}" for i in range(len(PLACES))] + [f"state:{s}" for s in STATES],
        us_labels=[f"{n}, {s}" for n, s, _ in PLACES] + STATES,
        us_state=np.array([STATES.index(s) for _, s, _ in PLACES] + [0, 1, 2]),
        us_is_state=np.r_[np.zeros(len(PLACES), bool), np.ones(3, bool)],
        us_pop=np.r_[[p for *_, p in PLACES], [1.4e6, 1e7, 7.7e6]].astype(float),
        jp_keys=[f"muni:{c}" for c, _, _ in MUNIS] + [f"pref:{p}" for p in PREFS],
        jp_labels=[c for c, _, _ in MUNIS] + PREFS,
        jp_pref=np.array([PREFS.index(p) for _, p, _ in MUNIS] + [0, 1, 2, 3]),
        jp_is_pref=np.r_[np.zeros(len(MUNIS), bool), np.ones(4, bool)],
        jp_pop=np.r_[[p for *_, p in MUNIS], [1.4e6, 5.4e6, 1.4e6, 1.2e6]].astype(float),
        jp_capital=np.array([c.endswith(("201", "100")) for c, _, _ in MUNIS] + [False] * 4),
        states=STATES, prefectures=PREFS, pref_region=np.array([0, 0, 1, 2]), pref_neighbours=neighbours,
    )
    edges = edges if edges is not None else [
        ("state:MI", "pref:25"), ("place:0", "muni:25201"), ("place:1", "muni:25202"), ("place:2", "muni:25203"),
        ("place:3", "muni:28100"), ("place:4", "muni:28201"), ("state:WA", "pref:28"), ("place:3", "muni:02201"),
        ("state:HI", "pref:47"), ("place:5", "muni:47201"),
    ]
    return pt.TieGraph(u, np.array([u.us_index[a] for a, _ in edges]), np.array([u.jp_index[b] for _, b in edges]))


def _col(name: str) -> int:
    return list(pt.FEATURES).index(name)


def test_projected_indices_match_networkx_through_states_and_prefectures():
    # On the bipartite state–prefecture graph networkx scores same-side pairs; the
    # length-3 index of (state, prefecture) sums those similarities over the other side.
    adj = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1]], dtype=float)
    g = nx.Graph([(f"s{i}", f"p{j}") for i, j in zip(*np.nonzero(adj))])
    for kind, fn in (("aa", nx.adamic_adar_index), ("ra", nx.resource_allocation_index)):
        def sim(a, b):
            return next(fn(g, [(a, b)]))[2] if a != b else 0.0
        expected = np.array([[sum(sim(f"s{i}", f"s{k}") * adj[k, j] for k in range(3))
                              + sum(adj[i, q] * sim(f"p{q}", f"p{j}") for q in range(4))
                              for j in range(4)] for i in range(3)])
        got = pt.projected_similarity(sparse.csr_matrix(adj), kind)
        np.testing.assert_allclose(got, expected)
    # …whereas networkx's own index of a US–JP pair is always zero on the bipartite graph.
    assert next(nx.adamic_adar_index(g, [("s0", "p2")]))[2] == 0


def test_a_pair_never_sees_itself_in_its_features():
    graph = toy_graph()
    raw, y = pt.training_examples(graph, np.random.default_rng(0), negatives=3, same_prefecture=1)
    positives = raw[y == 1]
    # Edge 1 is Lansing–Otsu: without it, Michigan–Shiga has the sister tie and two city pairs.
    lansing = positives[1]
    assert lansing[_col("sister_state")] == 1
    assert lansing[_col("state_pref_ties")] == 2
    assert lansing[_col("jp_degree")] == 0 and lansing[_col("us_degree")] == 0
    # Edge 0 is the sister-state tie itself: scored without it, it is not a sister state.
    assert positives[0][_col("sister_state")] == 0
    assert positives[0][_col("state_pref_ties")] == 3


def test_contributions_add_up_to_the_score():
    graph = toy_graph()
    raw, y = pt.training_examples(graph, np.random.default_rng(1), negatives=4, same_prefecture=2)
    model = pt.PartnershipModel().fit(raw, y)
    scores = model.decision_function(raw)
    np.testing.assert_allclose(model.contributions(raw).sum(axis=1) + model.intercept_, scores)
    row = pt.describe_pair(graph, model, graph.universe.us_index["place:2"], graph.universe.jp_index["muni:25441"])
    assert row["reasons"][0]["factor"] == "intercept"
    assert sum(r["contribution"] for r in row["reasons"]) == pytest.approx(row["score"], abs=1e-3)


def test_suggested_pairs_are_all_new():
    graph = toy_graph()
    model = pt.fit_model(graph)
    u = graph.universe
    for kwargs in ({}, {"us": u.us_index["place:3"]}, {"jp": u.jp_index["muni:25201"]}):
        pairs = pt.top_new_pairs(graph, model, top=50, us_pool=np.arange(u.n_us), **kwargs)
        assert pairs and not {(a, b) for a, b, _ in pairs} & graph.pair_set
        assert [s for *_, s in pairs] == sorted((s for *_, s in pairs), reverse=True)


def test_rank_gives_ties_their_average_rank():
    assert pt._rank(np.array([3.0, 1.0, 1.0, 1.0]), 1) == 3.0
    assert pt._rank(np.array([0.5, 2.0, 1.0]), 1) == 1.0


def test_capitals_follow_jis_codes_with_tokyo_and_yamaguchi_exceptions():
    codes = ["14100", "14201", "13101", "13104", "13201", "35201", "35203", "44201", "44202"]
    assert pt.capital_codes(codes) == {"14100", "13104", "35203", "44201"}


def test_existing_pairs_are_scored_without_themselves():
    graph = toy_graph()
    model = pt.fit_model(graph)
    u = graph.universe
    row = pt.describe_pair(graph, model, u.us_index["place:0"], u.jp_index["muni:25201"])
    assert row["existing"] is True
    ties = next(r for r in row["reasons"] if r["factor"] == "state_pref_ties")
    assert ties["value"] == 2  # Ann Arbor and Marshall, not Lansing itself


# --- on the reference data ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_graph(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        graph = pt.load_graph(s)
    if len(graph.us) < 100:
        pytest.skip("reference relationships not loaded")
    return graph


def test_every_relationship_is_in_the_graph(real_graph, session):
    from matcher.models import Relationship

    assert len(real_graph.us) == session.scalar(select(func.count()).select_from(Relationship))
    u = real_graph.universe
    assert u.jp_capital.sum() == 47


@pytest.mark.slow
def test_real_suggestions_are_new_and_explained(session):
    rows = pt.suggest_partnerships(session, top=5)
    from matcher.models import Relationship

    existing = set(session.scalars(select(Relationship.pair_key)))
    for row in rows:
        assert not row["existing"]
        us, jp = row["us_key"], row["jp_key"]
        key = f"{us}|{jp}".replace("pref:", "pref:").replace("muni:", "muni:")
        assert key not in existing
        assert sum(r["contribution"] for r in row["reasons"]) == pytest.approx(row["score"], abs=1e-3)


@pytest.mark.slow
def test_model_beats_baselines_on_one_seed(real_graph):
    result = pt.evaluate_seed(real_graph, seed=0)
    for method in pt.METHODS[1:]:
        assert result["model"]["auc"] > result[method]["auc"], method


def test_proposing_a_new_partnership_leaves_it_pending(session, real_graph):
    from matcher.models import Decision, MatchRequest

    u = real_graph.universe
    us_key, jp_key = next((a, b) for a, b in zip((u.us_keys[i] for i in real_graph.us),
                                                   (u.jp_keys[j] for j in real_graph.jp))
                          if a.startswith("place:") and b.startswith("muni:"))
    existing_place = int(us_key[6:])
    # A pair that is not a partnership: the same US place with a different municipality.
    other = next(k[5:] for k in u.jp_keys if k.startswith("muni:") and k != jp_key)
    request = pt.propose_partnership(session, existing_place, other, by_login="coord@example.org", note="try it")
    assert request.kind == "new_partnership" and request.status == "pending"
    assert session.scalar(select(func.count()).select_from(Decision).where(Decision.request_id == request.id)) == 0
    assert request.note == "try it" and request.jp_municipality_code == other
    assert request.jp_prefecture_code == other[:2] and request.us_state_abbr is not None
    again = pt.propose_partnership(session, existing_place, other, by_login="other@example.org")
    assert again.id == request.id
    with pytest.raises(ValueError):
        pt.propose_partnership(session, existing_place, jp_key[5:], by_login="coord@example.org")
    assert session.scalar(select(func.count()).select_from(MatchRequest).where(
        MatchRequest.kind == "new_partnership")) >= 1


def test_a_state_and_a_prefecture_can_be_proposed(session):
    from matcher.models import Relationship

    # Maryland and Kanagawa are already sister state and prefecture; Maryland and Shiga are not.
    assert session.scalar(select(Relationship.id).where(Relationship.pair_key == "state:MD|pref:14"))
    with pytest.raises(ValueError):
        pt.propose_partnership(session, "MD", "14", by_login="coord@example.org")
    request = pt.propose_partnership(session, "MD", "25", by_login="coord@example.org", note="lake towns")
    assert (request.us_place_id, request.us_state_abbr) == (None, "MD")
    assert (request.jp_municipality_code, request.jp_prefecture_code) == (None, "25")
    assert request.contributions and request.score is not None


@pytest.mark.slow
def test_score_command_keeps_input_order_and_flags_problems(runner, db_url, real_graph, tmp_path):
    from matcher.cli import cli

    u = real_graph.universe
    i = next(i for i in range(len(real_graph.us)) if u.us_keys[real_graph.us[i]].startswith("place:")
             and u.jp_keys[real_graph.jp[i]].startswith("muni:"))
    us_label, jp_label = u.us_labels[real_graph.us[i]], u.jp_labels[real_graph.jp[i]]
    path = tmp_path / "pairs.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["us_place", "jp_place"])
        w.writerow([us_label, jp_label])
        w.writerow(["Nowhere Special, ZZ", jp_label])
        w.writerow(["Seattle, WA", "Takeo, Saga"])
    result = runner.invoke(cli, ["--database-url", db_url, "partnerships", "score", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["us_place"] for r in rows] == [us_label, "Nowhere Special, ZZ", "Seattle, WA"]
    assert rows[0]["existing"] is True and rows[0]["score"] is not None
    assert rows[1]["score"] is None and rows[1]["error"]
    takeo = (u.us_labels.index("Seattle, WA"), u.jp_keys.index("muni:41206"))
    assert rows[2]["score"] is not None and rows[2]["existing"] is (takeo in real_graph.pair_set)
    assert rows[2]["jp_key"] == "muni:41206"  # Takeo (Yamauchi merged into it in 2006)


@pytest.mark.slow
def test_suggest_command_for_one_us_place(runner, db_url):
    from matcher.cli import cli

    result = runner.invoke(cli, ["--database-url", db_url, "partnerships", "suggest", "--us", "Seattle, WA",
                                 "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert "no stored partnerships model: fitting one now" in result.stderr
    assert len(rows) == 3 and all(r["us_label"] == "Seattle, WA" and not r["existing"] for r in rows)


@pytest.mark.slow
def test_evaluate_command_prints_the_table(runner, db_url):
    from matcher.cli import cli

    result = runner.invoke(cli, ["--database-url", db_url, "partnerships", "evaluate", "--seeds", "2"])
    assert result.exit_code == 0, result.output
    assert "hits@50" in result.output and "resource_allocation" in result.output


# --- reasons that read true, and a stored model -------------------------------------------------


def test_a_zero_count_is_worded_as_none_whatever_its_contribution():
    graph = toy_graph()
    model = pt.fit_model(graph)
    u = graph.universe
    row = pt.describe_pair(graph, model, u.us_index["place:5"], u.jp_index["muni:02202"])  # Honolulu–Hirosaki
    bridges = next(r for r in row["reasons"] if r["factor"] == "alumni_pref_bridges")
    assert bridges["value"] == 0
    assert bridges["sentence"] == "no JET alum living near the US side was placed in this prefecture yet"
    assert bridges["relative"] in ("below average", "about average")
    assert all("(0)" not in r["sentence"] for r in row["reasons"])


def test_the_lines_a_page_shows_still_add_up_to_the_score():
    graph = toy_graph()
    model = pt.fit_model(graph)
    u = graph.universe
    row = pt.describe_pair(graph, model, u.us_index["state:WA"], u.jp_index["pref:25"])
    shown = pt.summarise_reasons(row["reasons"], top=3)
    assert [r["factor"] for r in shown][-2:] == ["other", "intercept"] and len(shown) == 5
    assert sum(r["contribution"] for r in shown) == pytest.approx(row["score"], abs=1e-3)


def test_a_stored_model_scores_exactly_as_the_fitted_one():
    graph = toy_graph()
    model = pt.fit_model(graph)
    again = pt.PartnershipModel.from_settings(json.loads(json.dumps(model.to_settings())))
    raw, _ = pt.training_examples(graph, np.random.default_rng(3), negatives=3, same_prefecture=1)
    np.testing.assert_allclose(again.decision_function(raw), model.decision_function(raw))
    with pytest.raises(ValueError):
        pt.PartnershipModel.from_settings(model.to_settings() | {"features": ["gone"]})


def test_train_stores_a_current_row_and_suggest_uses_it(session):
    first = pt.train(session)
    import datetime as dt

    second = pt.train(session, now=dt.datetime(2099, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    assert second.version == "partnerships-20990102030405" and not second.active
    assert session.get(type(first), first.version).settings["current"] is False
    assert pt.stored_model(session)[1] == second.version

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


# Rough real coordinates: Seattle and Bellevue are 10 km apart; Kobe (28100) and Ashiya-ish
# 28201 (Himeji is really further, but here it is placed 20 km from Kobe) are neighbours.
US_XY = {"Lansing": (42.73, -84.55), "Ann Arbor": (42.28, -83.74), "Marshall": (42.27, -84.96),
         "Seattle": (47.61, -122.33), "Bellevue": (47.61, -122.20), "Honolulu": (21.31, -157.86)}
JP_XY = {"25201": (35.00, 135.87), "25202": (35.27, 136.26), "25203": (35.38, 136.27), "25441": (35.09, 136.20),
         "28100": (34.69, 135.20), "28201": (34.75, 135.40), "28585": (35.50, 134.60),
         "47201": (26.21, 127.68), "47325": (26.40, 127.75), "02201": (40.82, 140.74), "02202": (40.60, 140.46)}
KINDS = {"25441": "town", "28585": "town", "47325": "village"}
# Distance to the sea, km: Seattle, Bellevue, Honolulu, Kobe, Naha are ports; Lansing and the
# Lake Biwa towns of Shiga are inland (a lake is not the sea).
US_COAST = {"Lansing": 90.0, "Ann Arbor": 60.0, "Marshall": 110.0, "Seattle": 1.0, "Bellevue": 6.0, "Honolulu": 1.0}
JP_COAST = {"25201": 55.0, "25202": 60.0, "25203": 60.0, "25441": 55.0, "28100": 2.0, "28201": 8.0, "28585": 45.0,
            "47201": 1.0, "47325": 3.0, "02201": 30.0, "02202": 12.0}


def toy_graph(edges: list[tuple[str, str]] | None = None, spatial: bool = False) -> pt.TieGraph:
    """Michigan–Shiga (sister states, with city pairs), Washington–Hyogo, Hawaii–Okinawa;
    with ``spatial``, coordinates, kinds and one merger (into Hirosaki) as well."""
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
    if spatial:
        u.us_lat = np.r_[[US_XY[n][0] for n, _, _ in PLACES], [np.nan] * 3]
        u.us_lon = np.r_[[US_XY[n][1] for n, _, _ in PLACES], [np.nan] * 3]
        u.jp_lat = np.r_[[JP_XY[c][0] for c, _, _ in MUNIS], [np.nan] * 4]
        u.jp_lon = np.r_[[JP_XY[c][1] for c, _, _ in MUNIS], [np.nan] * 4]
        u.jp_kind = np.array([KINDS.get(c, "city") for c, _, _ in MUNIS] + ["prefecture"] * 4)
        u.jp_merged = np.r_[[2.0 if c == "02202" else 0.0 for c, _, _ in MUNIS], [0.0] * 4]
        u.us_coast_km = np.r_[[US_COAST[n] for n, _, _ in PLACES], [np.nan] * 3]
        u.jp_coast_km = np.r_[[JP_COAST[c] for c, _, _ in MUNIS], [np.nan] * 4]
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


def test_candidate_lists_score_each_partner_without_itself():
    graph = toy_graph()
    lists = pt.candidate_lists(graph)
    positives = lists["raw"][lists["y"] == 1]
    assert len(positives) == len(graph.us) and lists["y"][lists["group"] == 1][0] == 1
    assert positives[1][_col("state_pref_ties")] == 2 and positives[0][_col("sister_state")] == 0
    # Each list holds the US side's non-partners at the partner's level, and never another partner.
    seattle = lists["jp"][lists["group"] == 4]  # Seattle–Kobe: Hirosaki (a partner) left out
    u = graph.universe
    assert u.jp_index["muni:02201"] not in seattle and u.jp_index["muni:28201"] in seattle
    assert not u.jp_is_pref[seattle].any()


def test_contributions_add_up_to_the_score():
    graph = toy_graph(spatial=True)
    lists = pt.candidate_lists(graph)
    model = pt.PartnershipModel().fit(lists["raw"], lists["y"], lists["group"], lists["level"])
    scores = model.decision_function(lists["raw"], lists["level"])
    np.testing.assert_allclose(model.contributions(lists["raw"]).sum(axis=1)
                               + model.intercepts_[lists["level"]], scores)
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
def test_evaluate_command_ranks_per_level_with_calibration(runner, db_url):
    from matcher.cli import cli
    from matcher.cli.partnerships import format_table

    result = runner.invoke(cli, ["--database-url", db_url, "partnerships", "evaluate", "--seeds", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # The keys the earlier --json had, and the new ones.
    assert {"seeds", "holdout", "pairs", "summary", "model_beats_every_baseline_every_seed", "runs"} <= set(out)
    for level in pt.LEVEL_NAMES:
        for method in pt.METHODS:
            assert set(pt.METRICS) <= set(out["by_level"][level][method])
    model = out["summary"]["model"]
    assert model["hits@50"]["mean"] >= model["hits@10"]["mean"] and model["median_rank"]["mean"] >= 1
    assert out["summary"]["model"]["auc"]["mean"] > out["summary"]["random"]["auc"]["mean"]
    cal = out["calibration"]
    assert sum(row["n"] for row in cal["table"]) > 1000 and 0 <= cal["ece"]["mean"] < 0.05
    assert sum(row["positives"] for row in cal["table"]) == sum(r["calibration"]["partners"] for r in out["runs"])
    table = format_table(out)
    assert "hits@50" in table and "resource_allocation" in table and "prefecture level" in table and "ECE" in table


# --- reasons that read true, and a stored model -------------------------------------------------


def test_a_zero_count_is_worded_as_none_and_adds_nothing():
    graph = toy_graph(spatial=True)
    model = pt.fit_model(graph)
    u = graph.universe
    row = pt.describe_pair(graph, model, u.us_index["place:5"], u.jp_index["muni:02202"])  # Honolulu–Hirosaki
    zeros = [r for r in row["reasons"][1:] if r["value"] == 0]
    assert zeros and all(r["contribution"] == 0 and r["relative"] == "" for r in zeros)
    assert all("(0)" not in r["sentence"] and " 0 " not in r["sentence"] for r in zeros)
    from matcher.partnerships.features import _sentence

    assert _sentence("alumni_pref_bridges", 0.0) == "no JET alum living near the US side was placed in this prefecture yet"


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
    level = np.arange(len(raw)) % 2
    np.testing.assert_allclose(again.decision_function(raw, level), model.decision_function(raw, level))
    with pytest.raises(ValueError):  # a row stored before calibrated scores is refit, not misread
        pt.PartnershipModel.from_settings({k: v for k, v in model.to_settings().items() if k != "intercepts"})
    with pytest.raises(ValueError):
        pt.PartnershipModel.from_settings(model.to_settings() | {"features": ["gone"]})


def test_train_stores_a_current_row_and_suggest_uses_it(session):
    first = pt.train(session)
    import datetime as dt

    second = pt.train(session, now=dt.datetime(2099, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    assert second.version == "partnerships-20990102030405" and not second.active
    assert session.get(type(first), first.version).settings["current"] is False
    assert pt.stored_model(session)[1] == second.version


# --- new signals, each on the small world -------------------------------------------------------


def _features(graph: pt.TieGraph, us_key: str, jp_key: str) -> dict[str, float]:
    u = graph.universe
    raw = pt.pair_features(graph, np.array([u.us_index[us_key]]), np.array([u.jp_index[jp_key]]))[0]
    return dict(zip(pt.FEATURES, raw.tolist()))


def test_spatial_smoothing_counts_the_partners_of_neighbours_on_both_sides():
    graph = toy_graph(spatial=True)
    # Seattle's neighbour Bellevue (10 km) partners 28201 in Hyogo; Seattle's own ties do not count.
    seattle_himeji = _features(graph, "place:3", "muni:28201")
    assert seattle_himeji["jp_partners_near_us"] == 1  # Bellevue, within 150 km of Seattle
    assert seattle_himeji["near_us_partners_in_pref"] == 1  # Bellevue's one Hyogo partner
    assert seattle_himeji["us_partners_near_jp"] == 1  # Seattle's own partner Kobe is 20 km away
    # Kobe's neighbour 28201 partners a Washington place: Kobe's neighbours have 1 partner in WA.
    assert _features(graph, "place:4", "muni:28100")["jp_near_partners_in_state"] == 1
    # Honolulu has no US neighbour with a partner, and Sasayama-ish 28585 no partnered neighbour.
    far = _features(graph, "place:5", "muni:28585")
    assert far["jp_partners_near_us"] == far["near_us_partners_in_pref"] == far["jp_near_partners_in_state"] == 0
    # Without coordinates (the plain world) every spatial feature is zero, never an error.
    plain = _features(toy_graph(), "place:3", "muni:28201")
    assert all(plain[f] == 0 for f in pt.SIGNALS["spatial"] if f != "area_pref_share")


def test_area_share_is_the_smoothed_share_of_nearby_partnerships_in_the_prefecture():
    graph = toy_graph(spatial=True)
    # Bellevue's area: Washington has 3 Hyogo-or-Aomori ties (state, Seattle×2, Bellevue) …
    share_hyogo = _features(graph, "place:4", "muni:28585")["area_pref_share"]
    share_shiga = _features(graph, "place:4", "muni:25441")["area_pref_share"]
    assert share_hyogo > 0.5 > share_shiga > 0


def test_merger_history_and_kind_signals_on_the_small_world():
    graph = toy_graph(spatial=True)
    assert _features(graph, "place:2", "muni:02202")["jp_merged"] == 2
    assert _features(graph, "place:2", "muni:02201")["jp_merged"] == 0
    # Marshall (7,000 people) fits a town; Seattle (737,000) fits a city.
    assert _features(graph, "place:2", "muni:25441")["kind_match"] == 1
    assert _features(graph, "place:2", "muni:25201")["kind_match"] == 0
    assert _features(graph, "place:3", "muni:25201")["kind_match"] == 1
    assert _features(graph, "place:3", "muni:25201")["jp_city"] == 1
    assert _features(graph, "place:3", "muni:47325")["jp_city"] == 0


def test_merger_history_is_read_from_the_alias_table(session):
    from matcher.models import MunicipalityAlias

    before = pt.load_graph(session, alumni=False)
    takeo = before.universe.jp_index["muni:41206"]
    assert before.universe.jp_merged[takeo] >= 1  # Yamauchi and Kitagata merged into Takeo in 2006
    session.add(MunicipalityAlias(municipality_code="41206", name="Testmura", reason="merger"))
    session.add(MunicipalityAlias(municipality_code="41206", name="Takeo-si", reason="spelling"))
    session.flush()
    after = pt.load_graph(session, alumni=False)
    assert after.universe.jp_merged[takeo] == before.universe.jp_merged[takeo] + 1


# --- a ranking model whose reasons read the right way, and a calibrated figure -----------------


def test_a_supporting_weight_is_never_negative_even_when_the_data_pull_it_down():
    from matcher.partnerships.learn import fit_listwise

    rng = np.random.default_rng(0)
    x = rng.random((300, 2))
    groups = np.repeat(np.arange(30), 10)
    y = np.zeros(300)
    for g in range(30):  # the partner is the row with the LOWEST first feature and highest second
        rows = np.flatnonzero(groups == g)
        y[rows[np.argmax(x[rows, 1] - x[rows, 0])]] = 1
        order = np.r_[rows[y[rows] == 1], rows[y[rows] == 0]]
        x[rows], y[rows] = x[order], y[order]
    free = fit_listwise(x, y, groups)
    bound = fit_listwise(x, y, groups, nonneg=np.array([True, False]))
    assert free[0] < -1 and bound[0] == 0 and bound[1] > 1


def test_supporting_lines_never_subtract():
    graph = toy_graph(spatial=True)
    model = pt.fit_model(graph)
    lists = pt.candidate_lists(graph)
    contrib = model.contributions(lists["raw"])
    supporting = [i for i, name in enumerate(model.names_) if name in pt.SUPPORTING]
    assert (contrib[:, supporting] >= 0).all()
    u = graph.universe
    row = pt.describe_pair(graph, model, u.us_index["place:4"], u.jp_index["muni:28100"])
    assert all(r["contribution"] >= 0 for r in row["reasons"] if r["factor"] in pt.SUPPORTING)


def test_the_calibrated_figure_rises_with_the_score():
    graph = toy_graph(spatial=True)
    model = pt.fit_model(graph)
    lists = pt.candidate_lists(graph)
    for level in (0, 1):
        rows = lists["level"] == level
        scores = model.decision_function(lists["raw"][rows], lists["level"][rows])
        p = model.probability(lists["raw"][rows], lists["level"][rows])
        order = np.argsort(scores)
        assert (np.diff(p[order]) >= 0).all() and ((p > 0) & (p < 1)).all()
    assert model.platt_[0] > 0
    u = graph.universe
    row = pt.describe_pair(graph, model, u.us_index["place:3"], u.jp_index["muni:28201"])
    assert row["probability"] == pytest.approx(1 / (1 + np.exp(-row["score"])), rel=1e-3)


def test_reasons_come_strongest_first_and_leave_out_unweighted_features():
    graph = toy_graph(spatial=True)
    model = pt.fit_model(graph)
    u = graph.universe
    reasons = pt.describe_pair(graph, model, u.us_index["place:4"], u.jp_index["muni:28100"])["reasons"]
    sizes = [abs(r["contribution"]) for r in reasons[1:]]
    assert sizes == sorted(sizes, reverse=True)
    unweighted = {n for n, c in zip(model.names_, model.coef_) if c == 0}
    assert not unweighted & {r["factor"] for r in reasons}


def test_reliability_table_and_ece():
    p = np.array([0.0005, 0.0005, 0.002, 0.05, 0.05, 0.05, 0.05])
    y = np.array([0, 0, 0, 1, 0, 0, 0])
    table, ece = pt.reliability(p, y)
    filled = [r for r in table if r["n"]]
    assert [r["n"] for r in filled] == [2, 1, 4] and filled[-1]["observed"] == 0.25
    assert ece == pytest.approx(4 / 7 * 0.2 + 2 / 7 * 0.0005 + 1 / 7 * 0.002)


# --- size, latitude and prefecture signals, each on the small world -------------------------------


def test_size_product_matches_large_with_large_and_small_with_small():
    graph = toy_graph(spatial=True)
    # Seattle (737,000) with Kobe (1.5 million): both above ~30,000, so the product is positive …
    assert _features(graph, "place:3", "muni:28100")["size_product"] == pytest.approx(
        (np.log10(737_000) - 4.5) * (np.log10(1_500_000) - 4.5))
    # … Marshall (7,000) with a 7,000-people Shiga town too (both below), but not with Kobe.
    assert _features(graph, "place:2", "muni:25441")["size_product"] > 0
    assert _features(graph, "place:2", "muni:28100")["size_product"] < 0


def test_latitude_gap_and_longitude_product_come_from_the_coordinates():
    graph = toy_graph(spatial=True)
    seattle_hirosaki = _features(graph, "place:3", "muni:02201")
    assert seattle_hirosaki["latitude_gap"] == pytest.approx(47.61 - 40.82)
    honolulu_naha = _features(graph, "place:5", "muni:47201")
    assert honolulu_naha["latitude_gap"] == pytest.approx(26.21 - 21.31)
    # Seattle is west of the US middle and Naha west of Japan's: the longitude product is positive;
    # Seattle with Hirosaki (east of the middle) is negative.
    assert _features(graph, "place:3", "muni:47201")["longitude_product"] > 0 > seattle_hirosaki["longitude_product"]
    # Without coordinates the gap is unknown (not zero), and a model fitted there gives it no weight.
    plain = toy_graph()
    assert np.isnan(_features(plain, "place:3", "muni:02201")["latitude_gap"])
    model = pt.fit_model(plain, features=("jp_population", "latitude_gap"))
    assert model.coef_[1] == 0


def test_coast_product_pairs_ports_with_ports_and_inland_with_inland():
    graph = toy_graph(spatial=True)
    seattle_kobe = _features(graph, "place:3", "muni:28100")
    assert seattle_kobe["coast_product"] == pytest.approx((np.log10(2.0) - 1.3) * (np.log10(3.0) - 1.3))
    assert seattle_kobe["coast_product"] > 0 and seattle_kobe["port_pair"] == 1 and seattle_kobe["jp_coastal"] == 1
    # Lansing (90 km inland) with Otsu on Lake Biwa (55 km from the sea): both inland, also positive …
    lansing_otsu = _features(graph, "place:0", "muni:25201")
    assert lansing_otsu["coast_product"] > 0 and lansing_otsu["port_pair"] == 0 and lansing_otsu["jp_coastal"] == 0
    # … a port with an inland town is negative, either way round.
    assert _features(graph, "place:3", "muni:25201")["coast_product"] < 0
    assert _features(graph, "place:0", "muni:28100")["coast_product"] < 0
    # A state or a prefecture has no coast distance: unknown, not zero, and no port pair.
    state = _features(graph, "state:WA", "pref:28")
    assert np.isnan(state["coast_product"]) and state["port_pair"] == 0
    # Without the distances (the plain world) a model fitted there gives the product no weight.
    plain = toy_graph()
    assert np.isnan(_features(plain, "place:3", "muni:28100")["coast_product"])
    assert pt.fit_model(plain, features=("jp_population", "coast_product")).coef_[1] == 0


def test_coast_sentences_follow_the_sign():
    from matcher.partnerships.features import _sentence

    assert _sentence("coast_product", 0.5).startswith("both sides are within about 20 km of the sea, or both")
    assert _sentence("coast_product", -0.5).startswith("one side is within about 20 km of the sea")
    assert "unknown" in _sentence("coast_product", float("nan"))


def test_shipped_coast_distances_tell_ports_from_inland_places():
    from matcher.partnerships.load import coast_km

    us, jp = coast_km()
    assert jp["28100"] < 10 and jp["13101"] < 10  # Kobe, Chiyoda (Tokyo)
    assert jp["10201"] > 60 and jp["09201"] > 40  # Maebashi (Gunma), Utsunomiya (Tochigi): landlocked
    assert us["5809844"] < 10 and us["5879400"] < 10  # Seattle, Anchorage
    assert us["5419384"] > 500 and us["4684888"] > 200  # Denver, Dallas
    # The Canada and Mexico land borders are not coast: Sweetgrass MT, Nogales AZ are far from the sea.
    with open(pt_data("us_places.csv"), encoding="utf-8") as f:
        ids = {(r["name"], r["state"]): r["id"] for r in csv.DictReader(f)}
    assert us[ids[("Nogales", "AZ")]] > 100
    assert us[ids[("Havre", "MT")]] > 500


def pt_data(name: str):
    from matcher.instance import data_dir

    return data_dir() / name


def test_prefecture_popularity_and_affinity_leave_the_pair_out():
    graph = toy_graph(spatial=True)
    # Shiga has four partnerships (the sister state and three Michigan cities) and four municipalities.
    marshall_town = _features(graph, "place:2", "muni:25441")
    assert marshall_town["pref_partners"] == 4 and marshall_town["pref_munis"] == 4
    # Ann Arbor's state partners Shiga: its smoothed Shiga share beats Okinawa's, which only the
    # back-off to Okinawa's share of all partnerships keeps above zero.
    shiga, okinawa = (_features(graph, "place:1", k)["pref_affinity"] for k in ("muni:25441", "muni:47325"))
    assert shiga > 0.5 > okinawa > 0
    # Scored as a training example, Lansing–Otsu does not count itself: Shiga has three others.
    lists = pt.candidate_lists(graph)
    lansing = lists["raw"][(lists["group"] == 1) & (lists["y"] == 1)][0]
    assert lansing[_col("pref_partners")] == 3


def test_designated_cities_and_the_partners_of_nearby_towns():
    graph = toy_graph(spatial=True)
    assert _features(graph, "place:5", "muni:28100")["jp_designated"] == 1  # Kobe, JIS 28100
    assert _features(graph, "place:5", "muni:28201")["jp_designated"] == 0
    # 28201 (20 km from Kobe) has Bellevue; Kobe's own partners (Seattle) are not its neighbours'.
    assert _features(graph, "place:5", "muni:28100")["jp_near_partners"] == 1
    assert _features(graph, "place:5", "muni:28201")["jp_near_partners"] == 1  # Kobe's one partner
    assert _features(graph, "place:5", "muni:28585")["jp_near_partners"] == 0


def test_a_supporting_share_never_subtracts_even_below_every_training_value():
    graph = toy_graph(spatial=True)
    lists = pt.candidate_lists(graph)
    model = pt.PartnershipModel(features=("pref_affinity", "jp_population")).fit(
        lists["raw"], lists["y"], lists["group"], lists["level"])
    raw = lists["raw"].copy()
    raw[:, _col("pref_affinity")] *= 1e-3  # far below anything seen in training
    assert (model.contributions(raw)[:, 0] >= 0).all()
    np.testing.assert_allclose(model.contributions(raw).sum(axis=1) + model.intercepts_[0],
                               model.decision_function(raw))


@pytest.mark.slow
def test_evaluate_can_start_at_another_seed(real_graph):
    out = pt.evaluate(real_graph, seeds=1, seed_start=3)
    assert out["seed_start"] == 3 and len(out["runs"]) == 1
    assert out["runs"][0]["model"] == pt.evaluate_seed(real_graph, 3)["model"]

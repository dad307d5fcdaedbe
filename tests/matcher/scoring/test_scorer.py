"""Scoring on the real reference data with small named alumni, and the array engine on hand-made arrays."""


import numpy as np
import pytest
from sqlalchemy import select

from matcher.models import Alumnus, MunicipalityAlias, Placement, Relationship, Suggestion, USPlace
from matcher.scoring.readback import suggestion_reasons
from matcher.scoring.features import Alumni, Geography, Relationships, alumnus_codes, decode_pair, pair_codes, unit_vectors
from matcher.scoring.scorer import Scorer, TopK, score_codes, top_k_chunk
from matcher.scoring.suggestions import rescore_alumnus, score_all, suggest_relationships, suggest_volunteers

DENVER = dict(home="Denver, CO", home_lat=39.74, home_lon=-104.99, home_state_abbr="CO")
PORTLAND = dict(home="Portland, OR", home_lat=45.52, home_lon=-122.68, home_state_abbr="OR")


def _alum(session, external_id, placements, consent=True, **kw):
    fields = dict(external_id=external_id, name=f"Test {external_id}", email=f"{external_id}@example.org",
                  japanese_level=2, availability_hours=4, max_matches=1, consent=consent, **DENVER)
    fields.update(kw)
    alum = Alumnus(**fields)
    session.add(alum)
    session.flush()
    for place, muni, pref, alias_id, start, end in placements:
        session.add(Placement(alumnus_id=alum.id, place=place, municipality_code=muni, prefecture_code=pref,
                              alias_id=alias_id, role="ALT", start_year=start, end_year=end))
    session.flush()
    return alum


def _relationship(session, city, state):
    return session.scalars(select(Relationship).join(USPlace, Relationship.us_place_id == USPlace.id)
                           .where(USPlace.name == city, USPlace.state_abbr == state)).one()


@pytest.fixture
def named(session):
    """Ishidoriya (merged into Hanamaki 2006-01-01), Takeo, Karatsu (Saga) and a non-consenting alum."""
    ishidoriya = session.scalars(select(MunicipalityAlias).where(MunicipalityAlias.name == "Ishidoriya")).one()
    people = dict(
        ishidoriya=_alum(session, "T-ISHIDORIYA", [("Ishidoriya, Iwate", "03205", "03", ishidoriya.id, 2003, 2005)]),
        iwate=_alum(session, "T-MORIOKA", [("Morioka", "03201", "03", None, 2010, 2011)],
                    home="Rutland, VT", home_lat=43.61, home_lon=-72.97, home_state_abbr="VT"),
        takeo=_alum(session, "T-TAKEO", [("Takeo", "41206", "41", None, 2011, 2013)], **PORTLAND),
        saga=_alum(session, "T-KARATSU", [("Karatsu", "41202", "41", None, 2011, 2013)], **PORTLAND),
        refuses=_alum(session, "T-NO-CONSENT", [("Takeo", "41206", "41", None, 2015, 2018)], consent=False,
                      home="Sebastopol, CA", home_lat=38.40, home_lon=-122.82, home_state_abbr="CA"),
        full=_alum(session, "T-FULL", [("Takeo", "41206", "41", None, 2015, 2018)], max_matches=0, **PORTLAND),
    )
    score_all(session)
    return people


def test_ishidoriya_alum_tops_both_rutland_and_hot_springs_with_the_merger_named(session, named):
    for city, state in (("Rutland", "VT"), ("Hot Springs", "AR")):
        items = suggest_volunteers(session, _relationship(session, city, state).id, top=5)
        assert items[0]["external_id"] == "T-ISHIDORIYA", (city, items)
        placement = next(r for r in items[0]["reasons"] if r["factor"] == "placement")
        assert placement["level"] == "partner"
        assert "placed in Ishidoriya (merged into Hanamaki in 2006)" in placement["sentence"]
    rutland = suggest_volunteers(session, _relationship(session, "Rutland", "VT").id, top=5)
    assert "as named at signing" in rutland[0]["reasons"][0]["sentence"]


def test_saga_alum_ranks_below_takeo_alum_for_sebastopol(session, named):
    items = suggest_volunteers(session, _relationship(session, "Sebastopol", "CA").id, top=10)
    order = [i["external_id"] for i in items]
    assert order.index("T-TAKEO") < order.index("T-KARATSU")
    levels = {i["external_id"]: i["reasons"][0]["level"] for i in items}
    assert levels == {"T-TAKEO": "partner", "T-KARATSU": "same_prefecture"}


def test_non_consenting_and_full_alumni_never_appear(session, named):
    ids = {named["refuses"].id, named["full"].id}
    stored = session.scalars(select(Suggestion.alumnus_id).where(Suggestion.alumnus_id.is_not(None))).all()
    assert stored and not ids & set(stored)
    assert suggest_relationships(session, "T-NO-CONSENT") == []


def test_contributions_sum_to_the_score(session, named):
    stored = session.scalars(select(Suggestion)).all()
    for s, reasons in zip(stored, suggestion_reasons(session, stored)):
        assert sum(c["weight"] for c in reasons) == pytest.approx(s.score, abs=1e-3)


def test_one_alumnus_is_refreshed_after_an_edit(session, named):
    alum = named["saga"]
    alum.home_lat, alum.home_lon, alum.home_state_abbr = 38.40, -122.82, "CA"  # moves to Sebastopol
    session.flush()
    rows = rescore_alumnus(session, alum.id)  # its speed is measured by scripts/bench-freshness, not here
    sebastopol = _relationship(session, "Sebastopol", "CA").id
    mine = next(r for r in rows if r["relationship_id"] == sebastopol)
    assert {"factor": "distance", "level": "within_25km"}.items() <= {**mine["contributions"][1]}.items()


# --- the array engine on hand-made arrays ------------------------------------------------------------


def _tiny():
    """Two prefectures next to each other (Saga 41, Nagasaki 42), one relationship with Takeo (41206)."""
    region = np.zeros(47, np.int16)
    region[40:42] = 7
    neighbours = np.zeros((47, 47), bool)
    neighbours[40, 41] = neighbours[41, 40] = True
    geo = Geography(region, neighbours)
    rels = Relationships(np.array([1]), unit_vectors([38.40], [-122.82]), np.array([4], np.int16),
                         np.array([False]), np.array([41206], np.int32), np.array([40], np.int16))
    homes_lat, homes_lon = [38.40, 38.44, 39.2, 45.5], [-122.82, -122.71, -121.5, -122.68]
    munis = np.array([[41206], [41202], [42201], [13101]], np.int32)
    prefs = np.array([[40], [40], [41], [12]], np.int16)
    codes = alumnus_codes([2] * 4, [1] * 4, [2] * 4, [2020] * 4, [4] * 4, 2026)
    alumni = Alumni(np.arange(4), unit_vectors(homes_lat, homes_lon), np.array([4, 4, 4, 30], np.int16),
                    munis, prefs, codes)
    return geo, alumni, rels


def test_pair_codes_of_hand_made_arrays():
    geo, alumni, rels = _tiny()
    levels = [decode_pair(int(c)) for c in pair_codes(geo, alumni, rels)[:, 0]]
    # Takeo and 0 km; Karatsu (same prefecture) 10 km; Nagasaki (neighbour) ~150 km; Tokyo, another state.
    assert levels == [(0, 0, 2), (1, 0, 2), (2, 3, 2), (4, 5, 2)]


def _full_sort(scorer, codes, combo, k_cols, k_rows):
    """The expected lists by a full sort: {relationship: [alumni]}, {alumnus: [relationships]}, best first."""
    n, m = codes.shape
    rank = scorer.ranks[codes, combo[:, None]].astype(float)
    rank[~scorer.eligible[codes]] = np.inf
    cols = {c: [i for i in np.lexsort((np.arange(n), rank[:, c]))[:k_cols] if np.isfinite(rank[i, c])]
            for c in range(m)}
    rows = {r: [j for j in np.lexsort((np.arange(m), rank[r]))[:k_rows] if np.isfinite(rank[r, j])]
            for r in range(n)}
    return cols, rows


def _lists(by_col, by_row, n, m):
    cols = {c: by_col.rows[by_col.cols == c].tolist() for c in range(m)}
    rows = {r: by_row.cols[by_row.rows == r].tolist() for r in range(n)}
    return cols, rows


@pytest.mark.parametrize("seed, n, m, k_cols, k_rows, settings", [
    (7, 3000, 40, 5, 3, {}),
    (8, 500, 7, 10, 10, {"weights": {"distance": {"within_25km": 4.2}, "availability": {"little": -3.0}}}),
    (9, 2000, 450, 10, 10, {}),
    (10, 50, 3, 4, 2, {}),
    (11, 1, 30, 10, 10, {}),
    (12, 300, 70, 3, 60, {}),  # long alumnus lists: most eligible pairs are listed
    (13, 800, 33, 6, 8, {"min_pair_score": 2.5}),  # few eligible pairs: many rows list fewer than k
])
def test_top_k_is_exact_against_a_full_sort(seed, n, m, k_cols, k_rows, settings):
    rng = np.random.default_rng(seed)
    scorer = Scorer(settings)
    codes = rng.integers(0, 90, (n, m)).astype(np.uint8)
    combo = rng.integers(0, len(scorer.combo_scores), n)
    order = np.lexsort((combo, -scorer.combo_scores[combo])) if seed % 2 else np.arange(n)  # grouped or not
    by_col, by_row = top_k_chunk(score_codes(scorer, codes[order]), m, combo[order], scorer, k_cols, k_rows, order)
    assert isinstance(by_col, TopK) and isinstance(by_row, TopK)
    assert _lists(by_col, by_row, n, m) == _full_sort(scorer, codes, combo, k_cols, k_rows)
    expected = scorer.pair_weights[by_row.codes] + scorer.combo_scores[combo[by_row.rows]]
    assert np.allclose(by_row.scores, expected, atol=1e-5)
    assert np.allclose(by_col.scores, scorer.pair_weights[by_col.codes] + scorer.combo_scores[combo[by_col.rows]],
                       atol=1e-5)


def test_chunks_and_threads_give_the_lists_of_a_full_sort(session, monkeypatch):
    """3,000 synthetic alumni x 40 relationships on real places: one chunk or 16, one thread or three."""
    from matcher.scoring.bench import _geography, synthetic
    from matcher.scoring.scorer import score_pool
    from matcher.synth import Pools

    geo = _geography(session)
    alumni, rels = synthetic(Pools.from_session(session), geo, 3000, 40, seed=5)
    scorer = Scorer({})
    expected = _full_sort(scorer, pair_codes(geo, alumni, rels, scorer.settings), scorer.combos(alumni.codes), 10, 10)
    for threads, chunk_pairs in (("1", 20_000_000), ("3", 40 * 190)):
        monkeypatch.setenv("JETMATCH_THREADS", threads)
        by_col, by_row = score_pool(geo, alumni, rels, scorer, 10, 10, chunk_pairs=chunk_pairs)
        assert _lists(by_col, by_row, 3000, 40) == expected


def test_refreshed_alumnus_enters_the_committee_list_and_ranks_stay_one_to_k(session, named):
    from matcher.scoring.pool import active_model

    k = active_model(session)[1]["top_k"]
    alum = named["saga"]
    alum.home_lat, alum.home_lon, alum.home_state_abbr = 38.40, -122.82, "CA"  # moves to Sebastopol
    session.flush()
    rescore_alumnus(session, alum.id)
    sebastopol = _relationship(session, "Sebastopol", "CA").id
    listed = session.execute(select(Suggestion.alumnus_id, Suggestion.rank, Suggestion.score)
                             .where(Suggestion.kind == "volunteer", Suggestion.relationship_id == sebastopol)
                             .order_by(Suggestion.score.desc(), Suggestion.alumnus_id)).all()
    ranked = [row for row in listed if row.rank > 0]
    assert [row.rank for row in ranked] == list(range(1, min(k, len(listed)) + 1))
    assert alum.id in {row.alumnus_id for row in ranked}
    assert [row.alumnus_id for row in ranked] == [row.alumnus_id for row in listed[:len(ranked)]]


def test_relationship_side_is_cached_until_the_relationships_change(session):
    from matcher.scoring.pool import relationship_side

    first = relationship_side(session)
    assert relationship_side(session) is first
    takeo = session.scalars(select(Relationship).where(Relationship.jp_municipality_code == "41206")).first()
    session.add(Relationship(pair_key="test-new-tie", us_kind="state", us_state_abbr="OR", jp_kind="prefecture",
                             jp_prefecture_code=takeo.jp_prefecture_code, themes="youth exchange"))
    session.flush()
    again = relationship_side(session)
    assert again is not first and len(again.rels) == len(first.rels) + 1


def test_distance_reasons_are_bands_never_kilometres(session, named):
    """Finding 10 of issue 12: "lives in Rutland, VT", never "lives 0 km from Rutland, VT"."""
    import re

    rutland = suggest_volunteers(session, _relationship(session, "Rutland", "VT").id, top=10)
    morioka = next(i for i in rutland if i["external_id"] == "T-MORIOKA")
    assert {"factor": "distance", "level": "within_25km", "sentence": "lives in Rutland, VT"}.items() <= next(
        r for r in morioka["reasons"] if r["factor"] == "distance").items()
    from matcher.scoring.readback import suggestion_reasons

    stored = session.scalars(select(Suggestion)).all()  # every stored row's reasons, as the pages write them
    sentences = [c["sentence"] for reasons in suggestion_reasons(session, stored) for c in reasons
                 if c["factor"] == "distance"]
    assert sentences and not [s for s in sentences if re.search(r"\d+ km (from|away)", s)]

"""The maps' shapes, projections and views: every state and prefecture, one end per
relationship on each side, shading from counts worked out by hand."""

from __future__ import annotations

import csv

import pytest

from matcher.maps import (albers_usa, alumni_by_prefecture, alumni_by_state, load_shapes, overview,
                          partner_surroundings, project, shade_bins)
from matcher.models import Relationship
from matcher.refdata import data_dir


def _rows(name):
    with open(data_dir() / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_state_and_dc_and_every_prefecture_has_a_shape():
    states = {r["abbr"] for r in _rows("us_states.csv")} - {"PR", "VI", "GU", "AS", "MP"}
    assert set(load_shapes("US").paths) == states and len(states) == 51
    assert set(load_shapes("JP").paths) == {r["code"] for r in _rows("prefectures.csv")}
    assert len(load_shapes("JP").paths) == 47


@pytest.mark.parametrize("name, state, lon, lat", [
    ("Hot Springs", "AR", -93.0552, 34.5037), ("Anchorage", "AK", -149.9, 61.22), ("Honolulu", "HI", -157.86, 21.31),
    ("Rutland", "VT", -72.9726, 43.6106), ("Seattle", "WA", -122.33, 47.61)])
def test_a_us_city_lands_inside_its_own_state(name, state, lon, lat):
    x0, y0, x1, y1 = load_shapes("US").boxes[state]
    x, y = albers_usa(lon, lat, state)
    assert x0 <= x <= x1 and y0 <= y <= y1, name


@pytest.mark.parametrize("name, pref, lon, lat", [
    ("Hanamaki", "03", 141.117, 39.388), ("Sapporo", "01", 141.35, 43.067), ("Takeo", "41", 130.02, 33.19),
    ("Naha", "47", 127.68, 26.21), ("Oita", "44", 131.61, 33.24)])
def test_a_municipality_lands_inside_its_prefecture(name, pref, lon, lat):
    shapes = load_shapes("JP")
    x0, y0, x1, y1 = shapes.boxes[pref]
    x, y = project(shapes, lon, lat, pref)
    assert x0 <= x <= x1 and y0 <= y <= y1, name


def test_shade_bins_rise_with_the_largest_count():
    assert shade_bins(0) == []
    assert shade_bins(16) == [2, 4, 8, 16]


def test_counts_by_area_are_the_hand_counted_ones(small_world):
    session, w = small_world
    # placed in Iwate: Ada (Ishidoriya), Dee (Hanamaki), Fay (prefectural post); in Oita: Ben, Cy
    assert alumni_by_prefecture(session) == {"03": 3, "44": 2}
    assert alumni_by_prefecture(session, consenting=True) == {"03": 2, "44": 2}
    assert alumni_by_prefecture(session, chapter_id=w.heartland) == {"03": 1, "44": 1}
    assert alumni_by_state(session) == {"AR": 4}


def test_overview_has_one_end_per_relationship_on_each_side_and_shades_from_counts(small_world):
    session, w = small_world
    data = overview(session)
    us, jp = data["views"]
    assert sorted(e.pair for e in us.ends) == sorted(e.pair for e in jp.ends) == sorted([w.r1, w.r2, w.r3, w.r4])
    assert len(us.areas) == 51 and len(jp.areas) == 47
    iwate = next(a for a in jp.areas if a.key == "03")
    oita = next(a for a in jp.areas if a.key == "44")
    assert (iwate.name, iwate.count, oita.count) == ("Iwate", 3, 2)
    assert iwate.shade > oita.shade > 0
    assert {a.key for a in jp.areas if a.count} == {"03", "44"}
    assert [a.shade for a in us.areas if a.key == "AR"] == [4] and {a.shade for a in us.areas if a.key != "AR"} == {0}
    assert overview(session, status="dormant")["pairs"][0]["id"] == w.r2
    assert [p["id"] for p in overview(session, level="state")["pairs"]] == [w.r3]


def test_the_partner_map_counts_willing_alumni_by_municipality_never_a_person(small_world):
    session, w = small_world
    view = partner_surroundings(session, session.get(Relationship, w.r1))
    # Ada (consenting) lived in Hanamaki; Dee did not consent; Fay had a prefectural post
    assert [(d.count, d.label) for d in view.dots] == [(1, "Hanamaki: 1 willing alumnus")]
    assert [(a.key, a.count) for a in view.areas] == [("03", 2)]
    assert view.marker is not None and view.marker_label == "Hanamaki"


def test_two_partners_of_one_town_get_two_distinct_marks(small_world):
    session, w = small_world
    jp = overview(session)["views"][1]
    hanamaki = [(e.x, e.y) for e in jp.ends if e.pair in (w.r1, w.r2)]
    assert len(set(hanamaki)) == 2


def test_coast_leaves_out_shared_edges_and_given_land_borders():
    import numpy as np

    from matcher.maps.coast import coast_points

    def coast_at(pts, x):
        return bool(np.any((np.abs(pts[:, 0] - x) < 0.1) & (pts[:, 1] > 2) & (pts[:, 1] < 8)))

    # Two squares side by side: the shared edge is a land border between them, not coast.
    paths = {"a": "M0 0L10 0L10 10L0 10Z", "b": "M10 0L20 0L20 10L10 10Z"}
    alone = coast_points(paths)
    assert coast_at(alone, 0) and coast_at(alone, 20) and not coast_at(alone, 10)
    # The far right edge of "b" given as a border with the outside world is not coast either.
    bordered = coast_points(paths, {"b": np.array([[20.0, 0.0], [20.0, 10.0]])})
    assert coast_at(bordered, 0) and not coast_at(bordered, 20)

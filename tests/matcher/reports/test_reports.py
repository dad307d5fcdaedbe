"""Report figures on the small hand-made world (tests/matcher/conftest.py), worked out by hand."""

from __future__ import annotations

import pytest

from matcher.reports import TABLES, build_report, gini, table_csv


@pytest.fixture
def report(small_world):
    session, w = small_world
    return build_report(session, dormant_years=5, now=w.now), w


def test_the_report_has_the_five_sections_and_every_table(report):
    data, _ = report
    assert list(data) == ["coverage", "decisions", "exposure", "dormant", "graph"]
    for section, tables in TABLES.items():
        for table in tables:
            assert isinstance(data[section][table], list), (section, table)


def test_coverage_lists_the_tie_with_no_volunteer_first(report):
    c, w = report[0]["coverage"], report[1]
    # R1: Ada, Ben (78 km) and Cy live within 100 km; Ada is also tied. Dee did not consent.
    # R2: Ada, tied through Ishidoriya. R3: Ben and Cy lived in Oita Prefecture. R4 (Beppu): nobody.
    assert [(r["relationship_id"], r["volunteers"], r["near"], r["tied"]) for r in c["relationships"]] == [
        (w.r4, 0, 0, 0), (w.r2, 1, 0, 1), (w.r3, 2, 0, 2), (w.r1, 3, 3, 1)]
    assert (c["covered"], c["with_none"], c["relationships_total"]) == (1, 1, 4)
    assert [(ch["slug"], ch["relationships"], ch["covered"], ch["share"]) for ch in c["chapters"]] == [
        ("heartland", 1, 1, 1.0), ("northeast", 3, 0, 0.0)]


def test_decisions_per_week_median_time_deciles_and_coordinators(report):
    d = report[0]["decisions"]
    assert d["per_week"] == [{"week": "2026-W02", "requests": 2}, {"week": "2026-W03", "requests": 1}]
    assert d["median_hours_to_decision"] == 24  # 24 h, 48 h, and 12 h (the hold does not count)
    # final scores 3.9 (rejected), 5.0 and 7.6 (approved) fall in deciles 1, 4 and 7
    assert [(r["decile"], r["approval_rate"]) for r in d["by_decile"]] == [(1, 0.0), (4, 1.0), (7, 1.0)]
    assert d["per_coordinator"] == [
        {"coordinator": "coord1", "decisions": 3, "approved": 2, "rejected": 0, "on_hold": 1},
        {"coordinator": "coord2", "decisions": 1, "approved": 0, "rejected": 1, "on_hold": 0}]


def test_exposure_concentration_and_who_is_never_suggested_and_why(report):
    e = report[0]["exposure"]
    # top-10 slots: Ada 2 (R1, R2), Ben 2 (R1, R3), Cy 2 (R1, R3), Eve 0, Fay 0; Dee did not consent
    assert (e["consenting_alumni"], e["slots"], e["top_decile_alumni"]) == (5, 6, 1)
    assert e["top_decile_share"] == pytest.approx(2 / 6, abs=1e-3)
    assert e["gini"] == pytest.approx(0.4)
    assert e["never_suggested"] == [{"alumnus": "Eve N.", "reason": "no placement recorded"},
                                    {"alumnus": "Fay F.", "reason": "capacity set to 0"}]
    assert "Dee" not in str(e) and "Withheld" not in str(e)


def test_dormant_lists_marked_then_quiet_ties_with_who_could_revive_them(report):
    r, w = report[0]["dormant"], report[1]
    # R2 is marked dormant; R3 (signed 1990) has had no request in 5 years; R1 had requests in
    # 2026 and R4 was signed in 2024.
    assert [(x["relationship_id"], x["status"], x["could_revive"]) for x in r["relationships"]] == [
        (w.r2, "dormant", 1), (w.r3, "unknown", 2)]
    assert r["relationships"][0]["alumni"] == "Ada Q. (lived in the partner)"
    assert r["relationships"][1]["alumni"] == "Ben O. (lived in the partner); Cy M. (lived in the partner)"


def test_graph_section_components_bridges_and_states_without_a_tie(report):
    g = report[0]["graph"]
    # the tie network: Arkansas – Iwate – Vermont, and Maryland – Oita (two relationships)
    assert (g["components"], g["component_sizes"]) == (2, [3, 2])
    assert g["bridges"] == [{"kind": "prefecture", "key": "03", "name": "Iwate", "betweenness": 0.1667, "ties": 2}]
    assert g["states_without_tie"] == ["Wyoming"]


def test_gini_and_csv_of_a_table():
    assert gini([0, 0, 0, 0]) == 0.0
    assert gini([5, 5]) == 0.0
    assert table_csv([{"a": 1, "b": "x,y"}]) == 'a,b\n1,"x,y"\n'
    assert table_csv([]) == ""

"""Report figures on the small hand-made world (tests/matcher/conftest.py), worked out by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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


def test_top_slots_read_the_stored_lists_and_every_row_when_a_list_is_short(small_world):
    from sqlalchemy import update

    from matcher.models import Suggestion
    from matcher.reports.exposure import _top_slots

    session, w = small_world
    # R1's stored list (rank 1..3) is Dee 9.0, Ada 7.6, Cy 5.0; Ben (3.9) is only in his own list.
    for alum, rank in ((w.dee, 1), (w.ada, 2), (w.cy, 3)):
        session.execute(update(Suggestion).where(Suggestion.alumnus_id == alum, Suggestion.relationship_id == w.r1)
                        .values(rank=rank))
    # Top 2 of R1 among consenting alumni: Dee withheld consent, so Ada and Cy, read from the list.
    assert _top_slots(session, 2)[w.ben] == 1  # R3 has no stored list: all its rows are read (Ben 3.0)
    assert _top_slots(session, 2)[w.cy] == 2  # R1 from its list, R3 from its rows
    # Top 3 of R1: the list holds only two consenting alumni, so R1's other rows are read too: Ben.
    assert _top_slots(session, 3)[w.ben] == 2


def test_graph_size_counts_the_alumni_the_summary_graph_leaves_out(small_world):
    from matcher.graph import alumni_size, build_graph

    session, _ = small_world
    whole, bare = build_graph(session), build_graph(session, [])
    nodes, edges = alumni_size(session)
    assert (bare.number_of_nodes() + nodes, bare.number_of_edges() + edges) == (
        whole.number_of_nodes(), whole.number_of_edges())
    assert nodes == 5  # Ada, Ben, Cy, Eve, Fay: Dee did not consent


def test_a_cached_report_is_computed_again_when_a_decision_or_an_alum_changes(small_world):
    from matcher.models import Alumnus, Decision, MatchRequest
    from matcher.reports import cached_report

    session, w = small_world
    first = cached_report(session)
    assert cached_report(session) is first  # nothing changed: the same report
    request = session.scalars(select(MatchRequest).where(MatchRequest.alumnus_id == w.ben)).one()
    session.add(Decision(request_id=request.id, sequence=2, status="approved", decided_by="coord1",
                         decided_at=w.now))
    session.flush()
    request.status, request.decision_count = "approved", 2
    session.flush()
    second = cached_report(session)
    assert second is not first
    assert [r["approved"] for r in second["decisions"]["per_coordinator"]] == [3, 0]
    session.get(Alumnus, w.ada).consent = False  # Ada withdraws: she leaves every table at once
    session.flush()
    third = cached_report(session)
    assert third["exposure"]["consenting_alumni"] == 4 and "Ada" not in str(third["dormant"])


def test_build_report_with_a_limit_cuts_long_tables_and_keeps_their_length(small_world):
    session, w = small_world
    data = build_report(session, dormant_years=5, now=w.now, limit=1)
    assert len(data["coverage"]["relationships"]) == 1 and data["coverage"]["relationships_total"] == 4
    e = data["exposure"]
    assert len(e["never_suggested"]) == 1 and e["never_suggested_total"] == e["never_suggested_count"] == 2
    assert e["reasons"] == [{"reason": "no placement recorded", "alumni": 1}]  # cut to one row; counts all

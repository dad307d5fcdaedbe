"""The place graph explains a tie through a merger, in words."""

from sqlalchemy import select

from matcher.graph import build_graph, explanation_path, placement_ties
from matcher.models import Alumnus, MunicipalityAlias, Placement, Relationship, USPlace


def test_ishidoriya_alum_is_tied_to_hot_springs_through_hanamaki(session):
    ishidoriya = session.scalars(select(MunicipalityAlias).where(MunicipalityAlias.name == "Ishidoriya")).one()
    alum = Alumnus(external_id="G-ISHIDORIYA", name="Test Ishidoriya", email="g@example.org", japanese_level=2,
                   availability_hours=4, max_matches=1, consent=True, home="Denver, CO", home_lat=39.74,
                   home_lon=-104.99, home_state_abbr="CO")
    session.add(alum)
    session.flush()
    session.add(Placement(alumnus_id=alum.id, place="Ishidoriya, Iwate", municipality_code="03205",
                          prefecture_code="03", alias_id=ishidoriya.id, role="ALT", start_year=2003, end_year=2005))
    session.flush()
    rel = session.scalars(select(Relationship).join(USPlace, Relationship.us_place_id == USPlace.id)
                          .where(USPlace.name == "Hot Springs", USPlace.state_abbr == "AR")).one()
    G = build_graph(session, alumnus_ids=[alum.id])
    assert ("alum", alum.id) in placement_ties(G, ("rel", rel.id))
    steps = explanation_path(G, ("alum", alum.id), ("rel", rel.id))
    assert steps == ["placed in Ishidoriya (2003–2005)", f"merged into Hanamaki ({ishidoriya.merged_on.year})",
                     "sister city of Hot Springs, AR"]


def test_graph_from_the_small_world_ties_a_merged_town_and_skips_the_unwilling(small_world):
    from matcher.graph import build_graph, explanation_path, placement_ties

    session, w = small_world
    G = build_graph(session)
    assert placement_ties(G, ("rel", w.r2)) == [("alum", w.ada)]
    assert ("alum", w.dee) not in G  # no consent, not in the graph at all
    assert explanation_path(G, ("alum", w.ben), ("rel", w.r3)) == [
        "placed in Ōita (2003–2005)", "in Oita Prefecture", "sister state of Maryland"]
    assert explanation_path(G, ("alum", w.ben), ("rel", w.r1)) == []


def test_graphml_export_reads_back_with_the_nodes_and_edges_and_no_personal_data(small_world, tmp_path):
    import networkx as nx

    from matcher.graph import build_graph, export_graph

    session, w = small_world
    G = build_graph(session)
    written = export_graph(G, tmp_path / "g.graphml", "graphml")
    H = nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True)
    assert (H.number_of_nodes(), H.number_of_edges()) == (G.number_of_nodes(), G.number_of_edges())
    assert written["nodes"] == H.number_of_nodes()
    assert {"muni:03205", "alias:%d" % w.ishidoriya, "pref:44", "state:WY", "rel:%d" % w.r1, "us:1"} <= set(H)
    assert sorted(n for n in H if n.startswith("alum:")) == ["alum:1", "alum:2", "alum:3", "alum:4", "alum:5"]
    assert H.has_edge("alias:%d" % w.ishidoriya, "muni:03205")
    text = (tmp_path / "g.graphml").read_text()
    for secret in ("Quillon", "Ada", "example.org", "W-ADA", "Hot Springs, AR\" home", "home_lat"):
        assert secret not in text
    assert all(set(H.nodes[n]) == {"kind"} for n in H if n.startswith("alum:"))
    for fmt in ("gexf", "json"):
        assert export_graph(G, tmp_path / f"g.{fmt}", fmt)["edges"] == G.number_of_edges()
    assert nx.read_gexf(tmp_path / "g.gexf").number_of_nodes() == G.number_of_nodes()


def test_the_cached_graph_is_rebuilt_only_when_the_data_changes(small_world):
    from matcher.graph import cached_graph
    from matcher.models import Alumnus

    session, w = small_world
    first = cached_graph(session, check_every=0)
    assert cached_graph(session, check_every=0) is first
    session.add(Alumnus(external_id="W-NEW", name="New Person", email="n@example.org", consent=True))
    session.commit()
    assert cached_graph(session, check_every=60) is first  # not checked again so soon
    again = cached_graph(session, check_every=0)
    assert again is not first and again.number_of_nodes() == first.number_of_nodes() + 1

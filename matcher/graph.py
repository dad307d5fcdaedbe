"""The place graph: US places and states, JP municipalities (and merged predecessors) and
prefectures, relationships, chapters and alumni, as a networkx ``MultiDiGraph``.

Nodes are tuples ``(kind, key)``: ``("muni", "03205")``, ``("alias", 17)``, ``("pref", "03")``,
``("us", 4115412)``, ``("state", "AR")``, ``("rel", 13)``, ``("chapter", 2)``, ``("alum", 5)``.
Edges carry ``kind``: located_in, merged_into, sister, placed_in, lives_in, member_of, covers.
Scoring never walks the graph (it works on arrays); the graph explains and aggregates.
"""

from __future__ import annotations

import networkx as nx

__all__ = ["build_graph", "placement_ties", "explanation_path", "chapter_ties"]


def build_graph(session, alumnus_ids: list[int] | None = None) -> nx.MultiDiGraph:
    """Return the graph of every relationship, chapter and (consenting) alumnus in the database."""
    from sqlalchemy import select

    from matcher import models as m

    G = nx.MultiDiGraph()
    for p in session.scalars(select(m.Prefecture)):
        G.add_node(("pref", p.code), name=p.name, region=p.region)
    for mu in session.scalars(select(m.Municipality)):
        G.add_edge(("muni", mu.code), ("pref", mu.prefecture_code), kind="located_in")
        G.nodes[("muni", mu.code)]["name"] = mu.name_romaji
    for al in session.scalars(select(m.MunicipalityAlias)):
        G.add_node(("alias", al.id), name=al.name, year=al.merged_on.year if al.merged_on else None)
        G.add_edge(("alias", al.id), ("muni", al.municipality_code), kind="merged_into")
    for r in session.scalars(select(m.Relationship)):
        us = ("state", r.us_state_abbr) if r.us_kind == "state" else ("us", r.us_place_id)
        jp = ("muni", r.jp_municipality_code) if r.jp_kind == "municipality" else ("pref", r.jp_prefecture_code)
        G.add_node(("rel", r.id), name=r.label, status=r.status, at_signing=r.jp_name_at_signing)
        G.add_node(us, name=r.us_label)
        G.add_edge(("rel", r.id), us, kind="sister")
        G.add_edge(("rel", r.id), jp, kind="sister")
        if us[0] == "us":
            G.add_edge(us, ("state", r.us_state_abbr), kind="located_in")
    for ch in session.scalars(select(m.Chapter)):
        for st in ch.state_list:
            G.add_edge(("chapter", ch.id), ("state", st), kind="covers")
    q = select(m.Alumnus).where(m.Alumnus.consent.is_(True))
    if alumnus_ids is not None:
        q = q.where(m.Alumnus.id.in_(alumnus_ids))
    for a in session.scalars(q):
        node = ("alum", a.id)
        G.add_node(node, name=a.display_name, external_id=a.external_id)
        if a.home_place_id or a.home_state_abbr:
            G.add_edge(node, ("us", a.home_place_id) if a.home_place_id else ("state", a.home_state_abbr),
                       kind="lives_in", home=a.home)
        if a.chapter_id:
            G.add_edge(node, ("chapter", a.chapter_id), kind="member_of")
        for p in a.placements:
            target = (("alias", p.alias_id) if p.alias_id else ("muni", p.municipality_code) if p.municipality_code
                      else ("pref", p.prefecture_code))
            G.add_edge(node, target, kind="placed_in", start=p.start_year, end=p.end_year, role=p.role)
    return G


def _partner(G: nx.MultiDiGraph, rel) -> tuple:
    return next(v for _, v, d in G.out_edges(rel, data=True) if d["kind"] == "sister" and v[0] in ("muni", "pref"))


def placement_ties(G: nx.MultiDiGraph, rel) -> list:
    """Return the alumni placed in a relationship's partner (or a town merged into it, or anywhere
    in a partner prefecture), sorted.

    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge(("rel", 1), ("muni", "03205"), kind="sister")
    >>> _ = G.add_edge(("alias", 9), ("muni", "03205"), kind="merged_into")
    >>> _ = G.add_edge(("alum", 5), ("alias", 9), kind="placed_in", start=2003, end=2005, role="ALT")
    >>> placement_ties(G, ("rel", 1))
    [('alum', 5)]
    """
    partner = _partner(G, rel)
    places = {partner} | {u for u, _, d in G.in_edges(partner, data=True) if d["kind"] in ("merged_into", "located_in")}
    places |= {u for p in list(places) if p[0] == "muni" for u, _, d in G.in_edges(p, data=True)
               if d["kind"] == "merged_into"}
    return sorted({u for p in places for u, _, d in G.in_edges(p, data=True) if d["kind"] == "placed_in"})


def explanation_path(G: nx.MultiDiGraph, alum, rel) -> list[str]:
    """Return the steps from an alumnus to a relationship's US side, as phrases.

    e.g. ["you", "placed in Ishidoriya 2003–2005", "merged into Hanamaki 2006", "sister city of Hot Springs, AR"]
    """
    partner = _partner(G, rel)
    us = next(v for _, v, d in G.out_edges(rel, data=True) if d["kind"] == "sister" and v[0] in ("us", "state"))
    steps = ["you"]
    for _, place, d in G.out_edges(alum, data=True):
        if d["kind"] != "placed_in":
            continue
        chain = [place] + [v for _, v, e in G.out_edges(place, data=True) if e["kind"] in ("merged_into", "located_in")]
        if partner in chain or (partner[0] == "pref" and any(
                v == partner for c in chain for _, v, e in G.out_edges(c, data=True) if e["kind"] == "located_in")):
            steps.append(f"placed in {G.nodes[place].get('name', place[1])} {d['start']}–{d['end']}")
            if place[0] == "alias":
                steps.append(f"merged into {G.nodes[chain[1]].get('name')} {G.nodes[place].get('year')}")
            break
    steps.append(f"sister city of {G.nodes[us].get('name', us[1])}")
    return steps


def chapter_ties(G: nx.MultiDiGraph, chapter, rel) -> int:
    """Return how many of a chapter's members are tied to a relationship's partner by placement."""
    members = {u for u, _, d in G.in_edges(chapter, data=True) if d["kind"] == "member_of"}
    return len(members & set(placement_ties(G, rel)))

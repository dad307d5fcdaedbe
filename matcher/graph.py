"""The place graph: US places and states, JP municipalities (and merged predecessors) and
prefectures, relationships, chapters and alumni, as a networkx ``MultiDiGraph``.

Nodes are tuples ``(kind, key)``: ``("muni", "03205")``, ``("alias", 17)``, ``("pref", "03")``,
``("us", 4115412)``, ``("state", "AR")``, ``("rel", 13)``, ``("chapter", 2)``, ``("alum", 5)``.
Edges carry ``kind``: located_in, merged_into, sister, placed_in, member_of, covers.
Alumni are anonymous nodes: no name, no contact, no home (only consenting alumni are in it).
Scoring never walks the graph (it works on arrays); the graph explains, aggregates and exports:

- :func:`explanation_path`: "placed in Ishidoriya → merged into Hanamaki (2006) → sister city of
  Hot Springs, AR", the shortest path through places only;
- :func:`tie_network`, :func:`graph_summary`: components, bridges by betweenness, states with no tie;
- :func:`export_graph`: GraphML, GEXF or node-link JSON, string node ids, alumni renumbered.

:func:`cached_graph` keeps one graph per database while its data fingerprint holds.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import networkx as nx
from sqlalchemy import func, select

from matcher import models as m
from matcher.partnerships import data_fingerprint

__all__ = ["build_graph", "cached_graph", "placement_ties", "explanation_path", "chapter_ties", "tie_network",
           "graph_summary", "export_graph", "EXPORT_FORMATS", "fingerprint"]

EXPORT_FORMATS = ("graphml", "gexf", "json")


def build_graph(session, alumnus_ids: list[int] | None = None) -> nx.MultiDiGraph:
    """Return the graph of every place, relationship, chapter and consenting alumnus.

    Read as plain column tuples and added in bulk (no ORM objects): 40,000 alumni take about
    a second (see the README). ``alumnus_ids`` limits the alumni (the rest of the graph is whole).

    Parameters
    ----------
    session : Session
        Read only.
    alumnus_ids : list of int, optional
        Only these alumni (default: every consenting one).

    Returns
    -------
    networkx.MultiDiGraph
        Nodes ``(kind, id)`` for places, relationships, chapters and alumni; edges with a ``kind``
        (sister, located_in, merged_into, placed_in, member_of ...).
    """
    G = nx.MultiDiGraph()
    ex = session.execute
    G.add_nodes_from((("pref", c), {"kind": "prefecture", "name": n, "region": r})
                     for c, n, r in ex(select(m.Prefecture.code, m.Prefecture.name, m.Prefecture.region)))
    G.add_nodes_from((("state", a), {"kind": "state", "name": n}) for a, n in ex(select(m.USState.abbr, m.USState.name)))
    munis = ex(select(m.Municipality.code, m.Municipality.prefecture_code, m.Municipality.name_romaji)).all()
    G.add_nodes_from((("muni", c), {"kind": "municipality", "name": n}) for c, _, n in munis)
    G.add_edges_from(((("muni", c), ("pref", p), {"kind": "located_in"}) for c, p, _ in munis))
    aliases = ex(select(m.MunicipalityAlias.id, m.MunicipalityAlias.municipality_code, m.MunicipalityAlias.name,
                        m.MunicipalityAlias.merged_on)).all()
    G.add_nodes_from((("alias", i), {"kind": "former municipality", "name": n, **({"year": d.year} if d else {})})
                     for i, _, n, d in aliases)
    G.add_edges_from(((("alias", i), ("muni", c), {"kind": "merged_into"}) for i, c, _, _ in aliases))
    _add_relationships(G, ex)
    for cid, slug, name, states in ex(select(m.Chapter.id, m.Chapter.slug, m.Chapter.name, m.Chapter.states)):
        G.add_node(("chapter", cid), kind="chapter", name=name, slug=slug)
        # a chapter may name a state the table lacks: no edge to a node that is not a state
        G.add_edges_from((("chapter", cid), ("state", s), {"kind": "covers"}) for s in states.split(";")
                         if ("state", s) in G)
    _add_alumni(G, ex, alumnus_ids)
    return G


def _add_relationships(G: nx.MultiDiGraph, ex) -> None:
    R = m.Relationship
    rows = ex(select(R.id, R.us_kind, R.us_place_id, R.us_state_abbr, R.jp_kind, R.jp_municipality_code,
                     R.jp_prefecture_code, R.status, R.jp_name_at_signing, R.signed_year, m.USPlace.name)
              .outerjoin(m.USPlace, R.us_place_id == m.USPlace.id))
    for rid, us_kind, place, state, jp_kind, muni, pref, status, at_signing, year, place_name in rows:
        us = ("state", state) if us_kind == "state" else ("us", place)
        jp = ("muni", muni) if jp_kind == "municipality" else ("pref", pref)
        if us[0] == "us":
            G.add_node(us, kind="US place", name=f"{place_name}, {state}")
            G.add_edge(us, ("state", state), kind="located_in")
        G.add_node(("rel", rid), kind="relationship", status=status,
                   **({"at_signing": at_signing} if at_signing else {}), **({"signed": year} if year else {}))
        G.add_edge(("rel", rid), us, kind="sister")
        G.add_edge(("rel", rid), jp, kind="sister")


def _add_alumni(G: nx.MultiDiGraph, ex, alumnus_ids) -> None:
    who = select(m.Alumnus.id, m.Alumnus.chapter_id).where(m.Alumnus.consent.is_(True))
    if alumnus_ids is not None:
        who = who.where(m.Alumnus.id.in_(alumnus_ids))
    alumni = ex(who).all()
    G.add_nodes_from((("alum", a), {"kind": "alumnus"}) for a, _ in alumni)
    G.add_edges_from((("alum", a), ("chapter", c), {"kind": "member_of"}) for a, c in alumni if c)
    P = m.Placement
    placed = select(P.alumnus_id, P.alias_id, P.municipality_code, P.prefecture_code, P.start_year, P.end_year, P.role)
    placed = placed.where(P.alumnus_id.in_(who.with_only_columns(m.Alumnus.id).scalar_subquery()))
    G.add_edges_from((("alum", a), ("alias", al) if al else ("muni", mu) if mu else ("pref", pr),
                      {"kind": "placed_in", "start": s, "end": e, "role": r})
                     for a, al, mu, pr, s, e, r in ex(placed))


def alumni_size(session) -> tuple[int, int]:
    """Return the (nodes, edges) :func:`build_graph` adds for the consenting alumni, by counting.

    A graph built without alumni (``cached_graph(..., alumni=False)``) plus these is the
    whole graph's size, without building the 40,000 alumni nodes.
    """
    A, P = m.Alumnus, m.Placement
    consenting = A.consent.is_(True)
    nodes, members = session.execute(select(func.count(), func.count(A.chapter_id)).where(consenting)).one()
    placed = session.scalar(select(func.count()).select_from(P).join(A, P.alumnus_id == A.id).where(consenting))
    return nodes, members + placed


# --- the cache -------------------------------------------------------------------------------

_cache: dict[tuple[str, bool], tuple[tuple, nx.MultiDiGraph, float]] = {}  # (url, alumni) → (fingerprint, graph, checked at)
_lock = threading.Lock()


def fingerprint(session) -> tuple:
    """Return what the graph depends on: the partnerships' data fingerprint, chapters, aliases and the change stamp.

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    tuple
        Comparable with ``==``: the graph is rebuilt when it changes.
    """
    extra = (select(func.count(), func.max(m.Chapter.id), func.max(m.Chapter.states)).select_from(m.Chapter),
             select(func.count(), func.max(m.MunicipalityAlias.id)).select_from(m.MunicipalityAlias),
             # raised by the database on any change to the graph's tables, a placement corrected in place too
             m.CHANGE_STAMP)
    return data_fingerprint(session) + tuple(tuple(session.execute(q).one()) for q in extra)


def cached_graph(session, check_every: float = 5.0, alumni: bool = True) -> nx.MultiDiGraph:
    """Return the graph for this session's database, rebuilt only when :func:`fingerprint` changed.

    The fingerprint (a few COUNT/MAX queries, ~10 ms at 40,000 alumni) is checked at most once
    every ``check_every`` seconds, so a page that asks for the graph does not pay it each time.
    Treat the graph as read-only: it is shared between requests.

    Parameters
    ----------
    session : Session
        Read only.
    check_every : float, optional
        Seconds between fingerprint checks.
    alumni : bool, optional
        Whether the graph holds the alumni; without them (places, relationships and chapters:
        what :func:`graph_summary` reads) it builds in a fraction of the time at 40,000 alumni.

    Returns
    -------
    networkx.MultiDiGraph
        The graph of :func:`build_graph`, shared.
    """
    key = (str(session.get_bind().engine.url), alumni)
    with _lock:
        held = _cache.get(key)
    if held is not None and time.monotonic() - held[2] < check_every:
        return held[1]
    mark = fingerprint(session)
    if held is not None and held[0] == mark:
        with _lock:
            _cache[key] = (mark, held[1], time.monotonic())
        return held[1]
    G = build_graph(session, None if alumni else [])
    with _lock:
        _cache[key] = (mark, G, time.monotonic())
    return G


# --- questions about ties --------------------------------------------------------------------

def _partner(G: nx.MultiDiGraph, rel) -> tuple:
    return next(v for _, v, d in G.out_edges(rel, data=True) if d["kind"] == "sister" and v[0] in ("muni", "pref"))


def _us_side(G: nx.MultiDiGraph, rel) -> tuple:
    return next(v for _, v, d in G.out_edges(rel, data=True) if d["kind"] == "sister" and v[0] in ("us", "state"))


def placement_ties(G: nx.MultiDiGraph, rel) -> list:
    """Return the alumni placed in a relationship's partner, sorted.

    A placement counts in the partner, in a town merged into it, or anywhere in a partner
    prefecture.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph of :func:`build_graph`.
    rel : tuple
        The relationship's node, ``("rel", id)``.

    Returns
    -------
    list of tuple
        The alumni's nodes, sorted.

    Examples
    --------
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
    """Return the steps from an alumnus's placement to a relationship's US side, as phrases.

    The shortest path through places only (placement → merged into → prefecture → partner),
    never through another person or relationship; empty when the alum has no placement tie.
    It walks up from each placement (a few edges each) instead of searching the whole graph,
    whose busy municipalities have thousands of placements hanging off them.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph of :func:`build_graph`.
    alum : tuple
        The alumnus's node, ``("alum", id)``.
    rel : tuple
        The relationship's node, ``("rel", id)``.

    Returns
    -------
    list of str
        One phrase per step.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> G.add_node(("alias", 9), name="Ishidoriya", year=2006)
    >>> G.add_node(("muni", "03205"), name="Hanamaki")
    >>> G.add_node(("us", 1), name="Hot Springs, AR")
    >>> _ = G.add_edge(("alias", 9), ("muni", "03205"), kind="merged_into")
    >>> _ = G.add_edge(("alum", 5), ("alias", 9), kind="placed_in", start=2003, end=2005, role="ALT")
    >>> _ = G.add_edge(("rel", 1), ("muni", "03205"), kind="sister")
    >>> _ = G.add_edge(("rel", 1), ("us", 1), kind="sister")
    >>> " → ".join(explanation_path(G, ("alum", 5), ("rel", 1)))
    'placed in Ishidoriya (2003–2005) → merged into Hanamaki (2006) → sister city of Hot Springs, AR'
    """
    if alum not in G or rel not in G:
        return []
    partner = _partner(G, rel)
    partner_pref = _up(G, partner, "located_in") if partner[0] == "muni" else partner
    best: list | None = None
    placed = None
    for _, place, d in G.out_edges(alum, data=True):
        if d["kind"] != "placed_in":
            continue
        nodes = [alum, place]
        while nodes[-1] != partner and nodes[-1][0] != "pref":
            step = _up(G, nodes[-1], "merged_into" if nodes[-1][0] == "alias" else "located_in")
            if step is None:
                break
            nodes.append(step)
        if nodes[-1] != partner:
            if nodes[-1] != partner_pref or partner_pref is None:
                continue
            nodes.append(partner)  # the partner is a town in the prefecture the alum lived in
        if best is None or len(nodes) < len(best):
            best, placed = nodes, d
    if best is None:
        return []
    first = f"placed in {_name(G, best[1])} ({placed['start']}–{placed['end']})"
    return [first] + [_phrase(G, u, v) for u, v in zip(best[1:], best[2:])] + [_sister_phrase(G, rel)]


def _up(G: nx.MultiDiGraph, node, kind: str):
    return next((v for _, v, d in G.out_edges(node, data=True) if d["kind"] == kind), None)


def _name(G, node) -> str:
    return str(G.nodes[node].get("name", node[1]))


def _phrase(G: nx.MultiDiGraph, u, v) -> str:
    """One upward step of a path: merged into a town, in a prefecture, or (down again) its town."""
    if u[0] == "alias":
        return f"merged into {_name(G, v)} ({G.nodes[u].get('year')})"
    if u[0] == "pref":
        return f"home of {_name(G, v)}"
    return f"in {_name(G, v)} Prefecture"


def _sister_phrase(G: nx.MultiDiGraph, rel) -> str:
    us = _us_side(G, rel)
    word = "sister state of" if us[0] == "state" or _partner(G, rel)[0] == "pref" else "sister city of"
    return f"{word} {_name(G, us)}"


def chapter_ties(G: nx.MultiDiGraph, chapter, rel) -> int:
    """Return how many of a chapter's members are tied to a relationship's partner by placement.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph of :func:`build_graph`.
    chapter : tuple
        The chapter's node, ``("chapter", id)``.
    rel : tuple
        The relationship's node, ``("rel", id)``.

    Returns
    -------
    int
        The number of members.
    """
    members = {u for u, _, d in G.in_edges(chapter, data=True) if d["kind"] == "member_of"}
    return len(members & set(placement_ties(G, rel)))


# --- the tie network and its summary ---------------------------------------------------------

def _state_of(G, node) -> tuple:
    return node if node[0] == "state" else next(v for _, v, d in G.out_edges(node, data=True) if d["kind"] == "located_in")


def _pref_of(G, node) -> tuple:
    return node if node[0] == "pref" else next(v for _, v, d in G.out_edges(node, data=True) if d["kind"] == "located_in")


def tie_network(G: nx.MultiDiGraph, statuses: tuple[str, ...] | None = None) -> nx.Graph:
    """Project the relationships onto states and prefectures, one weighted edge per pair.

    ``weight`` is how many relationships join the state and the prefecture.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph of :func:`build_graph`.
    statuses : tuple of str, optional
        Only relationships with these statuses (default: all).

    Returns
    -------
    networkx.Graph
        State and prefecture nodes; ``weight`` on each edge.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> for rid, muni in ((1, "03205"), (2, "03201")):
    ...     _ = G.add_edge(("rel", rid), ("us", rid), kind="sister")
    ...     _ = G.add_edge(("rel", rid), ("muni", muni), kind="sister")
    ...     _ = G.add_edge(("us", rid), ("state", "AR"), kind="located_in")
    ...     _ = G.add_edge(("muni", muni), ("pref", "03"), kind="located_in")
    >>> T = tie_network(G)
    >>> T[("state", "AR")][("pref", "03")]["weight"]
    2
    """
    T = nx.Graph()
    T.add_nodes_from(n for n in G if n[0] in ("state", "pref"))
    for rel in (n for n in G if n[0] == "rel"):
        if statuses and G.nodes[rel].get("status") not in statuses:
            continue
        state, pref = _state_of(G, _us_side(G, rel)), _pref_of(G, _partner(G, rel))
        weight = T.edges[state, pref]["weight"] + 1 if T.has_edge(state, pref) else 1
        T.add_edge(state, pref, weight=weight)
    return T


def graph_summary(G: nx.MultiDiGraph, top: int = 5) -> dict:
    """Summarise the tie network: components, the places that bridge most ties, untied states.

    Bridging is betweenness centrality over the states and prefectures.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph of :func:`build_graph`.
    top : int, optional
        How many bridging states and prefectures are listed.

    Returns
    -------
    dict
        ``components``, ``largest_component``, ``bridges`` (name and betweenness) and
        ``states_without_tie``, among others.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> G.add_node(("state", "VT"), name="Vermont")
    >>> for rid, st in ((1, "AR"), (2, "OK")):
    ...     G.add_node(("state", st), name=st)
    ...     _ = G.add_edge(("rel", rid), ("state", st), kind="sister")
    ...     _ = G.add_edge(("rel", rid), ("pref", "03"), kind="sister")
    >>> G.nodes[("pref", "03")]["name"] = "Iwate"
    >>> s = graph_summary(G)
    >>> s["components"], s["largest_component"], s["bridges"][0]["name"], s["states_without_tie"]
    (1, 3, 'Iwate', ['Vermont'])
    """
    held = G.graph.get("_summary")
    if held is not None and held[0] == top:  # a cached graph is read-only: its summary holds
        return held[1]
    T = tie_network(G)
    tied = T.subgraph(n for n in T if T.degree(n))
    components = sorted(nx.connected_components(tied), key=len, reverse=True)
    between = nx.betweenness_centrality(tied) if len(tied) > 2 else {}
    bridges = sorted(((v, n) for n, v in between.items() if v > 0), key=lambda x: (-x[0], x[1]))[:top * 2]
    summary = {
        "nodes": G.number_of_nodes(), "edges": G.number_of_edges(),
        "relationships": sum(1 for n in G if n[0] == "rel"),
        "components": len(components), "largest_component": len(components[0]) if components else 0,
        "component_sizes": [len(c) for c in components[:10]],
        "bridges": [{"kind": "state" if n[0] == "state" else "prefecture", "key": n[1], "name": _name(G, n),
                     "betweenness": round(v, 4), "ties": tied.degree(n, weight="weight")} for v, n in bridges],
        "states_without_tie": sorted(_name(G, n) for n in T if n[0] == "state" and not T.degree(n)),
        "prefectures_without_tie": sorted(_name(G, n) for n in T if n[0] == "pref" and not T.degree(n)),
    }
    G.graph["_summary"] = (top, summary)
    return summary


# --- export ----------------------------------------------------------------------------------

def _public(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy with string node ids ("muni:03205"), alumni renumbered "alum:1"… and only plain,
    non-personal attributes (the graph holds none, but the copy makes sure)."""
    alumni = {n: f"alum:{i}" for i, n in enumerate(sorted(n for n in G if n[0] == "alum"), 1)}
    names = {n: alumni.get(n, f"{n[0]}:{n[1]}") for n in G}
    H = nx.MultiDiGraph()
    for n, data in G.nodes(data=True):
        keep = {"kind": data.get("kind", n[0])} if n[0] == "alum" else {
            k: v for k, v in data.items() if isinstance(v, (str, int, float)) and k not in ("email", "home")}
        H.add_node(names[n], **keep)
    for u, v, data in G.edges(data=True):
        H.add_edge(names[u], names[v], **{k: w for k, w in data.items() if isinstance(w, (str, int, float))})
    return H


def export_graph(G: nx.MultiDiGraph, path: str | Path, fmt: str = "graphml") -> dict:
    """Write the graph for Gephi or other tools: ``graphml``, ``gexf`` or node-link ``json``.

    Returns the counts written. Alumni are anonymous ("alum:1"), with their placements and
    chapters only: no names, no e-mail, no homes.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph of :func:`build_graph`.
    path : str or Path
        The file written.
    fmt : str, optional
        "graphml", "gexf" or "json".

    Returns
    -------
    dict
        The counts written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    H = _public(G)
    if fmt == "graphml":
        nx.write_graphml(H, str(path))
    elif fmt == "gexf":
        nx.write_gexf(H, str(path))
    else:
        Path(path).write_text(json.dumps(nx.node_link_data(H, edges="edges"), ensure_ascii=False))
    return {"format": fmt, "path": str(path), "nodes": H.number_of_nodes(), "edges": H.number_of_edges()}

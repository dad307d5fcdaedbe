"""Suggestions for people and pages: the likeliest new partnerships, the reasons that add up
to each score, and the alumni who could champion them."""

from __future__ import annotations

import numpy as np

from matcher.geo import haversine_km
from matcher.partnerships.features import pair_features
from matcher.partnerships.graph import TieGraph
from matcher.partnerships.load import RADIUS_KM, load_graph
from matcher.partnerships.model import MODEL_PREFIX, PartnershipModel, model_for, sigmoid

__all__ = ["describe_pair", "top_new_pairs", "default_us_pool", "champions", "LEVELS",
           "suggest_partnerships", "summarise_reasons", "data_fingerprint", "seeker_suggestions"]


def _loo_features(graph: TieGraph, us: int, jp: int) -> np.ndarray:
    edge = np.flatnonzero((graph.us == us) & (graph.jp == jp))
    g = graph.subset(~np.isin(np.arange(len(graph.us)), edge))
    return pair_features(g, np.array([us]), np.array([jp]))


def describe_pair(graph: TieGraph, model: PartnershipModel, us: int, jp: int, raw: np.ndarray | None = None,
                  z: np.ndarray | None = None) -> dict:
    """Describe one pair as a plain dict: both sides, score, and the reasons that add up to it.

    Parameters
    ----------
    graph : TieGraph
        The partnerships the pair is scored against.
    model : PartnershipModel
        The model.
    us, jp : int
        The pair's node ids.
    raw : numpy.ndarray, optional
        The pair's features (1 × FEATURES) when the caller computed them (many pairs at once,
        or from a cache): those of ``graph``, or of ``graph`` without the pair when it exists.
    z : numpy.ndarray, optional
        With ``raw``: its row of ``model.standardised`` (1 × the model's features).

    Returns
    -------
    dict
        ``us_key``, ``us_label``, ``jp_key``, ``jp_label``, ``score`` (log-odds),
        ``probability``, ``existing`` and ``reasons``.
    """
    u = graph.universe
    existing = (us, jp) in graph.pair_set
    if raw is None:
        raw = _loo_features(graph, us, jp) if existing else pair_features(graph, np.array([us]), np.array([jp]))
    level = int(u.jp_is_pref[jp])
    reasons = model.explain(raw[0], level=level, z=None if z is None else z[0])
    score = float(model.decision_function(raw, np.array([level]), z=z)[0])
    return {
        "us_key": u.us_keys[us], "us_label": u.us_labels[us], "jp_key": u.jp_keys[jp], "jp_label": u.jp_labels[jp],
        "score": round(score, 4), "probability": sigmoid(score), "existing": existing, "reasons": reasons,
    }


def _partners(graph: TieGraph, side: str) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    a, b = (graph.us, graph.jp) if side == "us" else (graph.jp, graph.us)
    for x, y in zip(a.tolist(), b.tolist()):
        out.setdefault(x, set()).add(y)
    return out


def top_new_pairs(graph: TieGraph, model: PartnershipModel, top: int = 10, us: int | None = None,
                  jp: int | None = None, us_pool: np.ndarray | None = None,
                  jp_pool: np.ndarray | None = None) -> list[tuple[int, int, float]]:
    """Return the ``top`` highest-scoring pairs that do not exist yet.

    For one US node, one JP node, or (neither given) across ``us_pool`` × ``jp_pool``
    (default every JP node), in chunks. Only pairs at the same level: a US place with a
    municipality, a state with a prefecture.

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    model : PartnershipModel
        Scores the pairs.
    top : int, optional
        How many pairs.
    us, jp : int, optional
        Fix one side.
    us_pool, jp_pool : numpy.ndarray, optional
        The nodes ranked when neither side is fixed.

    Returns
    -------
    list of (int, int, float)
        US node, JP node and score, best first.
    """
    u = graph.universe
    if jp is not None:
        same = np.flatnonzero(u.us_is_state == u.jp_is_pref[jp])
        cand = np.array(sorted(set(same.tolist()) - _partners(graph, "jp").get(jp, set())), dtype=int)
        scores = model.decision_function(pair_features(graph, cand, np.full(len(cand), jp)),
                                         np.full(len(cand), int(u.jp_is_pref[jp])))
        order = np.argsort(-scores, kind="stable")[:top]
        return [(int(cand[i]), jp, float(scores[i])) for i in order]
    pool = np.array([us]) if us is not None else (us_pool if us_pool is not None else default_us_pool(graph))
    best: list[tuple[int, int, float]] = []
    jp_all = np.arange(u.n_jp) if jp_pool is None else np.asarray(jp_pool, dtype=int)
    for chunk in np.array_split(pool, max(1, len(pool) // 40)):
        us_arr, jp_arr = np.repeat(chunk, len(jp_all)), np.tile(jp_all, len(chunk))
        # Same level only (a city with a municipality, a state with a prefecture): the lists the
        # model learnt to rank and calibrate.
        fresh = ~np.isin(us_arr * u.n_jp + jp_arr, graph.us * u.n_jp + graph.jp) & (
            u.us_is_state[us_arr] == u.jp_is_pref[jp_arr])
        us_arr, jp_arr = us_arr[fresh], jp_arr[fresh]
        if not len(us_arr):
            continue
        scores = model.decision_function(pair_features(graph, us_arr, jp_arr), u.jp_is_pref[jp_arr].astype(int))
        keep = np.argsort(-scores, kind="stable")[:top]
        best += [(int(us_arr[i]), int(jp_arr[i]), float(scores[i])) for i in keep]
    return sorted(best, key=lambda t: -t[2])[:top]


def default_us_pool(graph: TieGraph, min_population: int = 100_000) -> np.ndarray:
    """Return the US nodes worth an overall ranking.

    Those with a partner already, states, and cities of at least ``min_population`` people.

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    min_population : int, optional
        The smallest city ranked without a partner.

    Returns
    -------
    numpy.ndarray
        US node ids.
    """
    u = graph.universe
    mask = u.us_is_state | (np.nan_to_num(u.us_pop) >= min_population) | (graph.us_degree > 0)
    return np.flatnonzero(mask)


def champions(session, graph: TieGraph, us: int, jp: int, limit: int = 5) -> list[dict]:
    """Find the people who could champion a new partnership.

    Consenting alumni who live near the US side and were placed in the JP side (or its
    prefecture). Names as committees see them.

    Parameters
    ----------
    session : Session
        Read only.
    graph : TieGraph
        Gives the nodes' keys.
    us, jp : int
        The pair's node ids.
    limit : int, optional
        At most this many.

    Returns
    -------
    list of dict
        ``alumnus_id`` and ``name``.
    """
    from sqlalchemy import select

    from matcher.models import Alumnus, Placement, USPlace

    u = graph.universe
    key, pref = u.jp_keys[jp], u.prefectures[u.jp_pref[jp]]
    q = select(Alumnus).join(Placement).where(Alumnus.consent.is_(True))
    q = q.where(Placement.municipality_code == key[5:]) if key.startswith("muni:") else q.where(
        Placement.prefecture_code == pref)
    us_key = u.us_keys[us]
    if us_key.startswith("state:"):
        q = q.where(Alumnus.home_state_abbr == us_key[6:])
        near = list(session.scalars(q.distinct().limit(limit)))
    else:
        place = session.get(USPlace, int(us_key[6:]))
        near = [a for a in session.scalars(q.distinct()) if a.home_lat is not None
                and haversine_km(a.home_lat, a.home_lon, place.lat, place.lon) <= RADIUS_KM][:limit]
    return [{"alumnus_id": a.id, "name": a.display_name} for a in near]


LEVELS = {"any": "any level", "city": "city ↔ municipality", "state": "state ↔ prefecture"}


def suggest_partnerships(session, top: int = 20, us_place_id: int | None = None, jp_code: str | None = None,
                         us_state: str | None = None, with_champions: bool = True, level: str = "any",
                         graph: TieGraph | None = None, model: PartnershipModel | None = None) -> list[dict]:
    """Return the ``top`` likeliest new partnerships as plain dicts, for a page or ``--json``.

    Parameters
    ----------
    session : Session
        Read only.
    top : int, optional
        How many pairs.
    us_place_id : int, optional
        One US place as the US side.
    jp_code : str, optional
        One JP side: a 5-digit municipality or 2-digit prefecture code.
    us_state : str, optional
        One state as the US side.
    with_champions : bool, optional
        Name the alumni who could champion each pair.
    level : str, optional
        Only pairs at this level (a key of LEVELS).
    graph : TieGraph, optional
        Default: the database's (:func:`load_graph`).
    model : PartnershipModel, optional
        Default: the stored model (fitted now when none is stored).

    Returns
    -------
    list of dict
        Each with both sides, ``score`` (log-odds), ``reasons`` (intercept + one line per
        feature, adding up to the score) and ``champions``. Neither side given: the overall best.
    """
    graph = graph if graph is not None else load_graph(session)
    model = model if model is not None else model_for(session, graph)[0]
    u = graph.universe
    us = jp = None
    if us_place_id is not None or us_state is not None:
        us = u.us_index[f"place:{us_place_id}" if us_place_id is not None else f"state:{us_state}"]
    if jp_code is not None:
        jp = u.jp_index[f"pref:{jp_code}" if len(jp_code) == 2 else f"muni:{jp_code}"]
    us_pool = jp_pool = None
    if level != "any" and us is None and jp is None:
        states = level == "state"
        pool = default_us_pool(graph)
        us_pool = pool[u.us_is_state[pool] == states]
        jp_pool = np.flatnonzero(u.jp_is_pref == states)
    out = []
    for a, b, _ in top_new_pairs(graph, model, top=top, us=us, jp=jp, us_pool=us_pool, jp_pool=jp_pool):
        row = describe_pair(graph, model, a, b)
        if with_champions:
            row["champions"] = champions(session, graph, a, b)
        out.append(row)
    return out


def summarise_reasons(reasons: list[dict], top: int = 4) -> list[dict]:
    """Keep the ``top`` strongest reasons, one "other factors" line for the rest, the start last.

    The lines a page shows, still adding up to the score.

    Parameters
    ----------
    reasons : list of dict
        A pair's reasons (``factor``, ``contribution``, ``sentence``, ``relative``), the
        starting point's factor "intercept".
    top : int, optional
        Reasons kept as they are.

    Returns
    -------
    list of dict
        The kept reasons, the "N other factors" line, and the starting point.

    Examples
    --------
    >>> rows = [{"factor": "intercept", "contribution": -4.0, "sentence": "start", "relative": ""},
    ...         {"factor": "a", "contribution": 3.0, "sentence": "a", "relative": "above average"},
    ...         {"factor": "b", "contribution": 0.5, "sentence": "b", "relative": "above average"},
    ...         {"factor": "c", "contribution": -0.25, "sentence": "c", "relative": "below average"}]
    >>> [(r["sentence"], r["contribution"]) for r in summarise_reasons(rows, top=1)]
    [('a', 3.0), ('2 other factors', 0.25), ('start', -4.0)]
    """
    intercept = [r for r in reasons if r["factor"] == "intercept"]
    rest = sorted((r for r in reasons if r["factor"] != "intercept"), key=lambda r: -abs(r["contribution"]))
    shown, others = rest[:top], rest[top:]
    if others:
        shown = shown + [{"factor": "other", "value": None, "relative": "",
                          "contribution": round(sum(r["contribution"] for r in others), 4),
                          "sentence": f"{len(others)} other factor{'s' if len(others) != 1 else ''}"}]
    return shown + intercept


def data_fingerprint(session) -> tuple:
    """Return what the suggestions depend on, read cheaply.

    Relationships, alumni and placements (count, newest id or update), and the stored models.
    A cache of suggestions is good while this is unchanged.

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    tuple
        Comparable with ``==``.
    """
    from sqlalchemy import func, select

    from matcher.models import Alumnus, Placement, Relationship, ScoringModel

    parts = [select(func.count(), func.max(Relationship.id)).select_from(Relationship),
             select(func.count(), func.max(Alumnus.updated_at)).select_from(Alumnus),
             select(func.count(), func.max(Placement.id)).select_from(Placement),
             select(func.count(), func.max(ScoringModel.version)).where(
                 ScoringModel.version.like(MODEL_PREFIX + "%"))]
    return tuple(tuple(session.execute(q).one()) for q in parts)


def seeker_suggestions(session, top: int = 5) -> list[dict]:
    """Return the best US candidates for each CLAIR seeker (a JP municipality looking for a partner).

    Seekers that name countries without the United States or North America are listed
    with ``skipped`` and no candidates.

    Parameters
    ----------
    session : Session
        Read only.
    top : int, optional
        Candidates per seeker.

    Returns
    -------
    list of dict
        One per seeker, with its ``candidates``.
    """
    from sqlalchemy import select

    from matcher.models import Seeker

    graph = load_graph(session)
    model, _ = model_for(session, graph)
    u = graph.universe
    out = []
    for seeker in session.scalars(select(Seeker).order_by(Seeker.municipality_code)):
        wants = seeker.desired_countries.lower()
        row = {"jp_key": f"muni:{seeker.municipality_code}", "desired_countries": seeker.desired_countries,
               "jp_label": u.jp_labels[u.jp_index[f"muni:{seeker.municipality_code}"]]}
        if wants and not any(w in wants for w in ("united states", "north america", "usa")):
            out.append(row | {"skipped": "does not ask for a US partner", "candidates": []})
            continue
        jp = u.jp_index[row["jp_key"]]
        row["candidates"] = [describe_pair(graph, model, a, b) for a, b, _ in top_new_pairs(graph, model, top, jp=jp)]
        out.append(row)
    return out

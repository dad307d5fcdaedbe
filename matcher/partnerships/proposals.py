"""Coordinators' proposed new partnerships, recorded as pending MatchRequests."""

from __future__ import annotations

from sqlalchemy import select

from matcher.models import MatchRequest, Municipality, Prefecture, Relationship, USPlace, USState, User
from matcher.partnerships.graph import TieGraph
from matcher.partnerships.load import load_graph
from matcher.partnerships.model import PartnershipModel, model_for
from matcher.partnerships.suggest import describe_pair
from matcher.refdata import pair_key

__all__ = ["propose_partnership", "open_proposals", "proposal_labels"]


def propose_partnership(session, us_place_id: int | str, jp_code: str, by_login: str, note: str = "",
                        graph: TieGraph | None = None, model: PartnershipModel | None = None,
                        described: dict | None = None):
    """Record a coordinator's "proposed" new partnership as a pending MatchRequest.

    The score and reasons are snapshotted on the request, the note kept with it. Proposing
    the same pair twice returns the open request.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    us_place_id : int or str
        A US place id, or a state abbreviation ("MD") for a state-level side.
    jp_code : str
        A 5-digit municipality or 2-digit prefecture code.
    by_login : str
        The coordinator's login.
    note : str, optional
        Kept with the request.
    graph, model : optional
        As in :func:`suggest_partnerships`.
    described : dict, optional
        The pair's score and reasons as a page showed them (a stored suggestion).

    Returns
    -------
    MatchRequest
        The pending request (new, or the open one for the pair).

    Raises
    ------
    ValueError
        For a pair that already exists or a side that is not in the reference data.
    """
    state_side = isinstance(us_place_id, str) and not us_place_id.isdigit()
    us_kind = "state" if state_side else "city"
    jp_kind = "prefecture" if len(jp_code) == 2 else "municipality"
    key = pair_key(us_kind, us_place_id if state_side else int(us_place_id), jp_kind, jp_code)
    if session.scalar(select(Relationship.id).where(Relationship.pair_key == key)):
        raise ValueError("these two places are already partners")
    us_row = session.get(USState, us_place_id) if state_side else session.get(USPlace, int(us_place_id))
    jp_row = session.get(Prefecture if jp_kind == "prefecture" else Municipality, jp_code)
    if us_row is None or jp_row is None:
        raise ValueError(f"no such {'US side' if us_row is None else 'Japanese side'} in the reference data")
    sides = dict(
        us_place_id=None if state_side else int(us_place_id),
        us_state_abbr=us_place_id if state_side else us_row.state_abbr,
        jp_municipality_code=jp_code if jp_kind == "municipality" else None,
        jp_prefecture_code=jp_code if jp_kind == "prefecture" else jp_row.prefecture_code,
    )
    open_ = session.scalars(select(MatchRequest).where(
        MatchRequest.kind == "new_partnership", MatchRequest.status.in_(("pending", "on_hold")),
        *(getattr(MatchRequest, column) == value for column, value in sides.items()))).first()
    if open_ is not None:
        return open_
    pair = described if described is not None else _describe(session, state_side, us_place_id, jp_kind, jp_code,
                                                             graph, model)
    user = session.scalar(select(User).where(User.login == by_login))
    # "weight" and "level" as in every other request's reasons, so the queue can show them.
    reasons = [r | {"weight": r["contribution"], "level": r["relative"] or None} for r in pair["reasons"]]
    request = MatchRequest(kind="new_partnership", **sides, score=pair["score"], status="pending",
                           decision_count=0, requested_by_id=user.id if user else None,
                           contributions=reasons, note=note.strip())
    session.add(request)
    session.flush()
    return request


def _describe(session, state_side: bool, us_place_id, jp_kind: str, jp_code: str, graph, model) -> dict:
    graph = graph if graph is not None else load_graph(session)  # with alumni, as the page shows it
    model = model if model is not None else model_for(session, graph)[0]
    u = graph.universe
    us_node = f"state:{us_place_id}" if state_side else f"place:{int(us_place_id)}"
    jp_node = f"pref:{jp_code}" if jp_kind == "prefecture" else f"muni:{jp_code}"
    return describe_pair(graph, model, u.us_index[us_node], u.jp_index[jp_node])


def open_proposals(session) -> dict[tuple[str, str], object]:
    """Return the proposed new partnerships not rejected yet, by (US key, JP key) as in a Universe.

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    dict of (str, str) to MatchRequest
        Pending, on hold or approved proposals.
    """
    rows = session.scalars(select(MatchRequest).where(
        MatchRequest.kind == "new_partnership", MatchRequest.status.in_(("pending", "on_hold", "approved")))
        .order_by(MatchRequest.id))
    return {_request_keys(r): r for r in rows}


def _request_keys(request) -> tuple[str, str]:
    us = f"place:{request.us_place_id}" if request.us_place_id is not None else f"state:{request.us_state_abbr}"
    jp = (f"muni:{request.jp_municipality_code}" if request.jp_municipality_code
          else f"pref:{request.jp_prefecture_code}")
    return us, jp


def proposal_labels(session, requests) -> dict[int, str]:
    """Label each new-partnership request among ``requests``: "Seattle, WA ↔ Takeo, Saga".

    Parameters
    ----------
    session : Session
        Read only.
    requests : iterable of MatchRequest
        Requests of any kind; only new-partnership ones are labelled.

    Returns
    -------
    dict of int to str
        Request id → label.
    """
    out = {}
    for r in requests:
        if r.kind != "new_partnership":
            continue
        if r.us_place_id is not None:
            place = session.get(USPlace, r.us_place_id)
            us = f"{place.name}, {place.state_abbr}" if place else f"US place {r.us_place_id}"
        else:
            state = session.get(USState, r.us_state_abbr)
            us = state.name if state else str(r.us_state_abbr)
        pref = session.get(Prefecture, r.jp_prefecture_code)
        if r.jp_municipality_code:
            muni = session.get(Municipality, r.jp_municipality_code)
            jp = f"{muni.name_romaji}, {pref.name}" if muni and pref else r.jp_municipality_code
        else:
            jp = f"{pref.name} Prefecture" if pref else str(r.jp_prefecture_code)
        out[r.id] = f"{us} ↔ {jp}"
    return out

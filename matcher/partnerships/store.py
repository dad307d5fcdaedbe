"""Train the partnership model and store it with its suggestions, ranked once: the page and
the CLI read the stored rows instead of ranking a million pairs on their first request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select

from matcher.models import Alumnus, PartnershipSuggestion, Relationship, ScoringModel
from matcher.partnerships.graph import TieGraph
from matcher.partnerships.load import load_graph
from matcher.partnerships.model import MODEL_PREFIX, PartnershipModel, fit_model
from matcher.partnerships.suggest import LEVELS, suggest_partnerships

__all__ = ["STORED_TOP", "train", "store_suggestions", "stored_suggestions"]

STORED_TOP = 20  # per level: what the coordinators' page shows
_CHAMPION_IDS = 10  # kept per pair, so that a few withdrawn consents still leave five to show


def train(session, seed: int = 0, now: dt.datetime | None = None, suggestions: bool = True):
    """Fit on every known pair and store the model, and its top suggestions per level.

    The model is stored as ScoringModel ``partnerships-YYYYmmddHHMMSS`` and (``suggestions``)
    its top suggestions per level as PartnershipSuggestion rows. The row is never
    ``active`` (that flag belongs to the volunteer scoring model); its settings say
    ``{"kind": "partnerships", "current": true, ...}`` and older partnership rows lose
    ``current``. Older stored suggestions are deleted in the same transaction, so a reader
    sees the old list or the new one.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    seed : int, optional
        Seeds the fit.
    now : datetime, optional
        The time in the version (default: now, UTC).
    suggestions : bool, optional
        Also store the top suggestions.

    Returns
    -------
    ScoringModel
        The new row (flushed, not committed).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    graph = load_graph(session)
    model = fit_model(graph, seed=seed)
    for older in session.scalars(select(ScoringModel).where(ScoringModel.version.like(MODEL_PREFIX + "%"))):
        older.settings = {**older.settings, "current": False}
    version = MODEL_PREFIX + now.strftime("%Y%m%d%H%M%S")
    row = session.get(ScoringModel, version) or ScoringModel(version=version, active=False)
    row.settings = {"kind": "partnerships", "current": True, "seed": seed, **model.to_settings()}
    row.metrics = {"pairs": int(len(graph.us)), "examples": int(len(model.oof_)),
                   "positives": int(len(graph.us)), "trained_at": now.isoformat(timespec="seconds")}
    session.add(row)
    session.flush()
    if suggestions:
        store_suggestions(session, row, graph, model)
    return row


def store_suggestions(session, row, graph: TieGraph, model: PartnershipModel, top: int = STORED_TOP) -> int:
    """Rank the likeliest new pairs per level with ``model`` and store them under ``row``'s version.

    Every stored list is replaced.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    row : ScoringModel
        The stored model the suggestions belong to.
    graph : TieGraph
        The partnerships the model ranks against.
    model : PartnershipModel
        The model.
    top : int, optional
        Pairs stored per level.

    Returns
    -------
    int
        The number of rows written.
    """
    ranked = {level: suggest_partnerships(session, top=top, level=level, graph=graph, model=model)
              for level in ("city", "state")}
    ranked["any"] = sorted(ranked["city"] + ranked["state"], key=lambda r: -r["score"])[:top]
    session.execute(delete(PartnershipSuggestion))
    rows = [PartnershipSuggestion(
        model_version=row.version, level=level, rank=rank, us_key=r["us_key"], jp_key=r["jp_key"],
        us_label=r["us_label"], jp_label=r["jp_label"], score=r["score"], probability=r["probability"],
        reasons=r["reasons"], champion_ids=[c["alumnus_id"] for c in r["champions"]][:_CHAMPION_IDS])
        for level in LEVELS for rank, r in enumerate(ranked[level], 1)]
    session.add_all(rows)
    row.metrics = {**row.metrics, "suggestions": len(rows), "fingerprint": _relationships_fingerprint(session)}
    session.flush()
    return len(rows)


def stored_suggestions(session, level: str = "any", champions: int = 5) -> dict | None:
    """Return the stored suggestions of the newest partnerships model at ``level``.

    ``rows`` are as ``suggest_partnerships`` gives them (champions filtered by consent now,
    pairs that have become partnerships since left out); ``stale`` is true when
    relationships changed after they were ranked (checked on every read, so cheaply: alumni
    and placements count for less, and retraining after imports is a job's work).

    Parameters
    ----------
    session : Session
        Read only.
    level : str, optional
        A key of LEVELS.
    champions : int, optional
        Champions named per pair.

    Returns
    -------
    dict or None
        ``{"version", "trained_at", "stale", "pairs", "rows"}``, or None when that model
        stored none.
    """
    head = session.execute(select(ScoringModel.version, ScoringModel.metrics)
                           .where(ScoringModel.version.like(MODEL_PREFIX + "%"))
                           .order_by(ScoringModel.version.desc()).limit(1)).first()
    if head is None or "suggestions" not in (head.metrics or {}):
        return None
    stored = session.scalars(select(PartnershipSuggestion).where(
        PartnershipSuggestion.model_version == head.version, PartnershipSuggestion.level == level)
        .order_by(PartnershipSuggestion.rank)).all()
    existing = set(session.scalars(select(Relationship.pair_key)))
    ids = {i for s in stored for i in s.champion_ids}
    people = {a.id: a for a in session.scalars(select(Alumnus).where(Alumnus.id.in_(ids),
                                                                     Alumnus.consent.is_(True)))} if ids else {}
    rows = [{"us_key": s.us_key, "us_label": s.us_label, "jp_key": s.jp_key, "jp_label": s.jp_label,
             "score": s.score, "probability": s.probability, "existing": False, "reasons": s.reasons,
             "champions": [{"alumnus_id": i, "name": people[i].display_name}
                           for i in s.champion_ids if i in people][:champions]}
            for s in stored if f"{s.us_key}|{s.jp_key}" not in existing]  # Relationship.pair_key
    return {"version": head.version, "trained_at": head.metrics.get("trained_at"), "rows": rows,
            "pairs": head.metrics.get("pairs"),
            "stale": head.metrics.get("fingerprint") != _relationships_fingerprint(session)}


def _relationships_fingerprint(session) -> str:
    return repr(tuple(session.execute(select(func.count(), func.max(Relationship.id))).one()))


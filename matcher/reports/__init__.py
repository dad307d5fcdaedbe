"""Reports a coordinator can act on: coverage, decisions, exposure, dormant ties, the tie graph.

:func:`build_report` returns one dict with the top-level keys ``coverage``, ``decisions``,
``exposure``, ``dormant`` and ``graph`` (what ``jetmatch report --json`` prints and ``/reports``
shows); each section's lists of rows are its tables (:data:`TABLES`), downloadable as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading

from sqlalchemy import func, select

from matcher.graph import alumni_size, cached_graph, graph_summary
from matcher.graph import fingerprint as graph_fingerprint
from matcher.models import Decision, MatchRequest, ScoreRun, Suggestion
from matcher.reports.activity import decisions_report, dormant_report, score_deciles
from matcher.reports.coverage import NEEDED, coverage
from matcher.reports.exposure import exposure_report, gini
from matcher.reports.pool import RADIUS_KM, Pool, load_pool

__all__ = ["build_report", "cached_report", "fingerprint", "table_csv", "TABLES", "SECTIONS", "coverage",
           "decisions_report", "dormant_report", "exposure_report", "gini", "score_deciles", "load_pool", "Pool", "NEEDED", "RADIUS_KM"]

SECTIONS = ("coverage", "decisions", "exposure", "dormant", "graph")
TABLES = {"coverage": ("relationships", "chapters"), "decisions": ("per_week", "by_decile", "per_coordinator"),
          "exposure": ("reasons", "never_suggested"), "dormant": ("relationships",), "graph": ("bridges",)}


def build_report(session, *, dormant_years: int = 5, now: dt.datetime | None = None,
                 graph_check_seconds: float = 5.0, limit: int | None = None) -> dict:
    """Compute every section of the report from the database.

    Parameters
    ----------
    session : Session
        Read only.
    dormant_years : int, optional
        A relationship with no request or decision for this many years counts as dormant.
    now : datetime, optional
        The moment "years ago" counts from (default: now, UTC).
    graph_check_seconds : float, optional
        How old the cached tie graph may be before its fingerprint is checked again.
    limit : int, optional
        Keep at most this many rows of each table (a page shows the first rows, the CSV all);
        a table that was cut has its full length beside it as ``<table>_total``. Default: all.

    Returns
    -------
    dict
        The sections ``coverage``, ``decisions``, ``exposure``, ``dormant`` and ``graph``
        (:data:`SECTIONS`), each a dict whose lists of rows are its tables (:data:`TABLES`).
    """
    pool = load_pool(session)
    # The summary reads places and relationships only: the graph without its 40,000 alumni
    # nodes, whose count is added to the size.
    graph = dict(graph_summary(cached_graph(session, graph_check_seconds, alumni=False)))
    nodes, edges = alumni_size(session)
    graph["nodes"] += nodes
    graph["edges"] += edges
    report = {"coverage": coverage(session, pool), "decisions": decisions_report(session),
              "exposure": exposure_report(session, limit=limit),
              "dormant": dormant_report(session, pool, dormant_years, now), "graph": graph}
    if limit is not None:
        report["exposure"]["never_suggested_total"] = report["exposure"]["never_suggested_count"]
        for section, tables in TABLES.items():
            for table in tables:
                rows = report[section][table]
                report[section].setdefault(f"{table}_total", len(rows))
                report[section][table] = rows[:limit]
    return report


def fingerprint(session) -> tuple:
    """Return what a report depends on, read cheaply (a few COUNT/MAX queries).

    The alumni (count and last update: consent, capacity, home), placements, relationships,
    models, chapters and aliases (:func:`matcher.graph.fingerprint`), requests and decisions, the score
    runs and suggestions. A cached report is good while it is unchanged
    (and on the same day: dormancy counts years back from today).
    """
    extra = (select(func.count(), func.max(MatchRequest.id)).select_from(MatchRequest),
             select(func.count(), func.max(Decision.id)).select_from(Decision),
             # new rows, by a run or one alum's re-score, take new ids; rows only go with an alum's change
             select(func.max(Suggestion.id)).select_from(Suggestion),
             select(func.max(ScoreRun.id)).select_from(ScoreRun))
    return (graph_fingerprint(session)
            + tuple(tuple(session.execute(q).one()) for q in extra) + (dt.date.today().isoformat(),))


_cache: dict[tuple, tuple[tuple, dict]] = {}
_lock = threading.Lock()


def cached_report(session, *, dormant_years: int = 5, graph_check_seconds: float = 5.0,
                  limit: int | None = None) -> dict:
    """Return :func:`build_report`'s report, computed again only when :func:`fingerprint` changed.

    For the web page: at 40,000 alumni a report takes about a second to compute and a page is
    viewed far more often than the data changes. Kept per process and database; read-only.
    """
    key = (str(session.get_bind().engine.url), dormant_years, limit)
    mark = fingerprint(session)
    with _lock:
        held = _cache.get(key)
    if held is not None and held[0] == mark:
        return held[1]
    report = build_report(session, dormant_years=dormant_years, graph_check_seconds=graph_check_seconds,
                          limit=limit)
    with _lock:
        _cache[key] = (mark, report)
    return report


def table_csv(rows: list[dict]) -> str:
    """Write one table as CSV text, columns in the rows' key order.

    Parameters
    ----------
    rows : list of dict
        The table's rows, all with the same keys.

    Returns
    -------
    str
        The header and one line per row; "" for no rows.

    Examples
    --------
    >>> print(table_csv([{"week": "2026-W01", "requests": 3}]).strip())
    week,requests
    2026-W01,3
    >>> table_csv([])
    ''
    """
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()

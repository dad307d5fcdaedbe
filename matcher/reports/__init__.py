"""Reports a coordinator can act on: coverage, decisions, exposure, dormant ties, the tie graph.

:func:`build_report` returns one dict with the top-level keys ``coverage``, ``decisions``,
``exposure``, ``dormant`` and ``graph`` (what ``jetmatch report --json`` prints and ``/reports``
shows); each section's lists of rows are its tables (:data:`TABLES`), downloadable as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from matcher.graph import cached_graph, graph_summary
from matcher.reports.activity import decisions_report, dormant_report, score_deciles
from matcher.reports.coverage import NEEDED, coverage
from matcher.reports.exposure import exposure_report, gini
from matcher.reports.pool import RADIUS_KM, Pool, load_pool

__all__ = ["build_report", "table_csv", "TABLES", "SECTIONS", "coverage", "decisions_report", "dormant_report",
           "exposure_report", "gini", "score_deciles", "load_pool", "Pool", "NEEDED", "RADIUS_KM"]

SECTIONS = ("coverage", "decisions", "exposure", "dormant", "graph")
TABLES = {"coverage": ("relationships", "chapters"), "decisions": ("per_week", "by_decile", "per_coordinator"),
          "exposure": ("reasons", "never_suggested"), "dormant": ("relationships",), "graph": ("bridges",)}


def build_report(session, *, dormant_years: int = 5, now: dt.datetime | None = None,
                 graph_check_seconds: float = 5.0) -> dict:
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

    Returns
    -------
    dict
        The sections ``coverage``, ``decisions``, ``exposure``, ``dormant`` and ``graph``
        (:data:`SECTIONS`), each a dict whose lists of rows are its tables (:data:`TABLES`).
    """
    pool = load_pool(session)
    return {"coverage": coverage(session, pool), "decisions": decisions_report(session),
            "exposure": exposure_report(session), "dormant": dormant_report(session, pool, dormant_years, now),
            "graph": graph_summary(cached_graph(session, graph_check_seconds))}


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

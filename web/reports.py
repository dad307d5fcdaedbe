"""Coordinators' reports: coverage, decisions, exposure, dormant ties and the tie graph,
each table downloadable as CSV, charts drawn on the server as SVG."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request

from matcher.reports import SECTIONS, TABLES, cached_report, table_csv
from web.auth import role_required
from web.database import get_session

bp = Blueprint("reports", __name__)


PAGE_ROWS = 100  # rows of a table the page shows; its CSV has them all


def _report(limit: int | None = None) -> dict:
    years = min(50, max(1, request.args.get("years", 5, type=int)))
    return cached_report(get_session(), dormant_years=years, limit=limit,
                         graph_check_seconds=current_app.config.get("GRAPH_CHECK_SECONDS", 5.0))


@bp.get("/reports")
@role_required("coordinator")
def index():
    """Show every report section with its tables and charts."""
    return render_template("reports/index.html", report=_report(PAGE_ROWS), tables=TABLES,
                           years=request.args.get("years", 5, type=int))


@bp.get("/reports/<section>/<table>.csv")
@role_required("coordinator")
def table(section: str, table: str):
    """Download one report table as CSV."""
    if section not in SECTIONS or table not in TABLES.get(section, ()):
        abort(404)
    rows = _report()[section][table]
    return Response(table_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=jetmatch-{section}-{table}.csv"})

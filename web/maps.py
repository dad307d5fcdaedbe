"""Maps: the coordinator's overview at /map, and the map partials the chapter and committee
pages include (``chapter_map(chapter)``, ``partner_map(rel)`` in every template), and
``tie_path(alum_id, relationship_id)``: the graph's explanation path for a suggestion."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request
from sqlalchemy import select

from matcher import maps
from matcher.graph import cached_graph, explanation_path
from matcher.models import RELATIONSHIP_STATUSES, Chapter
from web.auth import role_required
from web.database import get_session

bp = Blueprint("maps", __name__)


@bp.get("/map")
@role_required("coordinator")
def overview():
    """Show the two countries side by side, every relationship as a linked pair."""
    db = get_session()
    status = request.args.get("status", "")
    status = status if status in RELATIONSHIP_STATUSES else ""
    level = request.args.get("level", "")
    level = level if level in maps.LEVELS else ""
    chapters = db.scalars(select(Chapter).order_by(Chapter.name)).all()
    chapter = next((c for c in chapters if c.slug == request.args.get("chapter")), None)
    data = maps.overview(db, status=status, chapter=chapter, level=level)
    return render_template("maps/index.html", data=data, chapters=chapters, statuses=RELATIONSHIP_STATUSES,
                           levels=maps.LEVELS, status=status, level=level, chapter=chapter)


@bp.app_context_processor
def _map_helpers() -> dict:
    """Give every template the two map builders its partials call."""
    return {"chapter_map": lambda chapter: maps.chapter_region(get_session(), chapter),
            "partner_map": lambda rel: maps.partner_surroundings(get_session(), rel),
            "tie_path": _tie_path}


def _tie_path(alum_id: int, relationship_id: int) -> list[str]:
    """The steps from an alum's placement to a relationship, from the cached place graph."""
    if "place_graph" not in g:  # one fingerprint check per request, however many rows
        g.place_graph = cached_graph(get_session(), current_app.config.get("GRAPH_CHECK_SECONDS", 5.0))
    return explanation_path(g.place_graph, ("alum", alum_id), ("rel", relationship_id))

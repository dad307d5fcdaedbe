"""Relationship search (any spelling the gazetteer knows) and the relationship page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from matcher.models import Relationship, Suggestion
from web.auth import login_required
from web.database import gazetteer, get_session
from web.present import search_relationships
from web.security import MAX_PAGE, int_arg, text_arg

MAX_QUERY = 200  # characters in a search: no place name is longer

bp = Blueprint("relationships", __name__)


@bp.get("/relationships")
@login_required
def index():
    """List relationships, or those whose US or Japanese side is named by ?q=."""
    db = get_session()
    q = text_arg("q", MAX_QUERY)
    page = int_arg("page", 1, 1, MAX_PAGE)
    size = current_app.config["PAGE_SIZE"]
    query = search_relationships(db, q, gazetteer() if q else None)
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    # both sides' places in four queries, not four lazy loads a row
    rows = db.scalars(query.options(*(selectinload(getattr(Relationship, side)) for side in (
        "us_place", "us_state", "jp_municipality", "jp_prefecture"))).offset((page - 1) * size).limit(size)).all()
    return render_template("relationships/index.html", q=q, rows=rows, total=total, page=page, size=size)


@bp.get("/relationships/<int:relationship_id>")
@login_required
def show(relationship_id: int):
    """Show one relationship: both places, when it was signed, its programmes."""
    db = get_session()
    rel = db.get(Relationship, relationship_id)
    if rel is None:
        abort(404)
    n_volunteers = db.scalar(select(func.count()).where(
        Suggestion.kind == "volunteer", Suggestion.relationship_id == rel.id))
    return render_template("relationships/show.html", rel=rel, n_volunteers=n_volunteers)

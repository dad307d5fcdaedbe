"""The page each role lands on after signing in."""

from __future__ import annotations

from flask import Blueprint, g, render_template
from sqlalchemy import func, select

from matcher import decisions
from matcher.models import Alumnus, Job, MatchRequest, Relationship, Suggestion
from web.auth import login_required
from web.database import get_session

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """Show what the signed-in user can do next."""
    db = get_session()
    user = g.user
    context: dict = {}
    if user.role == "coordinator":
        context["open_count"] = db.scalar(select(func.count()).select_from(decisions.queue().subquery()))
        context["totals"] = _totals(db)
        context["active_jobs"] = db.scalar(select(func.count()).select_from(Job)
                                           .where(Job.status.in_(("queued", "running"))))
    elif user.role == "committee":
        context["requests"] = db.scalars(decisions.requests_for_relationship(user.relationship_id).limit(10)).all()
        context["suggested"] = db.scalar(select(func.count()).where(
            Suggestion.kind == "volunteer", Suggestion.relationship_id == user.relationship_id))
    elif user.role == "chapter_lead":
        context["suggested"] = db.scalar(select(func.count()).where(
            Suggestion.kind == "partner", Suggestion.chapter_id == user.chapter_id))
        context["proposals"] = db.scalars(select(MatchRequest).where(
            MatchRequest.kind == "partnership", MatchRequest.chapter_id == user.chapter_id)
            .order_by(MatchRequest.requested_at.desc()).limit(10)).all()
    elif user.role == "alumnus":
        context["suggested"] = db.scalar(select(func.count()).where(
            Suggestion.kind == "volunteer", Suggestion.alumnus_id == user.alumnus_id))
    return render_template(f"home/{user.role}.html", **context)


def _totals(db) -> dict[str, int]:
    """Count what the database holds: alumni (and how many consent), relationships, suggestions."""
    return {
        "alumni": db.scalar(select(func.count()).select_from(Alumnus)),
        "consenting": db.scalar(select(func.count()).select_from(Alumnus).where(Alumnus.consent.is_(True))),
        "relationships": db.scalar(select(func.count()).select_from(Relationship)),
        # every row less the few hundred partner rows, found through the partial index on
        # chapter_id (a partner row always has one): counting kind = 'volunteer' reads all 350,000
        "suggestions": db.scalar(select(func.count()).select_from(Suggestion)) - db.scalar(
            select(func.count()).select_from(Suggestion).where(Suggestion.chapter_id.is_not(None),
                                                              Suggestion.kind == "partner")),
    }

"""A chapter lead's page: suggested sister-city partners with evidence, and the members' reach."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from matcher import decisions
from matcher.models import Alumnus, Chapter, MatchRequest, Placement, Prefecture, Relationship, Suggestion
from web.auth import can_see_chapter, role_required
from web.database import get_session
from web.present import km_between, reasons

bp = Blueprint("chapter", __name__)


def member_ties(db, chapter_id: int) -> tuple[Counter, Counter]:
    """Count the chapter's members placed in each municipality and each prefecture (each alum once)."""
    def count(column) -> Counter:
        return Counter({key: n for key, n in db.execute(
            select(column, func.count(func.distinct(Placement.alumnus_id)))
            .join(Alumnus, Placement.alumnus_id == Alumnus.id)
            .where(Alumnus.chapter_id == chapter_id, column.is_not(None)).group_by(column))})
    return count(Placement.municipality_code), count(Placement.prefecture_code)


def partner_rows(db, chapter: Chapter, ties: tuple[Counter, Counter] | None = None) -> list[dict]:
    """Return the chapter's partner suggestions with their evidence, best first."""
    by_muni, by_pref = ties or member_ties(db, chapter.id)
    hub = chapter.hub_place
    rows = []
    # each relationship's two sides in a few queries, not four lazy loads a row
    sides = [selectinload(Suggestion.relationship_).selectinload(getattr(Relationship, side))
             for side in ("us_place", "us_state", "jp_municipality", "jp_prefecture")]
    for s in db.scalars(select(Suggestion).where(Suggestion.kind == "partner", Suggestion.chapter_id == chapter.id)
                        .order_by(Suggestion.rank, Suggestion.score.desc(), Suggestion.id).options(*sides)):
        rel = s.relationship_
        point = rel.us_place or rel.us_state
        km = km_between(hub.lat, hub.lon, point.lat, point.lon) if hub else None
        rows.append({"rel": rel, "score": s.score, "km": km, "reasons": reasons(s.contributions),
                     # For a sister-state tie the partner is the whole prefecture.
                     "members_partner": (by_muni.get(rel.jp_municipality_code, 0) if rel.jp_municipality_code
                                         else by_pref.get(rel.jp_prefecture_code, 0)),
                     "members_prefecture": by_pref.get(rel.jp_prefecture_code, 0),
                     "dormant": rel.status == "dormant"})
    return rows


@bp.get("/chapters/<slug>/partners")
@role_required("coordinator", "chapter_lead", scope=can_see_chapter)
def partners(slug: str):
    """Show the chapter's suggested partners and where its members lived in Japan."""
    db = get_session()
    chapter = db.scalar(select(Chapter).where(Chapter.slug == slug))
    if chapter is None:
        abort(404)
    ties = member_ties(db, chapter.id)
    by_pref = ties[1]
    names = {code: name for code, name in db.execute(select(Prefecture.code, Prefecture.name))}
    reach = [(names.get(code, code), n) for code, n in by_pref.most_common(12)]
    proposals = {r.relationship_id: r for r in db.scalars(select(MatchRequest).where(
        MatchRequest.kind == "partnership", MatchRequest.chapter_id == chapter.id))}
    return render_template("chapter/partners.html", chapter=chapter, rows=partner_rows(db, chapter, ties),
                           reach=reach, proposals=proposals)


@bp.post("/chapters/<slug>/partners/<int:relationship_id>/propose")
@role_required("coordinator", "chapter_lead", scope=can_see_chapter)
def propose(slug: str, relationship_id: int):
    """Propose a partnership between the chapter and a relationship to the coordinators."""
    db = get_session()
    chapter = db.scalar(select(Chapter).where(Chapter.slug == slug))
    if chapter is None or db.get(Relationship, relationship_id) is None:
        abort(404)
    req = decisions.propose_partnership(db, chapter.id, relationship_id, g.user)
    db.commit()
    flash(f"Partnership proposed (request #{req.id}); a coordinator will review it.", "info")
    return redirect(url_for("chapter.partners", slug=slug))

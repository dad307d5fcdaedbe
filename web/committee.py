"""A committee's volunteer finder: ranked alumni, reasons, filters, introduction requests."""

from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import bindparam, select

from matcher import decisions
from matcher.models import Alumnus, MatchRequest, Relationship, Suggestion
from matcher.names import display_name
from matcher.scoring.readback import volunteer_reasons
from web.auth import can_see_relationship, role_required
from web.database import get_session
from web.security import MAX_PAGE, int_arg, text_arg
from web.present import distance_band, placement_rows, reasons, relationship_sides, tie_sentence, us_point

bp = Blueprint("committee", __name__)

RADII = {"25": 25, "80": 80, "200": 200}
MAX_THEME = 60

# Built once per process, with the relationship and the page as parameters: a Select is
# immutable, and building one (and its cache key) per request costs more than running it.
_VOLUNTEERS = (select(Suggestion.score, Suggestion.rank, Suggestion.levels, Alumnus.id.label("alum_id"),
                      Alumnus.given_name, Alumnus.family_name, Alumnus.home_lat, Alumnus.home_lon, Alumnus.home_state_abbr,
                      Alumnus.japanese_level, Alumnus.availability_hours)
               .join(Alumnus, Suggestion.alumnus_id == Alumnus.id)
               .where(Suggestion.kind == "volunteer", Alumnus.consent,
                      Suggestion.relationship_id == bindparam("relationship_id"))
               .order_by(Suggestion.score.desc(), Suggestion.id)
               .offset(bindparam("offset")).limit(bindparam("limit")))
_SIDES = relationship_sides()


def _within_radius(rel: Relationship, km: int):
    """Alumni living within ``km`` of the US side, decided in SQL so that every page is full.

    A lat/lon box, then the equirectangular distance (cosine taken at the US side): for
    radii up to a few hundred km it is within 0.1% of the great-circle distance, and it
    needs no trigonometry in SQLite.
    """
    point = rel.us_place or rel.us_state
    km_per_deg = 111.195
    cos_lat = max(0.1, math.cos(math.radians(point.lat)))
    dlat, dlon = km / km_per_deg, km / (km_per_deg * cos_lat)
    dy = Alumnus.home_lat - point.lat
    dx = (Alumnus.home_lon - point.lon) * cos_lat
    return (Alumnus.home_lat.between(point.lat - dlat, point.lat + dlat)
            & Alumnus.home_lon.between(point.lon - dlon, point.lon + dlon)
            & ((dx * dx + dy * dy) <= (km / km_per_deg) ** 2))


def volunteer_rows(db, rel: Relationship, *, radius: int | None = None, theme: str = "", min_level: int = 0,
                   page: int = 1, size: int = 50) -> list[dict]:
    """Return one page of the relationship's suggested volunteers, best first, as display rows (no contacts).

    Two queries whatever the page size: the page's suggestions with the few alumni columns
    a row shows (never e-mail or address), then those alumni's placements for the tie; the
    reasons are written from the rows' stored levels.
    """
    query = _VOLUNTEERS
    if min_level:
        query = query.where(Alumnus.japanese_level >= min_level)
    if theme:
        query = query.where(Alumnus.interests.ilike(f"%{theme}%"))
    if radius is not None:
        query = query.where(_within_radius(rel, radius))
    point = us_point(rel)
    found = []
    # Plain column rows: the connection runs them without the ORM's per-statement set-up.
    conn = db.connection()
    for row in conn.execute(query, {"relationship_id": rel.id, "offset": (page - 1) * size, "limit": size}):
        band, km = distance_band(row, rel, point)
        found.append((row, band, km))
    placements: dict[int, list] = {}
    if found:
        for alum_id, *placement in conn.execute(*placement_rows(row.alum_id for row, _, _ in found)):
            placements.setdefault(alum_id, []).append(placement)
    written = volunteer_reasons(db, [(row.alum_id, rel.id, row.levels) for row, _, _ in found])
    # The band only: the km stays here (an exact distance from a known town gives a home away).
    return [{"alum_id": row.alum_id, "name": display_name(row.given_name, row.family_name), "score": row.score,
             "rank": row.rank, "band": band, "tie": tie_sentence(placements.get(row.alum_id, ()), rel),
             "japanese_level": row.japanese_level, "hours": row.availability_hours,
             "reasons": reasons(why)} for (row, band, km), why in zip(found, written)]


@bp.get("/relationships/<int:relationship_id>/volunteers")
@role_required("coordinator", "committee", scope=can_see_relationship)
def volunteers(relationship_id: int):
    """Show the ranked volunteers for one relationship, with the reasons for each."""
    db = get_session()
    rel = db.get(Relationship, relationship_id, options=_SIDES)
    if rel is None:
        abort(404)
    radius = RADII.get(request.args.get("radius", ""))
    theme = text_arg("theme", MAX_THEME)
    min_level = int_arg("level", 0, 0, 5)
    page = int_arg("page", 1, 1, MAX_PAGE)
    size = current_app.config["VOLUNTEER_PAGE_SIZE"]
    rows = volunteer_rows(db, rel, radius=radius, theme=theme, min_level=min_level, page=page, size=size)
    shown = [row["alum_id"] for row in rows]
    requests = {r.alumnus_id: r for r in db.scalars(decisions.requests_for_relationship(rel.id)
                                                    .where(MatchRequest.alumnus_id.in_(shown)))}
    contacts = {aid: decisions.contacts_for(db, r) for aid, r in requests.items() if r.status == "approved"}
    return render_template("committee/volunteers.html", rel=rel, rows=rows, requests=requests, contacts=contacts,
                           radius=request.args.get("radius", ""), theme=theme, level=min_level,
                           themes=rel.theme_list, page=page, size=size)


@bp.post("/relationships/<int:relationship_id>/volunteers/<int:alumnus_id>/request")
@role_required("coordinator", "committee", scope=can_see_relationship)
def request_introduction(relationship_id: int, alumnus_id: int):
    """Ask a coordinator to introduce this volunteer to the committee."""
    db = get_session()
    suggested = db.scalar(select(Suggestion.id).where(
        Suggestion.kind == "volunteer", Suggestion.relationship_id == relationship_id,
        Suggestion.alumnus_id == alumnus_id))
    if suggested is None:
        abort(404)
    try:
        req = decisions.request_introduction(db, relationship_id, alumnus_id, g.user)
    except decisions.DecisionError as exc:
        flash(str(exc).capitalize() + ".", "error")
    else:
        db.commit()
        flash(f"Introduction requested (request #{req.id}); a coordinator will review it.", "info")
    return redirect(url_for("committee.volunteers", relationship_id=relationship_id, **request.args))

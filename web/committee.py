"""A committee's volunteer finder: ranked alumni, reasons, filters, introduction requests."""

from __future__ import annotations

import math
from typing import NamedTuple

from flask import (Blueprint, abort, current_app, flash, g, get_template_attribute, redirect, render_template, request,
                   session, url_for)
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import Select, bindparam, literal_column, select
from sqlalchemy.orm import aliased

from matcher import decisions
from matcher.models import Alumnus, MatchRequest, Relationship, Suggestion
from matcher.names import display_name
from matcher.scoring.readback import volunteer_reasons
from web.auth import can_see_relationship, role_required
from web.database import get_session
from web.security import MAX_PAGE, int_arg, text_arg
from web.present import (StampedCache, data_stamp, distance_band, placement_rows, reasons, relationship_sides,
                         tie_sentence, us_point)

bp = Blueprint("committee", __name__)

RADII = {"25": 25, "80": 80, "200": 200}
MAX_THEME = 60

# Built once per process, with the relationship and the page as parameters: a Select is
# immutable, and building one (and its cache key) per request costs more than running it.
_VOLUNTEERS = (select(Suggestion.score, Suggestion.rank, Suggestion.levels, Suggestion.run_id,
                      Alumnus.id.label("alum_id"), Alumnus.given_name, Alumnus.family_name, Alumnus.home_lat,
                      Alumnus.home_lon, Alumnus.home_state_abbr, Alumnus.japanese_level, Alumnus.availability_hours)
               .join(Alumnus, Suggestion.alumnus_id == Alumnus.id)
               .where(Suggestion.kind == "volunteer", Alumnus.consent,
                      Suggestion.relationship_id == bindparam("relationship_id"))
               .order_by(Suggestion.score.desc(), Suggestion.id)
               .offset(bindparam("offset")).limit(bindparam("limit")))
_SUGGESTION_COLUMNS = len(_VOLUNTEERS.selected_columns)
_REQUEST = aliased(MatchRequest, name="pair_request")


def _with_requests(page: Select) -> Select:
    """The rows of ``page`` (a filtered :data:`_VOLUNTEERS`), each with every introduction request about its
    pair (id and status: the page needs no more), oldest first: one round trip; :func:`_page` keeps the
    latest of each (decisions.requests_for_relationship's first).

    The requests are joined to the page's rows once they are cut to the page: joined inside, they
    were looked up for every row the database sorted.
    """
    rows = page.add_columns(Suggestion.id.label("suggestion_id")).subquery("page")
    return (select(*rows.c, _REQUEST.id.label("request_id"), _REQUEST.status.label("request_status"))
            .select_from(rows)
            .outerjoin(_REQUEST, (_REQUEST.relationship_id == bindparam("relationship_id"))
                       # in the SQL text, not a parameter: SQLite prepares a statement again on every run
                       # when a parameter meets a partial index's condition (uq_match_requests_open_*), ~70 µs
                       & (_REQUEST.kind == literal_column("'introduction'"))
                       & (_REQUEST.alumnus_id == rows.c.alum_id))
            .order_by(rows.c.score.desc(), rows.c.suggestion_id, _REQUEST.requested_at, _REQUEST.id))


_VOLUNTEERS_AND_REQUESTS = _with_requests(_VOLUNTEERS)
_SIDES = relationship_sides()


def _within_radius(point: tuple[float, float], km: int):
    """Alumni living within ``km`` of the US side's ``point`` (lat, lon), decided in SQL so that every page is full.

    A lat/lon box, then the equirectangular distance (cosine taken at the US side): for
    radii up to a few hundred km it is within 0.1% of the great-circle distance, and it
    needs no trigonometry in SQLite.
    """
    lat, lon = point
    km_per_deg = 111.195
    cos_lat = max(0.1, math.cos(math.radians(lat)))
    dlat, dlon = km / km_per_deg, km / (km_per_deg * cos_lat)
    dy = Alumnus.home_lat - lat
    dx = (Alumnus.home_lon - lon) * cos_lat
    return (Alumnus.home_lat.between(lat - dlat, lat + dlat)
            & Alumnus.home_lon.between(lon - dlon, lon + dlon)
            & ((dx * dx + dy * dy) <= (km / km_per_deg) ** 2))


class RelationshipView(NamedTuple):
    """What the volunteer page shows of a relationship on every request, kept with the rows' HTML."""

    id: int
    us_label: str
    jp_label: str
    jp_name: str  # the partner town's (or prefecture's) name alone
    theme_list: list[str]
    point: tuple[float, float]  # where distances are measured to (see web.present.us_point)

    @classmethod
    def of(cls, rel: Relationship) -> RelationshipView:
        name = rel.jp_municipality.name_romaji if rel.jp_municipality else rel.jp_prefecture.name
        return cls(rel.id, rel.us_label, rel.jp_label, name, rel.theme_list, us_point(rel))


def _page(db, rel: Relationship | RelationshipView, *, radius: int | None, theme: str, min_level: int, page: int,
          size: int, requests: bool = False) -> list:
    """The page's suggestion rows, best first: the suggestion and the few alumni columns a row shows, and
    with ``requests`` each pair's latest request (``request_id``, ``request_status``; None without one)."""
    query = _VOLUNTEERS
    if requests and not (min_level or theme or radius is not None):
        query = _VOLUNTEERS_AND_REQUESTS  # built once
    if min_level:
        query = query.where(Alumnus.japanese_level >= min_level)
    if theme:
        query = query.where(Alumnus.interests.ilike(f"%{theme}%"))
    if radius is not None:
        query = query.where(_within_radius(rel.point if isinstance(rel, RelationshipView) else us_point(rel), radius))
    if requests and query is not _VOLUNTEERS_AND_REQUESTS:
        query = _with_requests(query)
    # Plain column rows: the connection runs them without the ORM's per-statement set-up.
    found = db.connection().execute(query, {"relationship_id": rel.id, "offset": (page - 1) * size,
                                            "limit": size}).all()
    if requests:  # a pair asked about more than once: its rows follow each other, the latest request last
        found = [row for row, after in zip(found, found[1:] + [None])
                 if after is None or after.suggestion_id != row.suggestion_id]
    return found


def _display(db, rel: Relationship, found: list) -> list[dict]:
    """Display rows (no contacts) of suggestion rows: two queries, the placements for the tie and
    the alumni for the reasons, which are written from the rows' stored levels."""
    point = us_point(rel)
    banded = [(row, *distance_band(row, rel, point)) for row in found]
    placements: dict[int, list] = {}
    if found:
        for alum_id, *placement in db.connection().execute(*placement_rows(row.alum_id for row in found)):
            placements.setdefault(alum_id, []).append(placement)
    written = volunteer_reasons(db, [(row.alum_id, rel.id, row.levels) for row in found])
    # The band only: the km stays here (an exact distance from a known town gives a home away).
    return [{"alum_id": row.alum_id, "name": display_name(row.given_name, row.family_name), "score": row.score,
             "rank": row.rank, "band": band, "tie": tie_sentence(placements.get(row.alum_id, ()), rel),
             "japanese_level": row.japanese_level, "hours": row.availability_hours,
             "reasons": reasons(why)} for (row, band, km), why in zip(banded, written)]


def volunteer_rows(db, rel: Relationship, *, radius: int | None = None, theme: str = "", min_level: int = 0,
                   page: int = 1, size: int = 50) -> list[dict]:
    """Return one page of the relationship's suggested volunteers, best first, as display rows (no contacts).

    Three queries whatever the page size: the page's suggestions with the few alumni columns
    a row shows (never e-mail or address), those alumni's placements for the tie, and their
    details for the reasons, which are written from the rows' stored levels.
    """
    return _display(db, rel, _page(db, rel, radius=radius, theme=theme, min_level=min_level, page=page, size=size))


def _kept(stamp: int) -> dict:
    """What this app keeps at ``stamp``: each volunteer's part of the page that is the same for every
    viewer (name, facts, tie, reasons) and the partner map, as HTML, and the relationship's view.

    Kept while the database's change stamp reads the same, keyed on everything else they are
    built from (the suggestion row as read now, with its run; the relationship). One cache per
    app, so that a test's app never sees another's.
    """
    cache = current_app.extensions.get("jetmatch_volunteer_fragments")
    if cache is None:
        cache = current_app.extensions["jetmatch_volunteer_fragments"] = StampedCache()
    return cache.at(stamp)


def _loaded(db, relationship_id: int) -> Relationship:
    rel = db.get(Relationship, relationship_id, options=_SIDES)
    if rel is None:  # deleted since the page began
        abort(404)
    return rel


def _fragments(db, rel: Relationship, stamp: int, found: list) -> list[tuple[int, Markup]]:
    """(alum id, HTML) of each row's viewer-independent part, built only for rows not kept at ``stamp``."""
    kept = _kept(stamp)
    keys = [("row", rel.id, tuple(row[:_SUGGESTION_COLUMNS])) for row in found]
    missing = [n for n, key in enumerate(keys) if key not in kept]
    if missing:
        from matcher.graph import cached_graph

        rel = _loaded(db, rel.id)
        g.place_graph = cached_graph(db, 0.0)  # the tie paths kept from now on: the graph as of now
        for n, row in zip(missing, _display(db, rel, [found[n] for n in missing])):
            kept[keys[n]] = Markup(render_template("committee/_volunteer.html", rel=rel, row=row))
    return [(row.alum_id, kept[key]) for row, key in zip(found, keys)]


@bp.get("/relationships/<int:relationship_id>/volunteers")
@role_required("coordinator", "committee", scope=can_see_relationship)
def volunteers(relationship_id: int):
    """Show the ranked volunteers for one relationship, with the reasons for each.

    Two statements on a kept page: the signed-in user with the change stamp (web.auth.load_user),
    then the page's suggestions with each pair's request. The page is kept whole per process under
    the stamp, keyed on everything else it shows (the rows and their requests' ids and statuses as
    read now, the query, the viewer's role), with stand-ins for the session's CSRF token and for
    each approved request's contacts, which are read afresh on every view.
    """
    db = get_session()
    stamp = data_stamp(db)  # first: what is kept was built from data read after it
    kept = _kept(stamp)
    rel = kept.get(("relationship", relationship_id))
    if rel is None:
        rel = kept[("relationship", relationship_id)] = RelationshipView.of(_loaded(db, relationship_id))
    radius = RADII.get(request.args.get("radius", ""))
    theme = text_arg("theme", MAX_THEME)
    min_level = int_arg("level", 0, 0, 5)
    page = int_arg("page", 1, 1, MAX_PAGE)
    size = current_app.config["VOLUNTEER_PAGE_SIZE"]
    found = _page(db, rel, radius=radius, theme=theme, min_level=min_level, page=page, size=size,
                  requests=True)
    if "_flashes" in session:  # a message to show once: this page is not the one kept
        slots = {row.alum_id: _slot(row, _contacts(db, row), _action(rel.id)) for row in found}
        return render_template("committee/volunteers.html", slots=slots, partner_map=_partner_map(db, kept, rel.id),
                               **_context(db, stamp, rel, found, radius, theme, min_level, page, size))
    user = g.user
    key = ("page", rel.id, tuple(sorted(request.args.items(multi=True))), user.role, user.relationship_id,
           tuple(tuple(row) for row in found))
    kept_page = kept.get(key)
    token = generate_csrf()
    approved = {row.alum_id: row for row in found if row.request_status == "approved"}
    if kept_page is None:
        # Rendered once with stand-ins where this request's parts go (the session's CSRF token and the
        # approved requests' contacts), then kept cut at them: later views fill the stand-ins in.
        action = _action(rel.id)
        slots = {row.alum_id: Markup(f"{_CUT}{row.alum_id}{_CUT}") if row.alum_id in approved
                 else _slot(row, None, action) for row in found}
        html = render_template("committee/volunteers.html", slots=slots, partner_map=_partner_map(db, kept, rel.id),
                               **_context(db, stamp, rel, found, radius, theme, min_level, page, size))
        # Without contacts (the usual page), kept encoded and cut at the token alone: the view is then one
        # join of bytes (encoding the page's 50 kB, not all ASCII, cost more than the rest of the view's Python).
        kept_page = kept[key] = (html.replace(token, f"{_CUT}csrf{_CUT}").split(_CUT) if approved
                                 else html.encode().split(token.encode()))
    if not approved:
        return token.encode().join(kept_page)
    return "".join([part if n % 2 == 0 else token if part == "csrf"
                    else _slot(approved[int(part)], _contacts(db, approved[int(part)]), ())
                    for n, part in enumerate(kept_page)])


_CUT = "\x00"  # never in a page (security._bounded_input refuses NUL in any input): where a kept page is cut


def _context(db, stamp: int, rel: RelationshipView, found: list, radius: int | None, theme: str, min_level: int,
             page: int, size: int) -> dict:
    return dict(rel=rel, rows=_fragments(db, rel, stamp, found), radius=request.args.get("radius", ""), theme=theme,
                level=min_level, themes=rel.theme_list, page=page, size=size)


def _action(relationship_id: int) -> tuple[str, str]:
    """The request form's action cut where the alum's id goes: one url_for for every row's form."""
    action = url_for("committee.request_introduction", relationship_id=relationship_id, alumnus_id=_ANY_ID,
                     **request.args)
    before, after = action.split(str(_ANY_ID))
    return before, after


_ANY_ID = 987654321  # stands for the alum in a form action built once per page


def _contacts(db, row) -> decisions.Contacts | None:
    """The contacts an approved request reveals, read afresh (never kept); None for any other row."""
    if row.request_status != "approved":
        return None
    return decisions.contacts_for(db, db.get(MatchRequest, row.request_id))


def _partner_map(db, kept: dict, relationship_id: int) -> Markup:
    partner_map = kept.get(("partner_map", relationship_id))
    if partner_map is None:
        partner_map = kept[("partner_map", relationship_id)] = Markup(
            render_template("maps/_partner.html", rel=_loaded(db, relationship_id)))
    return partner_map


def _slot(row, contact: decisions.Contacts | None, action: tuple[str, str] | tuple[()]) -> Markup:
    """A shown alum's request slot (committee/_slot.html): the contact once approved, the request's status,
    or the form to ask for an introduction."""
    req = _Request(row.request_id, row.request_status) if row.request_id is not None else None
    return get_template_attribute("committee/_slot.html", "slot")(row.alum_id, req, contact, action)


class _Request(NamedTuple):
    id: int
    status: str


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

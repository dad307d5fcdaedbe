"""An alum's own profile: home, placements, interests, consent; suggestions; export; deletion."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matcher import accounts, decisions
from matcher.models import ROLES, Alumnus, MatchRequest, Placement, Suggestion
from matcher.scoring.readback import suggestion_reasons
from web.auth import login_required, role_required
from web.database import gazetteer, get_session
from web.places import PlaceError, chapter_for_state, resolve_jp, resolve_us
from web.present import place_suggestions, reasons

bp = Blueprint("alumnus", __name__)


def _me(db) -> Alumnus:
    return db.get(Alumnus, g.user.alumnus_id)


def _int(form, name: str, low: int, high: int, default: int) -> int:
    value = form.get(name, type=int)
    return default if value is None else max(low, min(high, value))


def _rescore(db, alum: Alumnus) -> None:
    """Refresh the alum's suggestions when the engine offers an incremental re-score."""
    try:
        from matcher.scoring import suggestions as scoring
    except ImportError:
        return
    for name in ("rescore_alumnus", "refresh_alumnus"):
        fn = getattr(scoring, name, None)
        if fn is not None:
            try:
                fn(db, alum.id)
            except Exception:  # a scoring failure must not lose the profile edit
                from flask import current_app

                current_app.logger.exception("re-scoring alum %s failed", alum.id)
            return


@bp.route("/me", methods=["GET", "POST"])
@role_required("alumnus")
def profile():
    """Show and edit the alum's own profile."""
    db = get_session()
    alum = _me(db)
    status = 200
    if request.method == "POST":
        form = request.form
        home = form.get("home", "").strip()
        if home and home != alum.home:
            try:
                where = resolve_us(db, home, gazetteer())
            except PlaceError as exc:
                flash(str(exc) + ".", "error")
                status = 400
            else:
                alum.home, alum.home_place_id, alum.home_state_abbr = home, where.place_id, where.state
                alum.home_lat, alum.home_lon = where.lat, where.lon
                alum.chapter_id = chapter_for_state(db, where) or alum.chapter_id
        alum.interests = form.get("interests", "")[:2000]
        alum.japanese_level = _int(form, "japanese_level", 0, 5, alum.japanese_level)
        alum.availability_hours = _int(form, "availability_hours", 0, 168, alum.availability_hours)
        alum.max_matches = _int(form, "max_matches", 0, 50, alum.max_matches)
        alum.consent = bool(form.get("consent"))
        alum.consent_contact = bool(form.get("consent_contact"))
        if status == 200:
            _rescore(db, alum)
            db.commit()
            flash("Profile saved.", "info")
            return redirect(url_for("alumnus.profile")), 303
        db.rollback()
        alum = _me(db)
    return render_template("alumnus/profile.html", alum=alum, roles=ROLES), status


@bp.post("/me/placements")
@role_required("alumnus")
def add_placement():
    """Add a placement by place name; old merged names are accepted."""
    db = get_session()
    alum = _me(db)
    form = request.form
    try:
        place = resolve_jp(db, form.get("place", ""), gazetteer())
        start, end = form.get("start_year", type=int), form.get("end_year", type=int)
        role = form.get("role", "ALT").upper()
        if role not in ROLES or start is None or end is None:
            raise PlaceError("give the role and both years")
        db.add(Placement(alumnus_id=alum.id, place=form.get("place", "").strip()[:200],
                         municipality_code=place.municipality_code, prefecture_code=place.prefecture_code,
                         alias_id=place.alias_id, role=role, start_year=start, end_year=end,
                         employer=form.get("employer", "").strip()[:200]))
        db.flush()
    except PlaceError as exc:
        db.rollback()
        flash(str(exc).capitalize() + ".", "error")
    except IntegrityError:
        db.rollback()
        flash("Those years are not possible (JET began in 1987; a placement lasts at most ten years), "
              "or you added this placement already.", "error")
    else:
        _rescore(db, alum)
        db.commit()
        flash(f"Added {place.label}.", "info")
    return redirect(url_for("alumnus.profile")), 303


@bp.post("/me/placements/<int:placement_id>/delete")
@role_required("alumnus")
def delete_placement(placement_id: int):
    """Remove one of the alum's placements."""
    db = get_session()
    placement = db.get(Placement, placement_id)
    if placement is None or placement.alumnus_id != g.user.alumnus_id:
        from flask import abort

        abort(404)
    db.delete(placement)
    db.commit()
    flash("Placement removed.", "info")
    return redirect(url_for("alumnus.profile")), 303


@bp.get("/me/suggestions")
@role_required("alumnus")
def suggestions():
    """Show the relationships suggested for the alum, why, and any introductions."""
    db = get_session()
    rows = db.scalars(select(Suggestion).where(Suggestion.kind == "volunteer",
                                               Suggestion.alumnus_id == g.user.alumnus_id)
                      .order_by(Suggestion.score.desc()).limit(50)).all()
    rows = list(zip(rows, suggestion_reasons(db, rows)))
    intros = db.scalars(select(MatchRequest).where(MatchRequest.alumnus_id == g.user.alumnus_id)
                        .order_by(MatchRequest.requested_at.desc())).all()
    contacts = {r.id: decisions.contacts_for(db, r) for r in intros}
    return render_template("alumnus/suggestions.html", rows=rows, intros=intros, contacts=contacts,
                           reasons=reasons)


@bp.get("/me/data.json")
@role_required("alumnus")
def download():
    """Download everything jetmatch holds about the alum, as JSON."""
    db = get_session()
    body = json.dumps(accounts.export_alumnus(db, _me(db)), ensure_ascii=False, indent=2, default=str)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=jetmatch-my-data.json"})


@bp.route("/me/delete", methods=["GET", "POST"])
@role_required("alumnus")
def delete():
    """Delete the alum's account, placements and suggestions (decisions stay, anonymised)."""
    if request.method == "POST":
        if request.form.get("confirm") != "delete":
            flash("Type “delete” to confirm.", "error")
            return render_template("alumnus/delete.html"), 400
        db = get_session()
        accounts.delete_alumnus(db, _me(db))
        db.commit()
        session.clear()
        flash("Your account and data are deleted.", "info")
        return redirect(url_for("auth.login")), 303
    return render_template("alumnus/delete.html")


@bp.get("/places/suggest")
@login_required
def suggest_places():
    """Autocomplete Japanese places (JSON): old names come as "Ishidoriya (now Hanamaki)"."""
    return jsonify(place_suggestions(get_session(), request.args.get("q", ""), gazetteer()))

"""An alum's own profile: home, placements, interests, consent; suggestions; export; deletion."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matcher import accounts, decisions
from matcher.models import Alumnus, MatchRequest, Placement, Suggestion
from matcher.scoring import rescore_alumnus
from matcher.scoring.readback import suggestion_reasons
from web.auth import login_required, role_required
from web.database import gazetteer, get_session
from web.forms import ActionForm, PlacementForm, ProfileForm
from web.places import PlaceError, chapter_for_state, preview_jp, resolve_jp, resolve_us
from web.present import place_suggestions, reasons

bp = Blueprint("alumnus", __name__)


def _me(db) -> Alumnus:
    return db.get(Alumnus, g.user.alumnus_id)


def _rescore(db, alum: Alumnus) -> None:
    """Refresh the alum's suggestions (an incremental re-score of one alum takes milliseconds)."""
    try:
        rescore_alumnus(db, alum.id)
    except Exception:  # a scoring failure must not lose the profile edit
        current_app.logger.exception("re-scoring alum %s failed", alum.id)


def _profile_page(alum: Alumnus, profile_form: ProfileForm | None = None,
                  placement_form: PlacementForm | None = None, status: int = 200):
    return render_template("alumnus/profile.html", alum=alum, form=profile_form or ProfileForm(obj=alum, formdata=None),
                           placement_form=placement_form or PlacementForm(formdata=None),
                           action_form=ActionForm(formdata=None)), status


@bp.route("/me", methods=["GET", "POST"])
@role_required("alumnus")
def profile():
    """Show and edit the alum's own profile."""
    db = get_session()
    alum = _me(db)
    if request.method == "GET":
        return _profile_page(alum)
    form = ProfileForm()
    if not form.validate():
        return _profile_page(alum, form, status=400)
    home = form.home.data.strip()
    if home and home != alum.home:
        try:
            where = resolve_us(db, home, gazetteer())
        except PlaceError as exc:
            form.home.errors.append(str(exc) + ".")
            return _profile_page(alum, form, status=400)
        alum.home, alum.home_place_id, alum.home_state_abbr = home, where.place_id, where.state
        alum.home_lat, alum.home_lon = where.lat, where.lon
        alum.chapter_id = chapter_for_state(db, where) or alum.chapter_id
    alum.interests = form.interests.data
    alum.japanese_level = form.japanese_level.data
    alum.availability_hours = form.availability_hours.data
    alum.max_matches = form.max_matches.data
    withdrawing = alum.consent and not form.consent.data
    alum.consent = form.consent.data
    alum.consent_contact = form.consent_contact.data
    closed = decisions.withdraw_consent(db, alum, g.user.login) if withdrawing else []
    _rescore(db, alum)
    db.commit()
    flash("Profile saved." + (f" {len(closed)} waiting introduction request{'s' if len(closed) != 1 else ''} "
                              "closed: the committees are told you are no longer available." if closed
                              else ""), "info")
    return redirect(url_for("alumnus.profile")), 303


@bp.post("/me/placements")
@role_required("alumnus")
def add_placement():
    """Add a placement by place name; old merged names are accepted."""
    db = get_session()
    alum = _me(db)
    form = PlacementForm()
    if request.form.get("preview"):  # "Check place": say what the text resolves to, save nothing
        found = preview_jp(request.form.get("place", ""), gazetteer())
        flash(found["message"][:300], "info" if found["status"] == "resolved" else "error")
        return redirect(url_for("alumnus.profile")), 303
    if not form.validate():
        return _profile_page(alum, placement_form=form, status=400)
    try:
        place = resolve_jp(db, form.place.data, gazetteer())
    except PlaceError as exc:
        message = str(exc)
        form.place.errors.append(message[:1].upper() + message[1:] + ("" if message.endswith((".", "?")) else "."))
        return _profile_page(alum, placement_form=form, status=400)
    try:
        db.add(Placement(alumnus_id=alum.id, place=form.place.data.strip(),
                         municipality_code=place.municipality_code, prefecture_code=place.prefecture_code,
                         alias_id=place.alias_id, role=form.role.data, start_year=form.start_year.data,
                         end_year=form.end_year.data, employer=form.employer.data.strip()))
        db.flush()
    except IntegrityError:
        db.rollback()
        flash("You added this placement already.", "error")
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
    q = request.args.get("q", "")
    if len(q) > 200:  # no place name is that long: nothing to look up
        return jsonify([])
    return jsonify(place_suggestions(get_session(), q, gazetteer()))


@bp.get("/places/resolve")
@login_required
def resolve_place():
    """Say what a placement text resolves to before saving (JSON): "Ishidoriya — merged into Hanamaki on 2006-01-01"."""
    return jsonify(preview_jp(request.args.get("q", ""), gazetteer()))

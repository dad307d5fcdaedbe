"""Coordinators: potential new partnerships, with reasons and champions; mark one as proposed."""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from matcher import partnerships as pt
from web.auth import role_required
from web.database import get_session

bp = Blueprint("partnerships", __name__)

TOP = 20
CACHE_SECONDS = 600  # a fingerprint catches new pairs, alumni and placements; this bounds the rest


def _fresh(entry: dict | None, fingerprint: tuple) -> bool:
    return bool(entry) and entry["fingerprint"] == fingerprint and time.monotonic() - entry["at"] < CACHE_SECONDS


def _basis(db) -> dict:
    """Return {fingerprint, graph, model, version}, from this app's cache while the data behind
    them is unchanged (loading the graph and ranking every pair take seconds; the page must not)."""
    cache = current_app.extensions.setdefault("jetmatch_partnerships", {})
    fingerprint = pt.data_fingerprint(db)
    if not _fresh(cache.get("basis"), fingerprint):
        graph = pt.load_graph(db)
        model, version = pt.model_for(db, graph)
        cache.clear()
        cache["basis"] = {"fingerprint": fingerprint, "at": time.monotonic(), "graph": graph, "model": model,
                          "version": version}
    return cache["basis"]


def _ranked(db, level: str) -> tuple[dict, list[dict]]:
    """Return the basis and the top suggestions at ``level`` (cached with it)."""
    basis = _basis(db)
    cache = current_app.extensions["jetmatch_partnerships"]
    if level not in cache:
        cache[level] = pt.suggest_partnerships(db, top=TOP, level=level, graph=basis["graph"],
                                               model=basis["model"])
    return basis, cache[level]


def _shown_pair(db, us: str, jp: str) -> dict | None:
    """The stored suggestion for this pair (any level), if the newest model stored one."""
    us_key = f"place:{us}" if us.isdigit() else f"state:{us}"
    jp_key = f"muni:{jp}" if len(jp) == 5 else f"pref:{jp}"
    for level in pt.LEVELS:
        stored = pt.stored_suggestions(db, level) or {"rows": []}
        for row in stored["rows"]:
            if row["us_key"] == us_key and row["jp_key"] == jp_key:
                return row
    return None


@bp.get("/partnerships")
@role_required("coordinator")
def index():
    """Show the likeliest new partnerships, with reasons and the alumni who could champion each."""
    db = get_session()
    level = request.args.get("level", "any")
    if level not in pt.LEVELS:
        abort(404)
    stored = pt.stored_suggestions(db, level)  # ranked when the model was trained: no cold page
    if stored is not None:
        rows, version, pairs, stale = stored["rows"], stored["version"], stored["pairs"], stored["stale"]
    else:
        basis, rows = _ranked(db, level)
        version, pairs, stale = basis["version"], len(basis["graph"].us), False
    return render_template("partnerships/index.html", rows=rows, version=version, pairs=pairs, stale=stale,
                           stored=stored is not None, level=level, levels=pt.LEVELS,
                           proposals=pt.open_proposals(db), summarise=pt.summarise_reasons)


@bp.post("/partnerships/propose")
@role_required("coordinator")
def propose():
    """Mark a suggested pair as proposed: a request in the queue, decided like any other."""
    db = get_session()
    us, jp = request.form.get("us", "").strip(), request.form.get("jp", "").strip()
    level = request.form.get("level", "any")
    back = url_for("partnerships.index", level=level if level in pt.LEVELS else "any")
    if not us or not jp.isdigit() or len(jp) not in (2, 5):
        flash("Choose a suggested pair to propose.", "error")
        return redirect(back), 400
    shown = _shown_pair(db, us, jp)  # the score and reasons the page showed, when stored
    basis = {"graph": None, "model": None} if shown else _basis(db)
    try:
        req = pt.propose_partnership(db, us, jp, by_login=g.user.login, note=request.form.get("note", ""),
                                     graph=basis["graph"], model=basis["model"], described=shown)
    except ValueError:
        db.rollback()
        flash("That pair cannot be proposed: it is already a partnership, or a side is unknown.", "error")
        return redirect(back), 400
    db.commit()
    label = pt.proposal_labels(db, [req])[req.id]
    flash(f"Marked as proposed: {label} (request #{req.id} in the queue).", "info")
    return redirect(back), 303

"""Coordinators: the approval queue, decisions, history, CSV import and export, invites."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from matcher import accounts, decisions
from matcher.partnerships import proposal_labels
from matcher.models import USER_ROLES, Chapter, MatchRequest, User
from web.auth import role_required
from web.database import gazetteer, get_session
from web.present import reasons, safe_cell

bp = Blueprint("coordinator", __name__)

IMPORT_KINDS = ("alumni", "placements", "relationships", "chapters")


def _decide(db, request_id: int, status: str, note: str, expected: int | None) -> str | None:
    """Decide one request; return an error message, or None.

    No savepoint is needed: `decide` writes nothing before its compare-and-set has won, and
    the consent check is part of that compare-and-set.
    """
    try:
        decisions.decide(db, request_id, status, g.user.login, note, expected_count=expected)
    except decisions.ConsentWithdrawn as exc:
        return str(exc)[0].upper() + str(exc)[1:] + "."
    except decisions.AlreadyDecided as exc:
        return f"Request #{request_id} was already decided by {exc.decided_by or 'someone else'}."
    except decisions.DecisionError as exc:
        return str(exc).capitalize() + "."
    return None


@bp.get("/queue")
@role_required("coordinator")
def queue():
    """Show the open requests, oldest first."""
    db = get_session()
    page = max(1, request.args.get("page", 1, type=int))
    size = current_app.config["PAGE_SIZE"]
    total = db.scalar(select(func.count()).select_from(decisions.queue().subquery()))
    items = db.scalars(decisions.queue().offset((page - 1) * size).limit(size)).all()
    return render_template("coordinator/queue.html", items=items, total=total, page=page, size=size,
                           reasons=reasons, labels=proposal_labels(db, items))


@bp.post("/queue/<int:request_id>/decide")
@role_required("coordinator")
def decide(request_id: int):
    """Approve, reject or hold one request, with a note."""
    db = get_session()
    status = request.form.get("status", "")
    expected = request.form.get("expected", type=int)
    error = _decide(db, request_id, status, request.form.get("note", ""), expected)
    if error:
        db.rollback()
        flash(error, "error")
        return redirect(url_for("coordinator.queue")), 303
    db.commit()  # the approval e-mails went into the outbox with the decision
    req = db.get(MatchRequest, request_id)
    done = "approved: proposed to both cities" if status == "approved" and req.kind == "new_partnership" else status
    flash(f"Request #{request_id}: {done.replace('_', ' ')}.", "info")
    return redirect(url_for("coordinator.queue")), 303


@bp.post("/queue/bulk")
@role_required("coordinator")
def bulk():
    """Approve every ticked request; report the ones someone else decided first."""
    db = get_session()
    done, errors = [], []
    for value in request.form.getlist("pick"):
        rid, _, expected = value.partition(":")
        if not rid.isdigit():
            continue
        error = _decide(db, int(rid), "approved", request.form.get("note", ""),
                        int(expected) if expected.isdigit() else None)
        (errors.append(error) if error else done.append(int(rid)))
    db.commit()
    flash(f"Approved {len(done)} request{'s' if len(done) != 1 else ''}.", "info")
    for error in errors:
        flash(error, "error")
    return redirect(url_for("coordinator.queue")), 303


@bp.get("/history")
@role_required("coordinator")
def history():
    """Show every decision, newest first: who, when, what and why."""
    db = get_session()
    page = max(1, request.args.get("page", 1, type=int))
    size = current_app.config["PAGE_SIZE"]
    rows = db.execute(decisions.history().offset((page - 1) * size).limit(size)).all()
    return render_template("coordinator/history.html", rows=rows, page=page, size=size,
                           labels=proposal_labels(db, [r for _, r in rows]))


@bp.get("/export.csv")
@role_required("coordinator")
def export():
    """Download every decision as CSV (no contact details)."""
    db = get_session()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["request_id", "kind", "relationship", "volunteer_or_chapter", "score", "sequence",
                     "status", "decided_by", "decided_at", "note"])
    rows = db.execute(decisions.history()).all()
    labels = proposal_labels(db, [r for _, r in rows])
    for decision, req in rows:
        who = req.alumnus.display_name if req.alumnus else (req.chapter.name if req.chapter else
                                                              "" if req.id in labels else "(deleted)")
        what = req.relationship_.label if req.relationship_ else labels.get(req.id, "")
        writer.writerow([safe_cell(cell) for cell in (
            req.id, req.kind, what, who, round(req.score, 2) if req.score is not None else "", decision.sequence,
            decision.status, decision.decided_by, decision.decided_at.isoformat(), decision.note)])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=jetmatch-decisions.csv"})


@bp.route("/import", methods=["GET", "POST"])
@role_required("coordinator")
def import_csv():
    """Check a CSV against the import rules and, unless it is a dry run, import it."""
    report, status = None, 200
    if request.method == "POST":
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        if kind not in IMPORT_KINDS or upload is None or not upload.filename:
            flash("Choose what the file holds and a CSV file.", "error")
            return render_template("coordinator/import.html", kinds=IMPORT_KINDS, report=None), 400
        try:
            from matcher.ingest.importer import import_csv as run_import
        except ImportError:
            abort(503)
        db = get_session()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{kind}.csv"
            upload.save(path)
            report = run_import(db, kind, path, gazetteer=gazetteer(), dry_run=bool(request.form.get("dry_run")))
        db.commit()
        status = 200 if report.ok else 422
    return render_template("coordinator/import.html", kinds=IMPORT_KINDS, report=report), status


@bp.route("/users", methods=["GET", "POST"])
@role_required("coordinator")
def users():
    """List accounts and invite a new one (the invite link is shown once)."""
    db = get_session()
    invite_link, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            user, token = accounts.create_user(
                db, form.get("login", ""), form.get("role", ""), chapter=form.get("chapter") or None,
                relationship_id=form.get("relationship_id", type=int), alum=form.get("alum") or None)
        except accounts.AccountError as exc:
            db.rollback()
            flash(str(exc).capitalize() + ".", "error")
            status = 400
        else:
            db.commit()
            invite_link = url_for("auth.invite", token=token, _external=True)
            flash(f"Invited {user.login}. Send them the link below; it works once.", "info")
    rows = db.scalars(select(User).order_by(User.role, User.login)).all()
    chapters = db.scalars(select(Chapter).order_by(Chapter.name)).all()
    return render_template("coordinator/users.html", rows=rows, roles=USER_ROLES, chapters=chapters,
                           invite_link=invite_link), status

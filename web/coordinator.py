"""Coordinators: the approval queue, decisions, history, CSV import and export, invites."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from matcher import accounts, decisions, jobs
from matcher.ingest import import_csv as run_import
from matcher.partnerships import proposal_labels
from matcher.models import Chapter, MatchRequest, User
from web.auth import invite_url, role_required
from web.database import gazetteer, get_session
from web.forms import ActionForm, BulkForm, DecideForm, ImportForm, UserForm, chapter_choices
from web.present import reasons, safe_cell
from web.security import MAX_ID, MAX_PAGE, int_arg

bp = Blueprint("coordinator", __name__)


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
    page = int_arg("page", 1, 1, MAX_PAGE)
    size = current_app.config["PAGE_SIZE"]
    total = db.scalar(select(func.count()).select_from(decisions.queue().subquery()))
    items = db.scalars(decisions.queue().offset((page - 1) * size).limit(size)).all()
    return render_template("coordinator/queue.html", items=items, total=total, page=page, size=size,
                           reasons=reasons, labels=proposal_labels(db, items), form=DecideForm(formdata=None))


@bp.post("/queue/<int:request_id>/decide")
@role_required("coordinator")
def decide(request_id: int):
    """Approve, reject or hold one request, with a note."""
    db = get_session()
    form = DecideForm()
    if not form.validate():
        flash(f"Request #{request_id}: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors
                                                     in form.errors.items()), "error")
        return redirect(url_for("coordinator.queue")), 303
    status = form.status.data
    error = _decide(db, request_id, status, form.note.data, form.expected.data)
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
    form = BulkForm()
    if not form.validate():
        flash("Note: " + " ".join(form.note.errors or ["the form has expired; reload the page"]), "error")
        return redirect(url_for("coordinator.queue")), 303
    done, errors = [], []
    for value in request.form.getlist("pick")[:MAX_PAGE]:
        rid, _, expected = value.partition(":")
        if not rid.isdigit() or int(rid) > MAX_ID:
            continue
        error = _decide(db, int(rid), "approved", form.note.data,
                        int(expected) if expected.isdigit() and int(expected) <= MAX_ID else None)
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
    page = int_arg("page", 1, 1, MAX_PAGE)
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
    form = ImportForm()
    report, status, followups = None, 200, []
    if request.method == "POST":
        if not form.validate():
            return render_template("coordinator/import.html", form=form, report=None, followups=[]), 400
        db = get_session()
        upload = form.file.data
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{form.kind.data}.csv"
            upload.save(path)
            report = run_import(db, form.kind.data, path, gazetteer=gazetteer(), dry_run=form.dry_run.data)
        report.file = upload.filename  # the jobs page names the file the coordinator chose
        followups = _followups(db, jobs.after_import(db, report, requested_by=g.user.login))
        db.commit()  # the import and its jobs together; the jobs go to the queue now
        status = 200 if report.ok else 422
    return render_template("coordinator/import.html", form=form, report=report, followups=followups), status


def _followups(db, queued) -> list[dict]:
    """What the import page says about the jobs an import queued ("scoring 12 alumni")."""
    out = []
    for job in queued:
        doing = jobs.describe_rescore(db, job) if job.kind == "rescore" else job.title
        out.append({"id": job.id, "doing": doing[:1].upper() + doing[1:]})
    return out


def _user_form(db) -> UserForm:
    form = UserForm()
    form.chapter.choices = chapter_choices(db.scalars(select(Chapter).order_by(Chapter.name)))
    return form


def _users_page(db, form: UserForm, status: int = 200, invite_link: str | None = None):
    rows = db.scalars(select(User).order_by(User.role, User.login)).all()
    return render_template("coordinator/users.html", rows=rows, form=form, action_form=ActionForm(formdata=None),
                           summaries={u.id: accounts.user_summary(u) for u in rows},
                           invite_link=invite_link), status


@bp.route("/users", methods=["GET", "POST"])
@role_required("coordinator")
def users():
    """List accounts and invite a new one (the invite link is shown once)."""
    db = get_session()
    form = _user_form(db)
    if request.method == "GET":
        return _users_page(db, form)
    if not form.validate():
        return _users_page(db, form, 400)
    try:
        user, token = accounts.create_user(
            db, form.login.data, form.role.data, chapter=form.chapter.data or None,
            relationship_id=form.relationship_id.data, alum=form.alum.data or None,
            invite_days=current_app.config["INVITE_DAYS"])
    except accounts.AccountError as exc:
        db.rollback()
        flash(str(exc).capitalize() + ".", "error")
        return _users_page(db, form, 400)
    db.commit()
    days = current_app.config["INVITE_DAYS"]
    flash(f"Invited {user.login}. Send them the link below; it works once, for {days} days.", "info")
    return _users_page(db, _user_form(db), invite_link=invite_url(token))


USER_ACTIONS = ("disable", "enable", "reset-password", "revoke-token")


@bp.post("/users/<int:user_id>/<action>")
@role_required("coordinator")
def user_action(user_id: int, action: str):
    """Disable, enable, reset the password of, or revoke the API token of one account."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None or action not in USER_ACTIONS:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    if user.id == g.user.id and action in ("disable", "reset-password"):
        flash("You cannot disable or reset your own account here; ask another coordinator.", "error")
        return redirect(url_for("coordinator.users")), 303
    link = None
    if action == "disable":
        accounts.disable_user(db, user)
        done = f"Disabled {user.login}: their sessions and API token no longer work."
    elif action == "enable":
        accounts.enable_user(db, user)
        done = f"Enabled {user.login}."
    elif action == "revoke-token":
        done = f"Revoked the API token of {user.login}." if accounts.revoke_api_token(user) else \
            f"{user.login} had no API token."
    else:
        link = invite_url(accounts.reset_password(db, user, invite_days=current_app.config["INVITE_DAYS"]))
        done = (f"Reset the password of {user.login}: their sessions ended. Send them the link below to choose "
                f"a new one; it works once, for {current_app.config['INVITE_DAYS']} days.")
    db.commit()
    flash(done, "info")
    if link:
        return _users_page(db, _user_form(db), invite_link=link)
    return redirect(url_for("coordinator.users")), 303

"""Signing in and out, invites, API tokens, and the role checks every other view uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from matcher import accounts
from matcher.models import User
from web.database import get_session

__all__ = ["bp", "login_required", "role_required", "can_see_relationship", "can_see_chapter"]

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_user() -> None:
    """Put the signed-in user (or None) on ``g.user``."""
    uid = session.get("uid")
    g.user = None
    if uid is not None:
        user = get_session().get(User, uid)
        if user is not None and user.active:
            g.user = user


def login_required(view: Callable) -> Callable:
    """Send anonymous visitors to the sign-in page, then back."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def role_required(*roles: str, scope: Callable[..., bool] | None = None) -> Callable:
    """Allow only users with one of ``roles``; coordinators pass wherever they are listed.

    ``scope(user, **view_args)`` narrows a role to its own chapter, relationship or
    profile; coordinators are not scoped.
    """
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(**kwargs):
            user = g.user
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role not in roles:
                abort(403)
            if scope is not None and user.role != "coordinator" and not scope(user, **kwargs):
                abort(403)
            return view(**kwargs)
        return wrapped
    return decorator


def can_see_relationship(user: User, relationship_id: int, **_) -> bool:
    """Whether ``user`` may see the volunteers of one relationship."""
    return user.role == "coordinator" or (user.role == "committee" and user.relationship_id == relationship_id)


def can_see_chapter(user: User, slug: str, **_) -> bool:
    """Whether ``user`` may see one chapter's partner suggestions."""
    return user.role == "coordinator" or (user.role == "chapter_lead" and user.chapter is not None
                                          and user.chapter.slug == slug)


def _safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a login and password."""
    if request.method == "POST":
        with current_app.extensions["jetmatch_limiter"].limit(current_app.config["LOGIN_RATE_LIMIT"],
                                                              scope="login"):
            user = accounts.authenticate(get_session(), request.form.get("login", ""),
                                         request.form.get("password", ""))
        if user is not None:
            session.clear()
            session["uid"] = user.id
            session.permanent = True
            return redirect(_safe_next(request.form.get("next")))
        flash("That login and password do not match an account.", "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 401
    if g.user is not None:
        return redirect(url_for("home.index"))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/logout")
def logout():
    """Sign out."""
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    """Choose a password with an invite link."""
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error = "The two passwords differ."
        else:
            db = get_session()
            try:
                user = accounts.accept_invite(db, token, password)
            except accounts.AccountError as exc:
                error = str(exc).capitalize() + "."
            else:
                if user is None:
                    abort(404)
                db.commit()
                session.clear()
                session["uid"] = user.id
                flash("Welcome to jetmatch: your password is set.", "info")
                return redirect(url_for("home.index"))
    return render_template("auth/invite.html", error=error), 400 if error else 200


@bp.route("/account/token", methods=["GET", "POST"])
@login_required
def api_token():
    """Issue a personal API token (shown once)."""
    token = None
    if request.method == "POST":
        db = get_session()
        user = db.get(User, g.user.id)
        token = accounts.new_api_token(db, user)
        db.commit()
    return render_template("auth/token.html", token=token)

"""Signing in and out, invites, API tokens, and the role checks every other view uses.

A session cookie holds the user's id, their ``session_version`` when it was issued, the
sign-in time and the last request's time. It stops working when the version moved on
(sign-out anywhere, a new password, a disabled account), after ``SESSION_IDLE_TIMEOUT``
seconds without a request, and ``SESSION_ABSOLUTE_LIFETIME`` seconds after sign-in.
Wrong passwords are counted in the database (:mod:`matcher.throttle`), so every worker
holds the same line.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from sqlalchemy import bindparam, select

from matcher import accounts, throttle
from matcher.models import CHANGE_STAMP, User
from web.database import get_session
from web.forms import ActionForm, InviteForm, LoginForm
from web.security import QUIET_ENDPOINTS

__all__ = ["bp", "login_required", "role_required", "can_see_relationship", "can_see_chapter", "invite_url"]

bp = Blueprint("auth", __name__)

# The last-request time is rewritten at most this often (seconds): fewer fresh cookies.
SEEN_GRAIN = 60


class SignedInUser:
    """The signed-in user as ``g.user``: the columns every request reads (one plain row, no ORM), and any
    other attribute (``chapter``, ``alumnus``, ``name``…) from the :class:`~matcher.models.User`, loaded
    on first use (:meth:`orm`)."""

    __slots__ = ("id", "login", "role", "active", "session_version", "relationship_id", "chapter_id", "alumnus_id",
                 "_user")
    COLUMNS = (User.id, User.login, User.role, User.active, User.session_version, User.relationship_id,
               User.chapter_id, User.alumnus_id)

    def __init__(self, row) -> None:
        for name, value in zip(self.__slots__, row):
            setattr(self, name, value)
        self._user = None

    def orm(self) -> User:
        """The user as a model in this request's session."""
        if self._user is None:
            self._user = get_session().get(User, self.id)
        return self._user

    def __getattr__(self, name: str):  # only for names not read above
        return getattr(self.orm(), name)

    def __repr__(self) -> str:
        return f"<SignedInUser {self.id} {self.login} {self.role}>"


# Built once: the row of the signed-in user's columns (a select's construction costs more than its run),
# and the database's change stamp in the same statement (g.data_stamp: web.present.data_stamp reads it).
_SIGNED_IN = select(*SignedInUser.COLUMNS, CHANGE_STAMP.scalar_subquery()).where(User.id == bindparam("uid"))


def _session_alive(user: SignedInUser | None, now: float) -> bool:
    cfg = current_app.config
    return (user is not None and user.active and session.get("sv") == user.session_version
            and now - session.get("at", 0) <= cfg["SESSION_ABSOLUTE_LIFETIME"]
            and now - session.get("seen", 0) <= cfg["SESSION_IDLE_TIMEOUT"])


@bp.before_app_request
def load_user() -> None:
    """Put the signed-in user (or None) on ``g.user``; end a session that is over."""
    uid = session.get("uid")
    g.user = None
    if uid is None:
        return
    row = get_session().connection().execute(_SIGNED_IN, {"uid": uid}).first() if isinstance(uid, int) else None
    user = SignedInUser(row) if row is not None else None
    if row is not None:
        g.data_stamp = int(row[-1])
    now = time.time()
    if not _session_alive(user, now):
        session.clear()
        flash("Your session has ended: please sign in again.", "info")
        return
    if now - session["seen"] >= SEEN_GRAIN and request.endpoint not in QUIET_ENDPOINTS:
        session["seen"] = int(now)
    g.user = user


def _start_session(user: User) -> None:
    now = int(time.time())
    session.clear()
    session.update(uid=user.id, sv=user.session_version, at=now, seen=now)
    session.permanent = True


def invite_url(token: str) -> str:
    """The invite link, on the site's configured address (``JETMATCH_BASE_URL``), never the request's Host."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("auth.invite", token=token)


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
    form = LoginForm()
    if request.method == "GET":
        if g.user is not None:
            return redirect(url_for("home.index"))
        form.next.data = request.args.get("next", "")[:2000]
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400
    db, cfg = get_session(), current_app.config
    ip = request.remote_addr or ""
    wait = throttle.wait_for(db, form.login.data, ip, account_limit=cfg["LOGIN_ACCOUNT_LIMIT"],
                             ip_limit=cfg["LOGIN_IP_LIMIT"], window=dt.timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"]))
    if wait:
        n = throttle.minutes(wait)
        flash(f"Too many wrong passwords: try again in {n} minute{'s' if n != 1 else ''}.", "error")
        return render_template("auth/login.html", form=form), 429, {"Retry-After": str(int(wait) + 1)}
    user = accounts.authenticate(db, form.login.data, form.password.data)
    if user is not None:
        _start_session(user)
        return redirect(_safe_next(form.next.data))
    throttle.record_failure(db, form.login.data, ip)
    db.commit()
    flash("That login and password do not match an account.", "error")
    return render_template("auth/login.html", form=form), 401


@bp.post("/logout")
def logout():
    """Sign out here and on every other device."""
    if g.user is not None:
        db = get_session()
        accounts.end_sessions(db.get(User, g.user.id))
        db.commit()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    """Choose a password with an invite link."""
    form = InviteForm()
    error = None
    db = get_session()
    if request.method == "POST" and accounts.invited_user(db, token) is None:
        abort(404)
    if form.validate_on_submit():
        try:
            user = accounts.accept_invite(db, token, form.password.data)
        except accounts.AccountError as exc:
            error = str(exc).capitalize() + "."
        else:
            if user is None:
                abort(404)
            db.commit()
            _start_session(user)
            flash("Welcome to jetmatch: your password is set.", "info")
            return redirect(url_for("home.index"))
    failed = error or form.errors
    return render_template("auth/invite.html", form=form, error=error), 400 if failed else 200


@bp.route("/account/token", methods=["GET", "POST"])
@login_required
def api_token():
    """Issue a personal API token (shown once), or revoke the one there is."""
    form = ActionForm()
    token = None
    db = get_session()
    user = db.get(User, g.user.id)
    if form.validate_on_submit():
        if request.form.get("action") == "revoke":
            accounts.revoke_api_token(user)
            flash("Your API token is revoked.", "info")
        else:
            token = accounts.new_api_token(db, user, days=current_app.config["API_TOKEN_DAYS"])
        db.commit()
    return render_template("auth/token.html", form=form, token=token, summary=accounts.user_summary(user))

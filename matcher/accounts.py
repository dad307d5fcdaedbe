"""Users, passwords, API tokens and invites; an alum's own data export and deletion.

No Flask here: the web app and the CLI both pass a session in. Passwords are hashed
with argon2id; API and invite tokens are random and only their SHA-256 is stored,
so a copy of the database holds nothing a client could present. Invites expire after
``INVITE_DAYS`` and API tokens after ``TOKEN_DAYS``; signing out, a new password and
disabling an account bump the user's ``session_version``, which ends every session
cookie issued before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matcher.decisions import withdraw_consent
from matcher.models import USER_ROLES, Alumnus, Chapter, MatchRequest, Relationship, Suggestion, User

__all__ = [
    "AccountError",
    "hash_password",
    "verify_password",
    "create_user",
    "authenticate",
    "accept_invite",
    "invited_user",
    "new_invite",
    "new_api_token",
    "revoke_api_token",
    "user_for_api_token",
    "find_user",
    "set_password",
    "end_sessions",
    "disable_user",
    "enable_user",
    "reset_password",
    "user_summary",
    "INVITE_DAYS",
    "TOKEN_DAYS",
    "export_alumnus",
    "delete_alumnus",
]

_hasher = PasswordHasher()
# Verified against when the login is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 would hash a megabyte happily; nobody types one
INVITE_DAYS = 7
TOKEN_DAYS = 90
# A token's last use is written at most this often, so the API does not write on every call.
LAST_USE_GRAIN = dt.timedelta(minutes=1)


class AccountError(ValueError):
    """Say that a user could not be created or changed; the message says why, for a person.

    Examples
    --------
    >>> issubclass(AccountError, ValueError)
    True
    """


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``.

    Parameters
    ----------
    password : str
        The password as typed.

    Returns
    -------
    str
        The encoded hash, salt and parameters included.

    Examples
    --------
    >>> stored = hash_password("correct horse")
    >>> stored.startswith("$argon2id$"), verify_password(stored, "correct horse")
    (True, True)
    """
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password may have at most {MAX_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Return whether ``password`` matches the ``stored`` hash (False for no hash).

    Parameters
    ----------
    stored : str or None
        A hash from :func:`hash_password`, or None for a user who has not chosen a password.
    password : str
        The password as typed.

    Returns
    -------
    bool
        True only for a match; a wrong password or a malformed hash is False, never an error.

    Examples
    --------
    >>> stored = hash_password("correct horse")
    >>> verify_password(stored, "wrong"), verify_password(None, "x"), verify_password("not a hash", "x")
    (False, False, False)
    """
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment


def create_user(
    session: Session,
    login: str,
    role: str,
    *,
    chapter: str | None = None,
    relationship_id: int | None = None,
    alum: str | None = None,
    password: str | None = None,
    name: str = "",
    invite_days: int = INVITE_DAYS,
) -> tuple[User, str | None]:
    """Add a user scoped to what their role needs; return it and an invite token.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    login : str
        The new login.
    role : str
        One of ``USER_ROLES``.
    chapter, relationship_id, alum : optional
        The chapter slug (chapter lead), relationship id (committee) or the alum's
        external id (alumnus) the user may see.
    password : str, optional
        Without one the user gets an invite token (returned once) to choose it.
    name : str, optional
        The person's name.
    invite_days : int, optional
        How long the invite token works.

    Returns
    -------
    (User, str or None)
        The user and the invite token (None when a password was given).

    Raises
    ------
    AccountError
        For a taken login, an unknown role, or a scope the role needs that is missing or unknown.
    """
    login = login.strip().lower()
    if role not in USER_ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(USER_ROLES)}")
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise AccountError(f"a user {login!r} exists already")
    user = User(login=login, role=role, name=name)
    if role == "chapter_lead":
        user.chapter_id = _required(session, Chapter.id, Chapter.slug, chapter, "--chapter SLUG")
    elif role == "committee":
        user.relationship_id = _required(session, Relationship.id, Relationship.id, relationship_id,
                                         "--relationship ID")
    elif role == "alumnus":
        user.alumnus_id = _required(session, Alumnus.id, Alumnus.external_id, alum, "--alum EXTERNAL_ID")
    invite = None
    if password:
        user.password_hash = hash_password(password)
    session.add(user)
    if not password:
        invite = new_invite(session, user, days=invite_days)
    session.flush()
    return user, invite


def _required(session: Session, id_column, key_column, value, option: str) -> int:
    if value in (None, ""):
        raise AccountError(f"this role needs {option}")
    found = session.scalar(select(id_column).where(key_column == value))
    if found is None:
        raise AccountError(f"no such {option.split()[0].lstrip('-')}: {value!r}")
    return found


def authenticate(session: Session, login: str, password: str) -> User | None:
    """Return the active user with this login and password, else None.

    Parameters
    ----------
    session : Session
        Read only.
    login, password : str
        As typed.

    Returns
    -------
    User or None
        None for an unknown login, a wrong password or a disabled user.
    """
    if len(login) > 254 or len(password) > MAX_PASSWORD:
        return None
    user = session.scalar(select(User).where(User.login == login.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def new_invite(session: Session, user: User, *, days: int = INVITE_DAYS) -> str:
    """Give ``user`` a fresh invite token valid for ``days`` (the old one stops working); return it.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    user : User
        The account.
    days : int, optional
        How long it works.

    Returns
    -------
    str
        The token (only its hash is stored).
    """
    token = secrets.token_urlsafe(24)
    user.invite_token_hash = _digest(token)
    user.invite_expires_at = _now() + dt.timedelta(days=days)
    session.flush()
    return token


def invited_user(session: Session, token: str) -> User | None:
    """Return the user an unspent invite ``token`` was issued to (expired or not), else None.

    Parameters
    ----------
    session : Session
        Read only.
    token : str
        The invite token.

    Returns
    -------
    User or None
        The invited user.
    """
    if not token or len(token) > 200:
        return None
    return session.scalar(select(User).where(User.invite_token_hash == _digest(token)))


def accept_invite(session: Session, token: str, password: str) -> User | None:
    """Set the password of the user invited with ``token``; the token is then spent.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    token : str
        The invite token.
    password : str
        The chosen password.

    Returns
    -------
    User or None
        The user; None for a token that was never issued or is spent.

    Raises
    ------
    AccountError
        For an expired token, so the person is told to ask again.
    """
    user = invited_user(session, token)
    if user is None:
        return None
    expires = _utc(user.invite_expires_at)
    if expires is not None and expires <= _now():
        raise AccountError(f"this invite link expired on {expires:%Y-%m-%d}; ask a coordinator for a new one")
    set_password(session, user, password)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password; any invite is spent and every existing session ends.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    user : User
        The account.
    password : str
        The new password.
    """
    user.password_hash = hash_password(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    end_sessions(user)
    session.flush()


def end_sessions(user: User) -> None:
    """End every session ``user`` has open, on every device (their cookies stop working).

    Parameters
    ----------
    user : User
        The account.

    Examples
    --------
    >>> from matcher.models import User
    >>> user = User(login="kato", role="coordinator", session_version=3)
    >>> end_sessions(user)
    >>> user.session_version
    4
    """
    user.session_version = (user.session_version or 1) + 1


def find_user(session: Session, login: str) -> User:
    """Return the user with ``login``; raise :class:`AccountError` when there is none.

    Parameters
    ----------
    session : Session
        Read only.
    login : str
        The login.

    Returns
    -------
    User
        The user.
    """
    user = session.scalar(select(User).where(User.login == login.strip().lower()))
    if user is None:
        raise AccountError(f"no user {login.strip().lower()!r}")
    return user


def disable_user(session: Session, user: User) -> None:
    """Stop ``user`` signing in or using the API; their open sessions end now.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    user : User
        The account.
    """
    user.active = False
    end_sessions(user)
    session.flush()


def enable_user(session: Session, user: User) -> None:
    """Let a disabled ``user`` sign in again (with the password they had).

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    user : User
        The account.
    """
    user.active = True
    session.flush()


def reset_password(session: Session, user: User, password: str | None = None, *,
                   invite_days: int = INVITE_DAYS) -> str | None:
    """Reset ``user``'s password: set ``password``, or clear it and return a new invite token.

    Either way every session the user has open ends and any API token is revoked,
    since whoever knew the old password may have issued it.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    user : User
        The account.
    password : str, optional
        The new password; without one the user is invited to choose it.
    invite_days : int, optional
        How long the invite token works.

    Returns
    -------
    str or None
        The invite token, or None when a password was set.
    """
    revoke_api_token(user)
    if password:
        set_password(session, user, password)
        return None
    user.password_hash = None
    end_sessions(user)
    return new_invite(session, user, days=invite_days)


def new_api_token(session: Session, user: User, *, days: int = TOKEN_DAYS) -> str:
    """Issue ``user`` an API token valid for ``days``, replacing any earlier one; return it (shown once).

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    user : User
        The account.
    days : int, optional
        How long it works.

    Returns
    -------
    str
        The token (only its hash is stored).
    """
    token = "jm_" + secrets.token_urlsafe(32)
    user.api_token_hash = _digest(token)
    user.api_token_created_at = _now()
    user.api_token_expires_at = user.api_token_created_at + dt.timedelta(days=days)
    user.api_token_last_used_at = None
    session.flush()
    return token


def revoke_api_token(user: User) -> bool:
    """Revoke ``user``'s API token at once; return whether there was one.

    Parameters
    ----------
    user : User
        The account.

    Returns
    -------
    bool
        True when a token was revoked.

    Examples
    --------
    >>> from matcher.models import User
    >>> revoke_api_token(User(login="kato", role="coordinator"))
    False
    """
    had = user.api_token_hash is not None
    user.api_token_hash = None
    user.api_token_created_at = user.api_token_expires_at = user.api_token_last_used_at = None
    return had


def user_for_api_token(session: Session, token: str) -> User | None:
    """Return the active user holding the unexpired ``token``, else None; note the token's use.

    The last use is recorded (and flushed, not committed) at most once a minute.

    Parameters
    ----------
    session : Session
        Read, and written to for the last use.
    token : str
        The token as sent.

    Returns
    -------
    User or None
        None for an unknown, expired or revoked token, or a disabled user.
    """
    if not token or len(token) > 200:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == _digest(token)))
    if user is None or not user.active:
        return None
    now = _now()
    expires = _utc(user.api_token_expires_at)
    if expires is not None and expires <= now:
        return None
    last = _utc(user.api_token_last_used_at)
    if last is None or now - last >= LAST_USE_GRAIN:
        user.api_token_last_used_at = now
        session.flush()
    return user


def _stamp(moment: dt.datetime | None) -> str | None:
    return _utc(moment).isoformat(timespec="seconds") if moment is not None else None


def user_summary(user: User) -> dict[str, Any]:
    """Say what a coordinator may list about an account: state, invite and API token (never the secrets).

    Parameters
    ----------
    user : User
        The account.

    Returns
    -------
    dict
        ``login``, ``role``, ``state`` ("active", "invited" or "disabled"),
        ``invite_expires_at`` and ``api_token`` (its dates, or None).

    Examples
    --------
    >>> from matcher.models import User
    >>> user_summary(User(login="kato", role="coordinator", active=True))
    {'login': 'kato', 'role': 'coordinator', 'state': 'invited', 'invite_expires_at': None, 'api_token': None}
    """
    if not user.active:
        state = "disabled"
    elif user.password_hash is None:
        state = "invited"
    else:
        state = "active"
    return {"login": user.login, "role": user.role, "state": state,
            "invite_expires_at": _stamp(user.invite_expires_at) if user.invite_token_hash else None,
            "api_token": None if user.api_token_hash is None else {
                "created_at": _stamp(user.api_token_created_at), "expires_at": _stamp(user.api_token_expires_at),
                "last_used_at": _stamp(user.api_token_last_used_at)}}


def export_alumnus(session: Session, alumnus: Alumnus) -> dict[str, Any]:
    """Return everything jetmatch holds about ``alumnus``, as JSON-ready data.

    Parameters
    ----------
    session : Session
        Read only.
    alumnus : Alumnus
        The alum.

    Returns
    -------
    dict
        Their record, placements, suggestions and requests.
    """
    from matcher.scoring.readback import suggestion_reasons  # numpy and numba only when an export runs

    suggestions = session.scalars(
        select(Suggestion).where(Suggestion.alumnus_id == alumnus.id).order_by(Suggestion.score.desc())).all()
    requests = session.scalars(select(MatchRequest).where(MatchRequest.alumnus_id == alumnus.id))
    return {
        "external_id": alumnus.external_id,
        "name": alumnus.name,
        "given_name": alumnus.given_name,
        "family_name": alumnus.family_name,
        "email": alumnus.email,
        "home": alumnus.home,
        "chapter": alumnus.chapter.slug if alumnus.chapter else None,
        "japanese_level": alumnus.japanese_level,
        "interests": alumnus.interests,
        "availability_hours": alumnus.availability_hours,
        "max_matches": alumnus.max_matches,
        "consent": alumnus.consent,
        "consent_contact": alumnus.consent_contact,
        "placements": [
            {"place": p.place, "municipality_code": p.municipality_code, "prefecture_code": p.prefecture_code,
             "role": p.role, "start_year": p.start_year, "end_year": p.end_year, "employer": p.employer}
            for p in alumnus.placements
        ],
        "suggestions": [
            {"relationship_id": s.relationship_id, "relationship": s.relationship_.label, "score": s.score,
             "reasons": reasons}
            for s, reasons in zip(suggestions, suggestion_reasons(session, suggestions))
        ],
        "requests": [
            {"id": r.id, "kind": r.kind, "relationship_id": r.relationship_id, "status": r.status,
             "requested_at": r.requested_at.isoformat()}
            for r in requests
        ],
    }


def delete_alumnus(session: Session, alumnus: Alumnus) -> None:
    """Delete an alum with their placements, suggestions and login.

    Requests keep their decisions, with the alum's id cleared (the schema sets it
    to NULL), so the audit trail stays and no longer points at a person.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    alumnus : Alumnus
        The alum.
    """
    alum_id = alumnus.id
    withdraw_consent(session, alumnus, "jetmatch (account deleted)")  # waiting requests close first
    session.execute(delete(Suggestion).where(Suggestion.alumnus_id == alum_id))
    session.execute(MatchRequest.__table__.update().where(MatchRequest.alumnus_id == alum_id)
                    .values(alumnus_id=None))
    session.execute(delete(User).where(User.alumnus_id == alum_id))
    session.delete(alumnus)
    session.flush()

"""Users, passwords, API tokens and invites; an alum's own data export and deletion.

No Flask here: the web app and the CLI both pass a session in. Passwords are hashed
with argon2id; API and invite tokens are random and only their SHA-256 is stored,
so a copy of the database holds nothing a client could present.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matcher.models import USER_ROLES, Alumnus, Chapter, MatchRequest, Relationship, Suggestion, User

__all__ = [
    "AccountError",
    "hash_password",
    "verify_password",
    "create_user",
    "authenticate",
    "accept_invite",
    "new_invite",
    "new_api_token",
    "user_for_api_token",
    "export_alumnus",
    "delete_alumnus",
]

_hasher = PasswordHasher()
# Verified against when the login is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A user could not be created or changed; the message says why, for a person."""


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Return whether ``password`` matches the ``stored`` hash (False for no hash)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
) -> tuple[User, str | None]:
    """Add a user scoped to what their role needs; return it and an invite token.

    Parameters
    ----------
    chapter, relationship_id, alum
        The chapter slug (chapter lead), relationship id (committee) or the alum's
        external id (alumnus) the user may see.
    password
        Without one the user gets an invite token (returned once) to choose it.
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
    else:
        invite = secrets.token_urlsafe(24)
        user.invite_token_hash = _digest(invite)
    session.add(user)
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
    """Return the active user with this login and password, else None."""
    user = session.scalar(select(User).where(User.login == login.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def new_invite(session: Session, user: User) -> str:
    """Give ``user`` a fresh invite token (the old one stops working); return it."""
    token = secrets.token_urlsafe(24)
    user.invite_token_hash = _digest(token)
    session.flush()
    return token


def accept_invite(session: Session, token: str, password: str) -> User | None:
    """Set the password of the user invited with ``token``; the token is then spent."""
    user = session.scalar(select(User).where(User.invite_token_hash == _digest(token)))
    if user is None:
        return None
    user.password_hash = hash_password(password)
    user.invite_token_hash = None
    session.flush()
    return user


def new_api_token(session: Session, user: User) -> str:
    """Issue ``user`` an API token, replacing any earlier one; return it (shown once)."""
    token = "jm_" + secrets.token_urlsafe(32)
    user.api_token_hash = _digest(token)
    session.flush()
    return token


def user_for_api_token(session: Session, token: str) -> User | None:
    """Return the active user holding ``token``, else None."""
    if not token:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == _digest(token)))
    return user if user is not None and user.active else None


def export_alumnus(session: Session, alumnus: Alumnus) -> dict[str, Any]:
    """Return everything jetmatch holds about ``alumnus``, as JSON-ready data."""
    from matcher.scoring.readback import suggestion_reasons

    suggestions = session.scalars(
        select(Suggestion).where(Suggestion.alumnus_id == alumnus.id).order_by(Suggestion.score.desc())).all()
    requests = session.scalars(select(MatchRequest).where(MatchRequest.alumnus_id == alumnus.id))
    return {
        "external_id": alumnus.external_id,
        "name": alumnus.name,
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
    """
    alum_id = alumnus.id
    session.execute(delete(Suggestion).where(Suggestion.alumnus_id == alum_id))
    session.execute(MatchRequest.__table__.update().where(MatchRequest.alumnus_id == alum_id)
                    .values(alumnus_id=None))
    session.execute(delete(User).where(User.alumnus_id == alum_id))
    session.delete(alumnus)
    session.flush()

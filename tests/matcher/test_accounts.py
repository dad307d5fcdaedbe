"""Users, passwords, API tokens, invites; an alum's data export and deletion."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from matcher import accounts
from matcher.accounts import (AccountError, accept_invite, authenticate, create_user, delete_alumnus,
                              export_alumnus, new_api_token, user_for_api_token)
from matcher.decisions import decide, request_introduction
from matcher.models import Alumnus, Decision, MatchRequest, Placement, Relationship, Suggestion, User
from matcher.scoring.readback import pair_levels
from matcher.scoring.store import ensure_run


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch):
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _alum(session, ext="ACC-1"):
    alum = Alumnus(external_id=ext, name="Hana Quillfeather", email="hana.q@example.org", consent=True)
    session.add(alum)
    session.flush()
    return alum


def test_passwords_are_hashed_with_argon2_and_checked(session):
    user, invite = create_user(session, "Coord@Example.org", "coordinator", password="long enough pw")
    assert invite is None and user.login == "coord@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, "coord@example.org", "long enough pw") is user
    assert authenticate(session, "coord@example.org", "wrong") is None
    assert authenticate(session, "nobody@example.org", "long enough pw") is None


def test_short_passwords_and_duplicate_logins_are_refused(session):
    with pytest.raises(AccountError, match="8 characters"):
        create_user(session, "a@example.org", "coordinator", password="short")
    create_user(session, "b@example.org", "coordinator", password="long enough pw")
    with pytest.raises(AccountError, match="exists already"):
        create_user(session, "B@example.org", "coordinator", password="long enough pw")


@pytest.mark.parametrize("role, message", [("chapter_lead", "--chapter"), ("committee", "--relationship"),
                                           ("alumnus", "--alum"), ("admin", "unknown role")])
def test_each_role_needs_its_scope(session, role, message):
    with pytest.raises(AccountError, match=message):
        create_user(session, f"{role}@example.org", role, password="long enough pw")


def test_scopes_are_checked_against_the_database(session):
    with pytest.raises(AccountError, match="no such chapter"):
        create_user(session, "lead@example.org", "chapter_lead", chapter="no-such-chapter", password="long enough pw")
    alum = _alum(session)
    user, _ = create_user(session, "hanaq", "alumnus", alum=alum.external_id, password="long enough pw")
    assert user.alumnus_id == alum.id


def test_an_invite_sets_the_password_once(session):
    user, invite = create_user(session, "new@example.org", "coordinator")
    assert user.password_hash is None and invite
    assert authenticate(session, "new@example.org", "") is None
    assert accept_invite(session, invite, "chosen password") is user
    assert authenticate(session, "new@example.org", "chosen password") is user
    assert accept_invite(session, invite, "another password") is None


def test_api_tokens_are_stored_hashed_and_replaced(session):
    user, _ = create_user(session, "api@example.org", "coordinator", password="long enough pw")
    token = new_api_token(session, user)
    assert token not in user.api_token_hash and len(user.api_token_hash) == 64
    assert user_for_api_token(session, token) is user
    newer = new_api_token(session, user)
    assert user_for_api_token(session, token) is None and user_for_api_token(session, newer) is user
    user.active = False
    assert user_for_api_token(session, newer) is None


def test_export_holds_the_profile_and_deletion_keeps_an_anonymous_trace(session):
    rel = session.scalar(select(Relationship).where(Relationship.jp_municipality_code == "03205")
                         .order_by(Relationship.id))
    alum = _alum(session, "ACC-DEL")
    session.add(Placement(alumnus_id=alum.id, place="Ishidoriya", municipality_code="03205", prefecture_code="03",
                          role="ALT", start_year=2003, end_year=2005))
    session.flush()
    session.add(Suggestion(run_id=ensure_run(session, "default")[0], kind="volunteer", alumnus_id=alum.id,
                           relationship_id=rel.id, score=5.0, levels=pair_levels(session, alum.id, rel.id)))
    create_user(session, "hana-del", "alumnus", alum="ACC-DEL", password="long enough pw")
    req = request_introduction(session, rel.id, alum.id, None)
    decide(session, req.id, "approved", "coord@example.org", "good fit")
    session.refresh(alum)
    data = export_alumnus(session, alum)
    assert data["email"] == "hana.q@example.org" and data["placements"][0]["place"] == "Ishidoriya"
    # the stored row holds level codes; the export writes its reasons out
    assert data["suggestions"][0]["reasons"][0]["sentence"].startswith("placed in Hanamaki — the partner")
    assert data["suggestions"][0]["relationship_id"] == rel.id and data["requests"][0]["status"] == "approved"

    delete_alumnus(session, alum)
    assert session.scalar(select(Alumnus).where(Alumnus.external_id == "ACC-DEL")) is None
    assert session.scalar(select(User).where(User.login == "hana-del")) is None
    assert session.scalars(select(Suggestion).where(Suggestion.alumnus_id == alum.id)).all() == []
    kept = session.get(MatchRequest, req.id)
    session.refresh(kept)
    assert kept.alumnus_id is None and kept.status == "approved"
    assert session.scalar(select(Decision.note).where(Decision.request_id == req.id)) == "good fit"


def test_invites_expire_after_seven_days_by_default(session):
    import datetime as dt

    user, invite = create_user(session, "week@example.org", "coordinator")
    session.expire(user)  # read back from the database: SQLite hands back naive UTC
    left = accounts._utc(user.invite_expires_at) - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)
    user.invite_expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with pytest.raises(AccountError, match="expired"):
        accept_invite(session, invite, "chosen password")
    assert user.password_hash is None


def test_api_tokens_expire_after_ninety_days_record_their_last_use_and_can_be_revoked(session):
    import datetime as dt

    from matcher.accounts import revoke_api_token, user_summary

    user, _ = create_user(session, "tok@example.org", "coordinator", password="long enough pw")
    token = new_api_token(session, user)
    assert user_summary(user)["api_token"]["last_used_at"] is None
    assert (user.api_token_expires_at - user.api_token_created_at) == dt.timedelta(days=90)
    assert user_for_api_token(session, token) is user
    assert user_summary(user)["api_token"]["last_used_at"] is not None
    user.api_token_expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    assert user_for_api_token(session, token) is None
    fresh = new_api_token(session, user)
    assert revoke_api_token(user) and user_for_api_token(session, fresh) is None
    assert user_summary(user)["api_token"] is None


def test_disable_reset_and_sign_out_move_the_session_version(session):
    from matcher.accounts import disable_user, enable_user, end_sessions, reset_password

    user, _ = create_user(session, "dis@example.org", "coordinator", password="long enough pw")
    versions = [user.session_version]
    end_sessions(user)
    versions.append(user.session_version)
    disable_user(session, user)
    versions.append(user.session_version)
    assert authenticate(session, "dis@example.org", "long enough pw") is None
    enable_user(session, user)
    assert authenticate(session, "dis@example.org", "long enough pw") is user
    invite = reset_password(session, user)
    versions.append(user.session_version)
    assert invite and authenticate(session, "dis@example.org", "long enough pw") is None
    assert versions == sorted(set(versions)) and len(versions) == 4

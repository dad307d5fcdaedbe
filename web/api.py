"""The JSON API under /api/v1: bearer tokens, the same role scoping as the pages.

Contact details appear only on approved requests, exactly as on the pages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from matcher import accounts, decisions
from matcher.models import Alumnus, Chapter, MatchRequest, Relationship
from web.auth import can_see_chapter, can_see_relationship
from web.committee import volunteer_rows
from web.chapter import partner_rows
from web.database import gazetteer, get_session, transport
from web.present import relationship_json, search_relationships

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(message: str, code: int):
    response = jsonify(error=message)
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="jetmatch"'
    return response


def token_required(*roles: str, scope: Callable[..., bool] | None = None) -> Callable:
    """Require a bearer token of a user with one of ``roles`` (scoped like the pages)."""
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(**kwargs):
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            user = accounts.user_for_api_token(get_session(), token)
            if user is None:
                return _error("a valid bearer token is required", 401)
            if user.role not in roles or (scope is not None and user.role != "coordinator"
                                          and not scope(user, **kwargs)):
                return _error("this token does not give access to that resource", 403)
            g.api_user = user
            return view(**kwargs)
        return wrapped
    return decorator


ALL = ("coordinator", "chapter_lead", "committee", "alumnus")


def _req_json(db, r: MatchRequest) -> dict:
    data = {"id": r.id, "kind": r.kind, "status": r.status, "decision_count": r.decision_count,
            "relationship": relationship_json(r.relationship_) if r.relationship_ else None,
            "volunteer": r.alumnus.display_name if r.alumnus else None,
            "chapter": r.chapter.slug if r.chapter else None, "score": r.score,
            "reasons": r.contributions, "requested_at": r.requested_at.isoformat()}
    contacts = decisions.contacts_for(db, r)
    if contacts is not None:
        data["contacts"] = contacts.__dict__
    return data


@bp.get("/relationships")
@token_required(*ALL)
def relationships():
    """List relationships, optionally those named by ?q=."""
    db = get_session()
    q = request.args.get("q", "").strip()
    rows = db.scalars(search_relationships(db, q, gazetteer() if q else None).limit(500)).all()
    return jsonify([relationship_json(r) for r in rows])


@bp.get("/relationships/<int:relationship_id>")
@token_required(*ALL)
def relationship(relationship_id: int):
    """One relationship."""
    rel = get_session().get(Relationship, relationship_id)
    return jsonify(relationship_json(rel)) if rel else _error("no such relationship", 404)


@bp.get("/relationships/<int:relationship_id>/volunteers")
@token_required("coordinator", "committee", scope=can_see_relationship)
def volunteers(relationship_id: int):
    """Suggested volunteers for one relationship, with reasons (first name and initial only)."""
    db = get_session()
    rel = db.get(Relationship, relationship_id)
    if rel is None:
        return _error("no such relationship", 404)
    rows = volunteer_rows(db, rel, min_level=request.args.get("level", 0, type=int),
                          theme=request.args.get("theme", "").strip()[:60])
    return jsonify([{k: v for k, v in row.items()} for row in rows])


@bp.get("/chapters/<slug>/partners")
@token_required("coordinator", "chapter_lead", scope=can_see_chapter)
def partners(slug: str):
    """Suggested sister-city partners for one chapter, with evidence."""
    db = get_session()
    chapter = db.scalar(select(Chapter).where(Chapter.slug == slug))
    if chapter is None:
        return _error("no such chapter", 404)
    return jsonify([{"relationship": relationship_json(r["rel"]), "score": r["score"], "km": r["km"],
                     "members_partner": r["members_partner"], "members_prefecture": r["members_prefecture"],
                     "dormant": r["dormant"], "reasons": r["reasons"]} for r in partner_rows(db, chapter)])


@bp.get("/requests")
@token_required("coordinator")
def requests_():
    """Open requests, oldest first."""
    db = get_session()
    return jsonify([_req_json(db, r) for r in db.scalars(decisions.queue().limit(500))])


@bp.post("/requests/<int:request_id>/decisions")
@token_required("coordinator")
def decide(request_id: int):
    """Decide a request: {"status": "approved"|"rejected"|"on_hold", "note": "...", "expected_count": n}."""
    db = get_session()
    body = request.get_json(silent=True) or {}
    try:
        decision = decisions.decide(db, request_id, str(body.get("status", "")), g.api_user.login,
                                    str(body.get("note", "")), expected_count=body.get("expected_count"))
    except decisions.AlreadyDecided as exc:
        db.rollback()
        return jsonify(error=str(exc), decided_by=exc.decided_by), 409
    except decisions.DecisionError as exc:
        db.rollback()
        return _error(str(exc), 404 if str(exc).startswith("no request") else 400)
    db.commit()
    req = db.get(MatchRequest, request_id)
    if req.status == "approved":
        try:
            decisions.notify_approval(db, req, transport(), current_app.config["MAIL_SENDER"])
        except OSError:
            current_app.logger.exception("approval e-mail for request %s failed", request_id)
    return jsonify({"decision": {"sequence": decision.sequence, "status": decision.status,
                                 "decided_by": decision.decided_by, "note": decision.note},
                    "request": _req_json(db, req)}), 201


@bp.get("/me")
@token_required("alumnus")
def me():
    """The alum's own profile, as stored."""
    db = get_session()
    return jsonify(accounts.export_alumnus(db, db.get(Alumnus, g.api_user.alumnus_id)))


@bp.route("/places/resolve", methods=["GET", "POST"])
@token_required(*ALL)
def resolve_place():
    """Resolve a place text (?q= or JSON {"q": ...}): the gazetteer's answer with how it matched."""
    from matcher.gazetteer import MAX_PLACE_CHARS, place_problem

    body = request.get_json(silent=True) if request.method == "POST" else None
    q = str((body or {}).get("q", "") if request.method == "POST" else request.args.get("q", "")).strip()
    country = (request.args.get("country") or (body or {}).get("country") or "").upper() or None
    if not q:
        return _error("give the place text as q", 400)
    if len(q) > MAX_PLACE_CHARS:
        return _error(f"the place text is {len(q):,} characters long; a place is at most {MAX_PLACE_CHARS}", 400)
    if country not in (None, "JP", "US"):
        return _error("country is JP or US", 400)
    answer = gazetteer().resolve(q, country=country)
    data = answer.to_json()
    if answer.status != "resolved":
        data["message"] = place_problem(answer)
    return jsonify(data)


def _op(summary: str, *, params=(), body=None, auth=True, code="200") -> dict:
    op: dict = {"summary": summary, "responses": {code: {"description": "OK"}}}
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"]["401"] = {"description": "missing or invalid token",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        op["responses"]["403"] = {"description": "the token's role or scope does not cover this"}
    if params:
        op["parameters"] = [{"name": n, "in": "path", "required": True, "schema": {"type": t}} for n, t in params]
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of this blueprint's routes."""
    rid = [("relationship_id", "integer")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "jetmatch API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}},
                                  "required": ["error"]}},
        },
        "paths": {
            "/relationships": {"get": _op("List relationships (?q= searches either side's name)")},
            "/relationships/{relationship_id}": {"get": _op("One relationship", params=rid)},
            "/relationships/{relationship_id}/volunteers": {
                "get": _op("Suggested volunteers with reasons (committee of this relationship, coordinators)",
                           params=rid)},
            "/chapters/{slug}/partners": {
                "get": _op("Partner suggestions with evidence (lead of this chapter, coordinators)",
                           params=[("slug", "string")])},
            "/requests": {"get": _op("Open requests, oldest first (coordinators)")},
            "/requests/{request_id}/decisions": {"post": _op(
                "Decide a request (coordinators); 409 when someone decided it first",
                params=[("request_id", "integer")], code="201",
                body={"type": "object", "required": ["status"], "properties": {
                    "status": {"enum": ["approved", "rejected", "on_hold"]}, "note": {"type": "string"},
                    "expected_count": {"type": "integer"}}})},
            "/me": {"get": _op("The alum's own profile (alumni)")},
            "/places/resolve": {
                "get": _op("Resolve a place text (?q=, ?country=JP|US): status, place, via, candidates"),
                "post": _op("Resolve a place text given as JSON", body={
                    "type": "object", "required": ["q"], "properties": {
                        "q": {"type": "string", "maxLength": 200}, "country": {"enum": ["JP", "US"]}}})},
            "/openapi.json": {"get": _op("This document", auth=False)},
        },
    }


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI document."""
    return jsonify(openapi_document())

"""The JSON API under /api/v1: bearer tokens, the same role scoping as the pages.

Contact details appear only on approved requests, exactly as on the pages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from matcher import accounts, decisions
from matcher.gazetteer import MAX_PLACE_CHARS, place_problem
from matcher.models import DECISION_STATUSES, Alumnus, Chapter, MatchRequest, Relationship
from web.auth import can_see_chapter, can_see_relationship
from web.chapter import partner_rows
from web.committee import MAX_THEME, volunteer_rows
from web.database import gazetteer, get_session
from web.forms import NOTE_MAX
from web.present import banded_reasons, relationship_json, search_relationships
from web.relationships import MAX_QUERY
from web.security import MAX_ID, int_arg, text_arg

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
            db = get_session()
            user = accounts.user_for_api_token(db, token)
            if user is None:
                return _error("a valid bearer token is required", 401)
            db.commit()  # the token's last use
            if user.role not in roles or (scope is not None and user.role != "coordinator"
                                          and not scope(user, **kwargs)):
                return _error("this token does not give access to that resource", 403)
            g.api_user = user
            return view(**kwargs)
        return wrapped
    return decorator


ALL = ("coordinator", "chapter_lead", "committee", "alumnus")


def _req_json(db, r: MatchRequest) -> dict:
    data = {"id": r.id, "kind": r.kind, "status": r.status, "status_label": decisions.STATUS_LABELS[r.status],
            "decision_count": r.decision_count,
            "relationship": relationship_json(r.relationship_) if r.relationship_ else None,
            "volunteer": r.alumnus.display_name if r.alumnus else None,
            "chapter": r.chapter.slug if r.chapter else None, "score": r.score,
            "reasons": banded_reasons(r.contributions), "requested_at": r.requested_at.isoformat()}
    contacts = decisions.contacts_for(db, r)
    if contacts is not None:
        data["contacts"] = contacts.__dict__
    return data


@bp.get("/relationships")
@token_required(*ALL)
def relationships():
    """List relationships, optionally those named by ?q=."""
    db = get_session()
    q = text_arg("q", MAX_QUERY)
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
    rows = volunteer_rows(db, rel, min_level=int_arg("level", 0, 0, 5), theme=text_arg("theme", MAX_THEME))
    # What the page shows, less the alum's internal id (only the page's own buttons need it).
    return jsonify([{k: v for k, v in row.items() if k != "alum_id"} for row in rows])


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
    body = request.get_json(silent=True)
    problem = _decision_problem(body)
    if problem:
        return _error(problem, 400)
    try:
        decision = decisions.decide(db, request_id, body["status"], g.api_user.login,
                                    body.get("note") or "", expected_count=body.get("expected_count"))
    except decisions.ConsentWithdrawn as exc:
        db.rollback()
        return _error(str(exc), 409)
    except decisions.AlreadyDecided as exc:
        db.rollback()
        return jsonify(error=str(exc), decided_by=exc.decided_by), 409
    except decisions.DecisionError as exc:
        db.rollback()
        return _error(str(exc), 404 if str(exc).startswith("no request") else 400)
    db.commit()  # the approval e-mails went into the outbox with the decision
    req = db.get(MatchRequest, request_id)
    return jsonify({"decision": {"sequence": decision.sequence, "status": decision.status,
                                 "decided_by": decision.decided_by, "note": decision.note},
                    "request": _req_json(db, req)}), 201


def _decision_problem(body) -> str | None:
    """Say what is wrong with a decision's JSON body, or None when it is right."""
    if not isinstance(body, dict):
        return 'the body must be a JSON object such as {"status": "approved"}'
    if body.get("status") not in DECISION_STATUSES:
        return f"status must be one of {', '.join(DECISION_STATUSES)}"
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX or "\x00" in note):
        return f"note must be text of at most {NOTE_MAX} characters, without NUL characters"
    expected = body.get("expected_count")
    if expected is not None and (type(expected) is not int or not 0 <= expected <= MAX_ID):
        return f"expected_count must be a whole number from 0 to {MAX_ID}, or null"
    return None


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
    body = request.get_json(silent=True) if request.method == "POST" else None
    if request.method == "POST" and not isinstance(body, dict):
        return _error("the body must be a JSON object with the place text as q", 400)
    source = body if request.method == "POST" else request.args
    q, country = str(source.get("q") or "").strip(), str(source.get("country") or "").upper() or None
    if not q:
        return _error("give the place text as q", 400)
    if len(q) > MAX_PLACE_CHARS or "\x00" in q:
        return _error(f"the place text is {len(q):,} characters long; a place is at most {MAX_PLACE_CHARS}", 400)
    if country not in (None, "JP", "US"):
        return _error("country is JP or US", 400)
    answer = gazetteer().resolve(q, country=country)
    data = answer.to_json()
    if answer.status != "resolved":
        data["message"] = place_problem(answer)
    return jsonify(data)


_JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(description: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {_JSON: {"schema": schema or _ref("Error")}}}


def _op(summary: str, ok: dict, *, params=(), query=(), body=None, auth=True, code="200", missing=None,
        conflict=None) -> dict:
    """One operation: its parameters, its body and every answer it gives (400 for any bad input)."""
    op: dict = {"summary": summary, "responses": {code: _answer("OK", ok)}}
    op["responses"]["400"] = _answer("a malformed request: a NUL character, an over-long value, a number out of "
                                     "range or a body that is not the documented object; the message says which")
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"]["401"] = _answer("missing, expired or revoked token")
        op["responses"]["403"] = _answer("the token's role or scope does not cover this")
    if params or missing:
        op["responses"]["404"] = _answer(missing or "nothing at this address (ids above 2147483647 name nothing)")
    if conflict:
        op["responses"]["409"] = _answer(conflict, _ref("Conflict"))
    parameters = [{"name": n, "in": "path", "required": True, "schema": schema} for n, schema in params]
    parameters += [{"name": n, "in": "query", "required": False, "schema": schema} for n, schema in query]
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {"required": True, "content": {_JSON: {"schema": body}}}
    return op


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


_SCHEMAS = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
    "Conflict": {"type": "object", "required": ["error", "decided_by"],
                 "properties": {"error": {"type": "string"}, "decided_by": _nullable("string")}},
    "Reason": {"type": "object", "properties": {"sentence": {"type": "string"}, "weight": {"type": "number"},
                                                "factor": {"type": "string"}}},
    "Relationship": {
        "type": "object", "required": ["id", "label", "us", "jp", "status", "themes"],
        "properties": {"id": {"type": "integer"}, "label": {"type": "string"}, "us": {"type": "string"},
                       "jp": {"type": "string"}, "jp_name_at_signing": _nullable("string"),
                       "signed": _nullable("string"), "status": {"type": "string"},
                       "dormant_since": _nullable("integer", description="the year it went quiet"), "themes": {"type": "array", "items": {"type": "string"}},
                       "volunteers_wanted": _nullable("integer")}},
    "Volunteer": {
        "type": "object", "required": ["name", "score", "band", "reasons"],
        "properties": {"name": {"type": "string"}, "score": {"type": "number"}, "band": {"type": "string"},
                       "tie": {"type": "string"}, "japanese_level": {"type": "integer"},
                       "reasons": {"type": "array", "items": _ref("Reason")}}},
    "Partner": {
        "type": "object", "required": ["relationship", "score", "reasons"],
        "properties": {"relationship": _ref("Relationship"), "score": {"type": "number"},
                       "members_partner": {"type": "integer"}, "members_prefecture": {"type": "integer"},
                       "dormant": {"type": "boolean"}, "reasons": {"type": "array", "items": _ref("Reason")}}},
    "Request": {
        "type": "object", "required": ["id", "kind", "status", "decision_count", "requested_at"],
        "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                       "status": {"enum": ["pending", *DECISION_STATUSES]}, "decision_count": {"type": "integer"},
                       "relationship": {"oneOf": [_ref("Relationship"), {"type": "null"}]},
                       "volunteer": _nullable("string"), "chapter": _nullable("string"),
                       "score": _nullable("number"), "requested_at": {"type": "string"},
                       "contacts": {"type": "object"}}},
    "DecisionBody": {
        "type": "object", "required": ["status"],
        "properties": {"status": {"enum": list(DECISION_STATUSES)},
                       "note": {"type": "string", "maxLength": NOTE_MAX},
                       "expected_count": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ID,
                                          "description": "the decision count you saw: 409 if someone decided since"}}},
    "Decided": {
        "type": "object", "required": ["decision", "request"],
        "properties": {"decision": {"type": "object", "required": ["sequence", "status", "decided_by"],
                                    "properties": {"sequence": {"type": "integer"}, "status": {"type": "string"},
                                                   "decided_by": {"type": "string"}, "note": {"type": "string"}}},
                       "request": _ref("Request")}},
    "Profile": {"type": "object", "required": ["external_id", "placements"],
                "properties": {"external_id": {"type": "string"}, "placements": {"type": "array"}}},
}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of this blueprint's routes, every answer included."""
    rid = [("relationship_id", {"type": "integer"})]
    return {
        "openapi": "3.1.0",
        "info": {"title": "jetmatch API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": _SCHEMAS},
        "paths": {
            "/relationships": {"get": _op(
                "List relationships (?q= searches either side's name, any spelling)", _list("Relationship"),
                query=[("q", {"type": "string", "maxLength": MAX_QUERY})])},
            "/relationships/{relationship_id}": {"get": _op(
                "One relationship", _ref("Relationship"), params=rid, missing="no such relationship")},
            "/relationships/{relationship_id}/volunteers": {"get": _op(
                "Suggested volunteers with reasons (committee of this relationship, coordinators)", _list("Volunteer"),
                params=rid, missing="no such relationship",
                query=[("level", {"type": "integer", "minimum": 0, "maximum": 5}),
                       ("theme", {"type": "string", "maxLength": MAX_THEME})])},
            "/chapters/{slug}/partners": {"get": _op(
                "Partner suggestions with evidence (lead of this chapter, coordinators)", _list("Partner"),
                params=[("slug", {"type": "string"})], missing="no such chapter")},
            "/requests": {"get": _op("Open requests, oldest first (coordinators)", _list("Request"))},
            "/requests/{request_id}/decisions": {"post": _op(
                "Decide a request (coordinators); 409 when someone decided it first or the alum withdrew consent", _ref("Decided"), params=[("request_id", {"type": "integer"})],
                code="201", body=_ref("DecisionBody"), missing="no such request",
                conflict="someone decided the request since the count you sent (decided_by names them), or the alum withdrew consent")},
            "/me": {"get": _op("The alum's own profile (alumni)", _ref("Profile"))},
            "/places/resolve": {
                "get": _op("Resolve a place text (?q=, ?country=JP|US): status, place, via, candidates",
                           {"type": "object"}, query=[("q", {"type": "string", "maxLength": MAX_PLACE_CHARS}),
                                                     ("country", {"enum": ["JP", "US"]})]),
                "post": _op("Resolve a place text given as JSON", {"type": "object"}, body={
                    "type": "object", "required": ["q"], "properties": {
                        "q": {"type": "string", "maxLength": MAX_PLACE_CHARS}, "country": {"enum": ["JP", "US"]}}})},
            "/openapi.json": {"get": _op("This document", {"type": "object"}, auth=False)},
        },
    }


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI document."""
    return jsonify(openapi_document())

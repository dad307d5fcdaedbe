"""Security headers on every response, friendly error pages without stack traces, and the
bounds every request is held to before any view works on it.

Ids in paths are whole numbers the databases can hold (larger ones name nothing: 404);
no query or form value carries a NUL character or more than ``MAX_VALUE`` characters
(400, saying which). Views read page numbers and small integers through
:func:`int_arg`, which answers 400 instead of clamping.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

__all__ = ["init_app", "QuietSessionInterface", "BadInput", "int_arg", "text_arg", "MAX_ID", "MAX_PAGE", "MAX_VALUE"]

MAX_ID = 2**31 - 1  # INTEGER on both databases
MAX_PAGE = 100_000
MAX_VALUE = 10_000  # characters in any one query or form value; forms cap their fields lower

# Look-ups a page fires in the background while the person is still typing or submitting.
QUIET_ENDPOINTS = frozenset({"static", "alumnus.suggest_places"})

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
}

MESSAGES = {
    400: ("Something in that request was off", "The form may have expired. Go back, reload the page and try again."),
    401: ("Please sign in", "This needs an account."),
    403: ("Not yours to see", "Your account does not give access to this page."),
    404: ("Page not found", "There is nothing at this address."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    413: ("File too large", "Uploads are limited to 8 MB."),
    429: ("Too many attempts", "Please wait a few minutes before trying again."),
    500: ("Something went wrong on our side", "The error has been logged. Please try again later."),
}


class QuietSessionInterface(SecureCookieSessionInterface):
    """Don't re-send an unchanged session cookie on background look-ups; check a cookie's signature once.

    A sliding (permanent) session re-sends its cookie on every response. An autocomplete
    request that left before a form's POST and came back after it would then put the old
    cookie back, and the message the POST flashed ("Added Ishidoriya…") would be lost.

    A browser sends the same cookie until the session changes, so the cookies verified lately
    are kept with what they hold and when they were signed: the same cookie again opens
    without decoding and checking its signature (a tenth of a page's CPU), and its age is
    still checked each time. Only sessions of plain values are kept (flashed messages are a
    list that a request changes in place).
    """

    KEPT = 2048  # verified cookies per process

    def __init__(self) -> None:
        self._verified: dict[tuple, tuple[dict, float]] = {}

    def open_session(self, app: Flask, request):
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return super().open_session(app, request)
        max_age = app.permanent_session_lifetime.total_seconds()
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()), value)
        kept = self._verified.get(key)
        if kept is not None and 0 <= time.time() - kept[1] <= max_age:
            return self.session_class(kept[0])
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        try:
            data, signed = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(type(v) in _PLAIN for v in data.values()):
            if len(self._verified) >= self.KEPT:
                self._verified.clear()
            self._verified[key] = (data, signed.timestamp())
        return self.session_class(data)

    def should_set_cookie(self, app: Flask, session) -> bool:
        if not session.modified and request.endpoint in QUIET_ENDPOINTS:
            return False
        return super().should_set_cookie(app, session)


_PLAIN = frozenset({str, int, float, bool, type(None)})


class BadInput(BadRequest):
    """A request the app refuses for a reason worth telling the person, in ``description``."""


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in a route: a whole number from 0 to :data:`MAX_ID`, else no match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """Return the query argument ``name`` as a whole number from ``low`` to ``high``; 400 otherwise."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def text_arg(name: str, max_len: int) -> str:
    """Return the query argument ``name``, stripped; 400 when longer than ``max_len`` characters."""
    value = request.args.get(name, "").strip()
    if len(value) > max_len:
        raise BadInput(f"{name} has {len(value)} characters; at most {max_len} are accepted")
    return value


def _bounded_input() -> None:
    """Refuse NUL characters and over-long values anywhere in a request, before any work."""
    if "\x00" in request.path:
        raise BadInput("the address contains a NUL character")
    for where, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise BadInput(f"the {where} field {key[:40]!r} contains a NUL character")
            if len(value) > MAX_VALUE:
                raise BadInput(f"the {where} field {key[:40]!r} has {len(value)} characters; "
                               f"at most {MAX_VALUE} are accepted")


# A session's signed CSRF token is reused for this many seconds (Flask-WTF signs a new one, with the
# time in it, on every request: a tenth of a page's CPU). Forms still expire WTF_CSRF_TIME_LIMIT
# (an hour) after the token was signed, so at most this much earlier than before.
CSRF_GRAIN = 60


def _signed_csrf_token() -> None:
    """Hand Flask-WTF the session's CSRF token as signed in the last CSRF_GRAIN seconds, when there is one.

    Flask-WTF's ``generate_csrf`` signs the raw token in the session once per request and keeps
    it on ``g``; this puts it there first. Signed for the same raw token, with the same key and
    salt, it is the token Flask-WTF would sign, only a few seconds older.
    """
    app = current_app
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if not isinstance(raw, str) or field in g:
        return
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    kept: dict = app.extensions.setdefault("jetmatch_signed_csrf", {})
    now = time.time()
    signed = kept.get((secret, raw))
    if signed is None or not 0 <= now - signed[1] <= CSRF_GRAIN:
        if len(kept) >= QuietSessionInterface.KEPT:
            kept.clear()
        signed = kept[(secret, raw)] = (URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw), now)
    setattr(g, field, signed[0])


def init_app(app: Flask) -> None:
    """Register the headers hook, the input bounds, the error handlers and the session interface."""
    app.session_interface = QuietSessionInterface()
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_bounded_input)
    app.before_request(_signed_csrf_token)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _headers(response):
    """Add the security headers (and no-store to every page but static files) that the view did not set."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.to_wsgi_list()}  # one pass: setdefault scans the list each time
    wanted = _PAGE_HEADERS if request.endpoint and not request.endpoint.startswith("static") else _STATIC_HEADERS
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


_STATIC_HEADERS = tuple(HEADERS.items())
_PAGE_HEADERS = (*_STATIC_HEADERS, ("Cache-Control", "no-store"))


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(code: int, detail: str | None = None):
    title, text = MESSAGES.get(code, ("Error", "Something went wrong."))
    if _wants_json():
        return jsonify(error=detail or title), code
    return render_template("error.html", code=code, title=title, text=detail or text), code


def _http_error(error: HTTPException):
    detail = None
    if isinstance(error, BadInput):
        detail = error.description[:1].upper() + error.description[1:] + "."
    elif error.code in (400, 413) and _wants_json():
        detail = error.description
    response = _render(error.code or 500, detail)
    if error.code == 405 and getattr(error, "valid_methods", None):
        body, code = response
        return body, code, {"Allow": ", ".join(error.valid_methods)}
    return response


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):  # pragma: no cover - routed above
        return _http_error(error)
    from flask import current_app

    current_app.logger.exception("unhandled error on %s", request.path)
    return _render(500)

"""Security headers on every response, friendly error pages without stack traces, and the
bounds every request is held to before any view works on it.

Ids in paths are whole numbers the databases can hold (larger ones name nothing: 404);
no query or form value carries a NUL character or more than ``MAX_VALUE`` characters
(400, saying which). Views read page numbers and small integers through
:func:`int_arg`, which answers 400 instead of clamping.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
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
    """Don't re-send an unchanged session cookie on background look-ups.

    A sliding (permanent) session re-sends its cookie on every response. An autocomplete
    request that left before a form's POST and came back after it would then put the old
    cookie back, and the message the POST flashed ("Added Ishidoriya…") would be lost.
    """

    def should_set_cookie(self, app: Flask, session) -> bool:
        if not session.modified and request.endpoint in QUIET_ENDPOINTS:
            return False
        return super().should_set_cookie(app, session)


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


def init_app(app: Flask) -> None:
    """Register the headers hook, the input bounds, the error handlers and the session interface."""
    app.session_interface = QuietSessionInterface()
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_bounded_input)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint and not request.endpoint.startswith("static"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


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

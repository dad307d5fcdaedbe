"""Security headers on every response, and friendly error pages without stack traces."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

__all__ = ["init_app", "QuietSessionInterface"]

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
    429: ("Too many attempts", "Please wait a minute before trying again."),
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


def init_app(app: Flask) -> None:
    """Register the headers hook, the error handlers and the session interface."""
    app.session_interface = QuietSessionInterface()
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
    detail = getattr(error, "description", None) if error.code == 400 and _wants_json() else None
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

"""Requests for an introduction or a partnership, coordinators' decisions, contact reveal.

No Flask here. A decision is written with a compare-and-set on
``match_requests.decision_count``: of two coordinators deciding the same request
from the same view, exactly one UPDATE changes a row; the other gets
:class:`AlreadyDecided` naming the winner, and nothing of theirs is written. The
``decisions`` table itself is append-only (database triggers refuse UPDATE/DELETE).

Contact details (the alum's full name and e-mail, the committee's e-mail) leave the
database only through :func:`contacts_for`, and only for an approved request.
Mail goes through a transport passed in: :class:`SMTPTransport` in production,
:class:`ListTransport` in tests.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from matcher.models import DECISION_STATUSES, Alumnus, Decision, MatchRequest, Relationship, Suggestion, User

__all__ = [
    "DecisionError",
    "AlreadyDecided",
    "Contacts",
    "Transport",
    "ListTransport",
    "SMTPTransport",
    "request_introduction",
    "propose_partnership",
    "decide",
    "contacts_for",
    "approval_messages",
    "notify_approval",
    "queue",
    "history",
    "requests_for_relationship",
    "requests_for_alumnus",
]

FINAL = ("approved", "rejected")
OPEN = ("pending", "on_hold")


class DecisionError(ValueError):
    """A request or decision was refused; the message says why, for a person."""


class AlreadyDecided(DecisionError):
    """Someone else decided the request first."""

    def __init__(self, request_id: int, decided_by: str | None, status: str | None):
        self.request_id, self.decided_by, self.status = request_id, decided_by, status
        who = decided_by or "someone else"
        super().__init__(f"request {request_id} was already decided by {who} ({(status or '?').replace('_', ' ')})")


# --- requests ---------------------------------------------------------------------------


def _existing_open(session: Session, **where) -> MatchRequest | None:
    query = select(MatchRequest).where(MatchRequest.status.in_(OPEN + ("approved",)))
    for column, value in where.items():
        query = query.where(getattr(MatchRequest, column) == value)
    return session.scalars(query.order_by(MatchRequest.id)).first()


def request_introduction(session: Session, relationship_id: int, alumnus_id: int,
                         requested_by: User | None) -> MatchRequest:
    """Ask a coordinator to introduce an alum to a relationship's committee.

    The suggestion's score and reasons are copied onto the request, so that a later
    re-scoring never changes what the coordinator decides about. Asking twice
    returns the open request instead of a duplicate.
    """
    alum = session.get(Alumnus, alumnus_id)
    if alum is None or not alum.consent:
        raise DecisionError("this alum is not available for introductions")
    if session.get(Relationship, relationship_id) is None:
        raise DecisionError(f"no relationship {relationship_id}")
    return _open_request(session, "introduction", "volunteer", requested_by,
                         relationship_id=relationship_id, alumnus_id=alumnus_id)


def propose_partnership(session: Session, chapter_id: int, relationship_id: int,
                        requested_by: User | None) -> MatchRequest:
    """Ask a coordinator to connect a chapter with a sister-city relationship."""
    return _open_request(session, "partnership", "partner", requested_by,
                         relationship_id=relationship_id, chapter_id=chapter_id)


def _open_request(session: Session, kind: str, suggestion_kind: str, requested_by: User | None,
                  **subject) -> MatchRequest:
    """Return the open request of ``kind`` about ``subject``, or create one from its latest suggestion."""
    existing = _existing_open(session, kind=kind, **subject)
    if existing is not None:
        return existing
    suggestion = session.scalars(
        select(Suggestion).where(Suggestion.kind == suggestion_kind,
                                 *(getattr(Suggestion, column) == value for column, value in subject.items()))
        .order_by(Suggestion.id.desc())).first()
    request = MatchRequest(kind=kind, **subject,
                           score=suggestion.score if suggestion else None,
                           contributions=_reasons(session, suggestion),
                           requested_by_id=requested_by.id if requested_by else None,
                           status="pending", decision_count=0)
    session.add(request)
    session.flush()
    return request


def _reasons(session: Session, suggestion: Suggestion | None) -> list:
    """The suggestion's reasons as they read now: the request keeps them, whatever later runs say."""
    if suggestion is None:
        return []
    from matcher.scoring.readback import suggestion_reasons

    return suggestion_reasons(session, [suggestion])[0]


# --- decisions --------------------------------------------------------------------------


def _latest_decision(session: Session, request_id: int) -> Decision | None:
    return session.scalars(select(Decision).where(Decision.request_id == request_id)
                           .order_by(Decision.sequence.desc())).first()


def decide(session: Session, request_id: int, status: str, decided_by: str, note: str = "",
           expected_count: int | None = None) -> Decision:
    """Record a coordinator's decision on a request, unless someone got there first.

    Parameters
    ----------
    status
        "approved", "rejected" or "on_hold". Approved and rejected are final; a
        request on hold can be decided again.
    expected_count
        The request's ``decision_count`` as the coordinator saw it (a form's hidden
        field). Defaults to the count read now.

    Raises
    ------
    AlreadyDecided
        When the request is final, or its count moved on since it was read.
    """
    if status not in DECISION_STATUSES:
        raise DecisionError(f"unknown decision {status!r}; one of {', '.join(DECISION_STATUSES)}")
    request = session.get(MatchRequest, request_id)
    if request is None:
        raise DecisionError(f"no request {request_id}")
    seen = request.decision_count if expected_count is None else expected_count
    if request.status in FINAL:
        latest = _latest_decision(session, request_id)
        raise AlreadyDecided(request_id, latest.decided_by if latest else None, request.status)
    changed = session.execute(
        text("UPDATE match_requests SET decision_count = :n + 1, status = :s WHERE id = :id AND decision_count = :n"),
        {"n": seen, "s": status, "id": request_id},
    ).rowcount
    if changed != 1:
        session.expire(request)
        latest = _latest_decision(session, request_id)
        raise AlreadyDecided(request_id, latest.decided_by if latest else None,
                             latest.status if latest else None)
    decision = Decision(request_id=request_id, sequence=seen + 1, status=status, decided_by=decided_by,
                        note=note.strip(), features={c.get("factor", "?"): c.get("level") for c in
                                                     (request.contributions or []) if isinstance(c, dict)})
    session.add(decision)
    session.flush()
    session.expire(request)
    return decision


def queue(kind: str | None = None) -> Select:
    """Return a query for the open requests (pending or on hold), oldest first."""
    query = select(MatchRequest).where(MatchRequest.status.in_(OPEN))
    if kind:
        query = query.where(MatchRequest.kind == kind)
    return query.order_by(MatchRequest.requested_at, MatchRequest.id)


def history() -> Select:
    """Return a query for every decision with its request, newest first."""
    return select(Decision, MatchRequest).join(MatchRequest).order_by(Decision.decided_at.desc(),
                                                                      Decision.id.desc())


def requests_for_relationship(relationship_id: int) -> Select:
    """Return a query for the introduction requests about one relationship."""
    return (select(MatchRequest).where(MatchRequest.relationship_id == relationship_id,
                                       MatchRequest.kind == "introduction")
            .order_by(MatchRequest.requested_at.desc()))


def requests_for_alumnus(alumnus_id: int) -> Select:
    """Return a query for the introduction requests about one alum."""
    return (select(MatchRequest).where(MatchRequest.alumnus_id == alumnus_id)
            .order_by(MatchRequest.requested_at.desc()))


# --- contacts and mail ------------------------------------------------------------------


@dataclass(frozen=True)
class Contacts:
    """Who to write to, once a coordinator has approved a request."""

    alum_name: str | None
    alum_email: str | None  # None when the alum did not agree to share it
    committee_name: str | None
    committee_email: str | None


def contacts_for(session: Session, request: MatchRequest) -> Contacts | None:
    """Return the contacts an approved request reveals; None for any other request (and for a
    proposed new partnership, which has no committee or volunteer to reveal)."""
    if request.status != "approved" or request.kind == "new_partnership":
        return None
    rel = request.relationship_
    committee_email = rel.committee_email if rel else None
    if not committee_email and request.requested_by_id:
        requester = session.get(User, request.requested_by_id)
        committee_email = requester.login if requester and "@" in requester.login else None
    alum = request.alumnus
    return Contacts(
        alum_name=alum.name if alum else None,
        alum_email=alum.email if alum and alum.consent_contact else None,
        committee_name=(rel.committee_name or f"{rel.us_label} sister city committee") if rel else None,
        committee_email=committee_email,
    )


class Transport(Protocol):
    """Anything that can send an e-mail message."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass
class ListTransport:
    """Keeps messages in ``outbox`` instead of sending them: for tests and demos."""

    outbox: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)


@dataclass
class SMTPTransport:
    """Sends through an SMTP server (``MAIL_SERVER`` in the app's config)."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def approval_messages(session: Session, request: MatchRequest, sender: str) -> list[EmailMessage]:
    """Build the e-mails that tell both sides of an approved request about each other."""
    contacts = contacts_for(session, request)
    if contacts is None or request.relationship_ is None:
        return []
    label = request.relationship_.label
    messages = []
    if contacts.committee_email:
        alum_line = (f"{contacts.alum_name} <{contacts.alum_email}>" if contacts.alum_email
                     else f"{contacts.alum_name} (who will write to you)")
        messages.append(_message(sender, contacts.committee_email, f"jetmatch: introduction approved — {label}",
                                 f"A coordinator approved your introduction request for {label}.\n\n"
                                 f"Volunteer: {alum_line}\n"))
    if request.alumnus is not None:
        committee_line = f"{contacts.committee_name} <{contacts.committee_email or 'no e-mail on file'}>"
        messages.append(_message(sender, request.alumnus.email, f"jetmatch: a sister-city committee would like "
                                 f"to meet you — {label}",
                                 f"The committee of {label} would like to hear from you.\n\n"
                                 f"Committee: {committee_line}\n"))
    return messages


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    return message


def notify_approval(session: Session, request: MatchRequest, transport: Transport, sender: str) -> int:
    """Send the approval e-mails of ``request`` (call after the commit); return how many."""
    messages = approval_messages(session, request, sender)
    for message in messages:
        transport.send(message)
    return len(messages)

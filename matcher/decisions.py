"""Requests for an introduction or a partnership, coordinators' decisions, contact reveal.

No Flask here. A decision is written with a compare-and-set on
``match_requests.decision_count``: of two coordinators deciding the same request
from the same view, exactly one UPDATE changes a row; the other gets
:class:`AlreadyDecided` naming the winner, and nothing of theirs is written. The
``decisions`` table itself is append-only (database triggers refuse UPDATE/DELETE).

A request's status changes only together with a decision row (a database trigger holds
it to that), and the alum's consent is checked in the decision's own transaction: an
approval of an alum who has withdrawn consent is refused. Withdrawing consent closes the
alum's waiting requests as ``withdrawn`` (:func:`withdraw_consent`).

Contact details (the alum's full name and e-mail, the committee's e-mail) leave the
database only through :func:`contacts_for`, and only for an approved request. The
e-mails that tell of a decision go into the outbox in the decision's transaction
(:mod:`matcher.mail`); ``jetmatch mail send`` or a background job delivers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from matcher.jobs.triggers import after_mail_queued
from matcher.mail import ListTransport, SMTPTransport, Transport, enqueue
from matcher.models import (
    DECISION_STATUSES,
    OPEN_STATUSES,
    Alumnus,
    Decision,
    MatchRequest,
    Relationship,
    Suggestion,
    User,
)

__all__ = [
    "DecisionError",
    "AlreadyDecided",
    "ConsentWithdrawn",
    "Contacts",
    "Transport",
    "ListTransport",
    "SMTPTransport",
    "request_introduction",
    "propose_partnership",
    "decide",
    "withdraw_consent",
    "contacts_for",
    "approval_messages",
    "queue_approval_mail",
    "STATUS_LABELS",
    "queue",
    "history",
    "requests_for_relationship",
    "requests_for_alumnus",
]

FINAL = ("approved", "rejected", "withdrawn")
OPEN = OPEN_STATUSES
# How a status reads to people; a committee is told "no longer available", never why.
STATUS_LABELS = {"pending": "pending", "on_hold": "on hold", "approved": "approved", "rejected": "rejected",
                 "withdrawn": "no longer available"}
WITHDRAWN_BY = "jetmatch (consent withdrawn)"


class DecisionError(ValueError):
    """Say that a request or decision was refused; the message says why, for a person.

    Examples
    --------
    >>> issubclass(AlreadyDecided, DecisionError), issubclass(DecisionError, ValueError)
    (True, True)
    """


class AlreadyDecided(DecisionError):
    """Say that someone else decided the request first.

    Parameters
    ----------
    request_id : int
        The request.
    decided_by : str or None
        Who decided it.
    status : str or None
        What they decided.

    Examples
    --------
    >>> str(AlreadyDecided(7, "kato", "on_hold"))
    'request 7 was already decided by kato (on hold)'
    """

    def __init__(self, request_id: int, decided_by: str | None, status: str | None):
        self.request_id, self.decided_by, self.status = request_id, decided_by, status
        who = decided_by or "someone else"
        super().__init__(f"request {request_id} was already decided by {who} ({(status or '?').replace('_', ' ')})")


class ConsentWithdrawn(DecisionError):
    """Say that the alum has withdrawn consent: the request cannot be approved.

    Parameters
    ----------
    request_id : int
        The request.
    who : str
        The alum's name as the coordinator sees it.

    Examples
    --------
    >>> str(ConsentWithdrawn(7, "Dana W."))
    'Dana W. has withdrawn consent to be introduced: request 7 cannot be approved'
    """

    def __init__(self, request_id: int, who: str):
        self.request_id = request_id
        super().__init__(f"{who} has withdrawn consent to be introduced: request {request_id} cannot be approved")


# --- requests ---------------------------------------------------------------------------


def _existing_open(session: Session, statuses=OPEN + ("approved",), **where) -> MatchRequest | None:
    query = select(MatchRequest).where(MatchRequest.status.in_(statuses))
    for column, value in where.items():
        query = query.where(getattr(MatchRequest, column) == value)
    return session.scalars(query.order_by(MatchRequest.id)).first()


# The predicates of the partial unique indexes (matcher.models): one open request per pair.
_OPEN_WHERE = {"introduction": (text("kind = 'introduction' AND status IN ('pending', 'on_hold')"),
                                ["relationship_id", "alumnus_id"]),
               "partnership": (text("kind = 'partnership' AND status IN ('pending', 'on_hold')"),
                               ["chapter_id", "relationship_id"])}


def request_introduction(session: Session, relationship_id: int, alumnus_id: int,
                         requested_by: User | None) -> MatchRequest:
    """Ask a coordinator to introduce an alum to a relationship's committee.

    The suggestion's score and reasons are copied onto the request, so that a later
    re-scoring never changes what the coordinator decides about. Asking twice
    returns the open request instead of a duplicate.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    relationship_id, alumnus_id : int
        The pair.
    requested_by : User or None
        Who asked.

    Returns
    -------
    MatchRequest
        The pending request (new, or the open one for the pair).
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
    """Ask a coordinator to connect a chapter with a sister-city relationship.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    chapter_id, relationship_id : int
        The pair.
    requested_by : User or None
        Who asked.

    Returns
    -------
    MatchRequest
        The pending request.
    """
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
    values = dict(kind=kind, **subject, score=suggestion.score if suggestion else None,
                  contributions=_reasons(session, suggestion),
                  requested_by_id=requested_by.id if requested_by else None, status="pending", decision_count=0)
    # A concurrent click inserts the same pair: the unique index turns the second insert into
    # nothing (it waits for the first to commit), and both clicks read back the one request.
    where, columns = _OPEN_WHERE[kind]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(MatchRequest.__table__).values(**values)
                    .on_conflict_do_nothing(index_elements=columns, index_where=where))
    return _existing_open(session, kind=kind, **subject)


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

    An approval also writes its e-mails to the outbox, in the same transaction: the page
    and the API share this one decide-then-notify path.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    request_id : int
        The request.
    status : str
        "approved", "rejected" or "on_hold". Approved and rejected are final; a
        request on hold can be decided again.
    decided_by : str
        The coordinator's login.
    note : str, optional
        Kept with the decision.
    expected_count : int, optional
        The request's ``decision_count`` as the coordinator saw it (a form's hidden
        field). Defaults to the count read now.

    Returns
    -------
    Decision
        The decision row.

    Raises
    ------
    AlreadyDecided
        When the request is final, or its count moved on since it was read.
    ConsentWithdrawn
        When approving an introduction whose alum has withdrawn consent (nothing is written).
    """
    if status not in DECISION_STATUSES:
        raise DecisionError(f"unknown decision {status!r}; one of {', '.join(DECISION_STATUSES)}")
    decision = _record(session, request_id, status, decided_by, note, expected_count)
    if status == "approved":
        queue_approval_mail(session, session.get(MatchRequest, request_id))
    return decision


def _record(session: Session, request_id: int, status: str, decided_by: str, note: str,
            expected_count: int | None) -> Decision:
    """Append a decision and move the request's status with it (compare-and-set on the count)."""
    request = session.get(MatchRequest, request_id)
    if request is None:
        raise DecisionError(f"no request {request_id}")
    seen = request.decision_count if expected_count is None else expected_count
    if request.status in FINAL:
        raise _closed(session, request)
    needs_consent = status == "approved" and request.kind == "introduction" and request.alumnus_id is not None
    if needs_consent:
        # Lock the alum's row first (PostgreSQL; SQLite has one writer): a concurrent withdrawal
        # takes the same locks in the same order, so one waits for the other. NO KEY UPDATE, as an
        # UPDATE of consent takes: a plain FOR UPDATE would also block the foreign-key checks of a
        # concurrent decision on this request, and the two would deadlock.
        session.execute(select(Alumnus.consent).where(Alumnus.id == request.alumnus_id)
                        .with_for_update(key_share=True))
    changed = session.execute(
        text("UPDATE match_requests SET decision_count = :n + 1 WHERE id = :id AND decision_count = :n"
             + (" AND EXISTS (SELECT 1 FROM alumni WHERE alumni.id = match_requests.alumnus_id "
                "AND alumni.consent)" if needs_consent else "")),
        {"n": seen, "id": request_id},
    ).rowcount
    if changed != 1:
        session.expire(request)
        if needs_consent and not session.scalar(select(Alumnus.consent).where(Alumnus.id == request.alumnus_id)):
            raise ConsentWithdrawn(request_id, request.alumnus.display_name)
        raise _closed(session, request) if request.status in FINAL else _moved_on(session, request_id)
    decision = Decision(request_id=request_id, sequence=seen + 1, status=status, decided_by=decided_by,
                        note=note.strip(), features={c.get("factor", "?"): c.get("level") for c in
                                                     (request.contributions or []) if isinstance(c, dict)})
    session.add(decision)
    session.flush()
    session.execute(text("UPDATE match_requests SET status = :s WHERE id = :id"), {"s": status, "id": request_id})
    session.expire(request)
    return decision


def _closed(session: Session, request: MatchRequest) -> DecisionError:
    if request.status == "withdrawn":
        return ConsentWithdrawn(request.id, request.alumnus.display_name if request.alumnus else "the alum")
    latest = _latest_decision(session, request.id)
    return AlreadyDecided(request.id, latest.decided_by if latest else None, request.status)


def _moved_on(session: Session, request_id: int) -> AlreadyDecided:
    latest = _latest_decision(session, request_id)
    return AlreadyDecided(request_id, latest.decided_by if latest else None, latest.status if latest else None)


def withdraw_consent(session: Session, alum: Alumnus, by: str = WITHDRAWN_BY) -> list[MatchRequest]:
    """Record that ``alum`` no longer consents; close their waiting requests as ``withdrawn``.

    Each closed request keeps its history (a ``withdrawn`` decision row) and its committee is
    told, through the outbox, that the volunteer is no longer available.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    alum : Alumnus
        The alum.
    by : str, optional
        Who the decision rows name.

    Returns
    -------
    list of MatchRequest
        The closed requests.
    """
    alum.consent = False
    session.flush()  # the alum's row first: the same lock order as an approval
    closed = []
    for request in session.scalars(select(MatchRequest).where(
            MatchRequest.alumnus_id == alum.id, MatchRequest.kind == "introduction",
            MatchRequest.status.in_(OPEN)).order_by(MatchRequest.id)).all():
        try:
            _record(session, request.id, "withdrawn", by, "consent withdrawn", None)
        except AlreadyDecided:  # a coordinator decided it a moment earlier
            continue
        closed.append(request)
        _tell_committee(session, request, alum)
    return closed


def queue(kind: str | None = None) -> Select:
    """Return a query for the open requests (pending or on hold), oldest first.

    Parameters
    ----------
    kind : str, optional
        Only requests of this kind ("introduction", "partnership" or "new_partnership").

    Returns
    -------
    sqlalchemy.Select
        The query, for the caller to page through or run.

    Examples
    --------
    >>> print(queue("introduction").whereclause)
    match_requests.status IN (__[POSTCOMPILE_status_1]) AND match_requests.kind = :kind_1
    """
    query = select(MatchRequest).where(MatchRequest.status.in_(OPEN))
    if kind:
        query = query.where(MatchRequest.kind == kind)
    return query.order_by(MatchRequest.requested_at, MatchRequest.id)


def history() -> Select:
    """Return a query for every decision with its request, newest first.

    Returns
    -------
    sqlalchemy.Select
        Rows of (Decision, MatchRequest).
    """
    return select(Decision, MatchRequest).join(MatchRequest).order_by(Decision.decided_at.desc(),
                                                                      Decision.id.desc())


def requests_for_relationship(relationship_id: int) -> Select:
    """Return a query for the introduction requests about one relationship.

    Parameters
    ----------
    relationship_id : int
        The relationship.

    Returns
    -------
    sqlalchemy.Select
        The query.

    Examples
    --------
    >>> print(requests_for_relationship(3).whereclause)
    match_requests.relationship_id = :relationship_id_1 AND match_requests.kind = :kind_1
    """
    return (select(MatchRequest).where(MatchRequest.relationship_id == relationship_id,
                                       MatchRequest.kind == "introduction")
            .order_by(MatchRequest.requested_at.desc()))


def requests_for_alumnus(alumnus_id: int) -> Select:
    """Return a query for the introduction requests about one alum.

    Parameters
    ----------
    alumnus_id : int
        The alum.

    Returns
    -------
    sqlalchemy.Select
        The query.
    """
    return (select(MatchRequest).where(MatchRequest.alumnus_id == alumnus_id)
            .order_by(MatchRequest.requested_at.desc()))


# --- contacts and mail ------------------------------------------------------------------


@dataclass(frozen=True)
class Contacts:
    """Hold who to write to, once a coordinator has approved a request.

    Parameters
    ----------
    alum_name : str or None
        The volunteer's whole name.
    alum_email : str or None
        Their e-mail; None when the alum did not agree to share it.
    committee_name, committee_email : str or None
        The sister-city committee's contact.
    """

    alum_name: str | None
    alum_email: str | None  # None when the alum did not agree to share it
    committee_name: str | None
    committee_email: str | None


def contacts_for(session: Session, request: MatchRequest) -> Contacts | None:
    """Return the contacts an approved request reveals.

    Parameters
    ----------
    session : Session
        Read only.
    request : MatchRequest
        The request.

    Returns
    -------
    Contacts or None
        None for a request that is not approved, and for a proposed new partnership, which
        has no committee or volunteer to reveal.
    """
    if request.status != "approved" or request.kind == "new_partnership":
        return None
    rel = request.relationship_
    alum = request.alumnus
    return Contacts(
        alum_name=alum.name if alum else None,
        alum_email=alum.email if alum and alum.consent_contact else None,
        committee_name=(rel.committee_name or f"{rel.us_label} sister city committee") if rel else None,
        committee_email=_committee_address(session, request),
    )


def _committee_address(session: Session, request: MatchRequest) -> str | None:
    """The committee's e-mail, else the login of the committee member who asked (never a chapter lead)."""
    rel = request.relationship_
    if rel is not None and rel.committee_email:
        return rel.committee_email
    requester = session.get(User, request.requested_by_id) if request.requested_by_id else None
    return requester.login if requester and requester.role != "chapter_lead" and "@" in requester.login else None


def _chapter_leads(session: Session, request: MatchRequest) -> list[User]:
    return list(session.scalars(select(User).where(User.role == "chapter_lead", User.chapter_id == request.chapter_id,
                                                   User.active.is_(True), User.login.contains("@"))
                                .order_by(User.id)))


def approval_messages(session: Session, request: MatchRequest) -> list[tuple[str, str, str]]:
    """Write the e-mails that tell both sides of an approved request about each other.

    An introduction: the committee learns the volunteer's name (and e-mail, if the alum
    shared it), the alum the committee's. A partnership: the committee learns the chapter
    and its leads, the chapter's leads the committee.

    Parameters
    ----------
    session : Session
        Read only.
    request : MatchRequest
        The approved request.

    Returns
    -------
    list of (str, str, str)
        (to, subject, body) per message.
    """
    contacts = contacts_for(session, request)
    if contacts is None or request.relationship_ is None:
        return []
    label = request.relationship_.label
    committee = f"{contacts.committee_name} <{contacts.committee_email or 'no e-mail on file'}>"
    if request.kind == "partnership":
        return _partnership_messages(session, request, label, contacts, committee)
    messages = []
    if contacts.committee_email:
        alum_line = (f"{contacts.alum_name} <{contacts.alum_email}>" if contacts.alum_email
                     else f"{contacts.alum_name} (who will write to you)")
        messages.append((contacts.committee_email, f"jetmatch: introduction approved — {label}",
                         f"A coordinator approved your introduction request for {label}.\n\n"
                         f"Volunteer: {alum_line}\n"))
    if request.alumnus is not None:
        messages.append((request.alumnus.email, f"jetmatch: a sister-city committee would like to meet you — {label}",
                         f"The committee of {label} would like to hear from you.\n\nCommittee: {committee}\n"))
    return messages


def _partnership_messages(session: Session, request: MatchRequest, label: str, contacts: Contacts,
                          committee: str) -> list[tuple[str, str, str]]:
    chapter = request.chapter.name if request.chapter else "a JETAA chapter"
    leads = _chapter_leads(session, request)
    lead_lines = "\n".join(f"  {u.name or u.login} <{u.login}>" for u in leads) or "  (no chapter lead on file)"
    messages = []
    if contacts.committee_email:
        messages.append((contacts.committee_email, f"jetmatch: {chapter} would like to work with you — {label}",
                         f"A coordinator approved connecting {chapter} (JET alumni) with {label}.\n\n"
                         f"Chapter leads:\n{lead_lines}\n"))
    for lead in leads:
        messages.append((lead.login, f"jetmatch: partnership approved — {label}",
                         f"A coordinator approved {chapter}'s proposal to work with {label}.\n\n"
                         f"Committee: {committee}\n"))
    return messages


def queue_approval_mail(session: Session, request: MatchRequest) -> int:
    """Put the approval e-mails of ``request`` in the outbox (same transaction).

    Parameters
    ----------
    session : Session
        Written to (not committed).
    request : MatchRequest
        The approved request.

    Returns
    -------
    int
        How many messages were queued.
    """
    messages = approval_messages(session, request)
    for to, subject, body in messages:
        enqueue(session, to, subject, body, request_id=request.id)
    if messages:
        after_mail_queued(session)
    return len(messages)


def _tell_committee(session: Session, request: MatchRequest, alum: Alumnus) -> None:
    to = _committee_address(session, request)
    if to and request.relationship_ is not None:
        label = request.relationship_.label
        enqueue(session, to, f"jetmatch: volunteer no longer available — {label}",
                f"{alum.display_name}, whom you asked to meet for {label}, is no longer available, "
                f"so request #{request.id} is closed.\n", request_id=request.id)
        after_mail_queued(session)

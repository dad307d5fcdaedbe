"""Mail through an outbox: written with the decision, delivered later with a timeout and retries.

A decision and the e-mails that tell of it are written in one transaction
(:func:`enqueue`), so an approval is never committed without its e-mails, and no web
request ever waits on an SMTP server. :func:`send_outbox` delivers what is due — from
``jetmatch mail send`` or a background job — through a transport passed in:
:class:`SMTPTransport` in production, :class:`ListTransport` in tests and demos.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.models import OutboxMessage

__all__ = ["Transport", "ListTransport", "SMTPTransport", "enqueue", "send_outbox", "outbox_counts",
           "MAX_ATTEMPTS", "RETRY_AFTER"]

MAX_ATTEMPTS = 5
RETRY_AFTER = dt.timedelta(minutes=2)  # doubled after each failed attempt


class Transport(Protocol):
    """Send an e-mail message: anything with ``send(message)`` will do.

    The outbox takes a transport rather than opening a connection itself, so tests hand in a
    :class:`ListTransport` and the app an :class:`SMTPTransport`.
    """

    def send(self, message: EmailMessage) -> None: ...


@dataclass
class ListTransport:
    """Keep messages in ``outbox`` instead of sending them: for tests and demos.

    Parameters
    ----------
    outbox : list of EmailMessage, optional
        Where sent messages go.

    Examples
    --------
    >>> from email.message import EmailMessage
    >>> message = EmailMessage()
    >>> message["Subject"] = "Hello"
    >>> transport = ListTransport()
    >>> transport.send(message)
    >>> [m["Subject"] for m in transport.outbox]
    ['Hello']
    """

    outbox: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)


@dataclass
class SMTPTransport:
    """Send through an SMTP server; ``timeout`` bounds the connection and every reply awaited.

    Parameters
    ----------
    host : str
        The server.
    port : int, optional
        Its port.
    username, password : str, optional
        Log in with these when a username is given.
    starttls : bool, optional
        Upgrade the connection with STARTTLS first.
    timeout : float, optional
        Seconds.
    """

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


DEFAULT_SENDER = "jetmatch <no-reply@jetmatch.invalid>"  # JETMATCH_MAIL_SENDER overrides it


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def enqueue(session: Session, recipient: str, subject: str, body: str,
            request_id: int | None = None) -> OutboxMessage:
    """Add an e-mail to the outbox in the caller's transaction; it is sent after the commit.

    Parameters
    ----------
    session : Session
        The caller's session; the message is added, not flushed or committed.
    recipient, subject, body : str
        The message.
    request_id : int, optional
        The request the message is about.

    Returns
    -------
    OutboxMessage
        The pending row, due now.
    """
    message = OutboxMessage(recipient=recipient, subject=subject, body=body, request_id=request_id,
                            status="pending", attempts=0, last_error="", next_attempt_at=_now())
    session.add(message)
    return message


def _email(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, row.recipient, row.subject
    message["Message-ID"] = f"<outbox-{row.id}@jetmatch>"  # the same id on a retry
    message.set_content(row.body)
    return message


def _due(session: Session, now: dt.datetime, limit: int) -> list[int]:
    return list(session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit)))


def send_outbox(session: Session, transport: Transport, *, sender: str, limit: int = 100,
                max_attempts: int = MAX_ATTEMPTS, retry_after: dt.timedelta = RETRY_AFTER,
                now: dt.datetime | None = None) -> dict[str, int]:
    """Deliver the e-mails that are due; commit after each one.

    Each message is claimed with a row lock (skipped when another sender holds it, on
    PostgreSQL), sent, and marked ``sent``; a failure (a refusal, a timeout, a closed
    connection) counts an attempt and is retried after ``retry_after``, doubling, until
    ``max_attempts``, when the message is marked ``failed`` with the last error kept.

    Parameters
    ----------
    session : Session
        Committed after each message.
    transport : Transport
        Sends the messages (:class:`SMTPTransport`, or :class:`ListTransport` in tests).
    sender : str
        The From address.
    limit : int, optional
        At most this many messages in this run.
    max_attempts : int, optional
        Attempts before a message is marked ``failed``.
    retry_after : timedelta, optional
        The wait after a first failure (doubling after each further one).
    now : datetime, optional
        The time messages are due by (default: now, UTC).

    Returns
    -------
    dict of str to int
        How many were ``sent``, will be ``retried`` and ``failed`` in this run, and how many
        are still ``pending`` (due later or beyond ``limit``).

    Examples
    --------
    >>> from matcher import db
    >>> engine = db.make_engine("sqlite://"); db.upgrade(engine)
    >>> with db.make_sessionmaker(engine)() as session:
    ...     _ = enqueue(session, "sc@example.org", "Hello", "Body")
    ...     session.commit()
    ...     outbox = ListTransport()
    ...     send_outbox(session, outbox, sender="jetmatch <no-reply@example.org>")
    {'sent': 1, 'retried': 0, 'failed': 0, 'pending': 0}
    """
    now = now or _now()
    counts = {"sent": 0, "retried": 0, "failed": 0}
    for message_id in _due(session, now, limit):
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                          OutboxMessage.status == "pending")
                              .with_for_update(skip_locked=True)).first()
        if row is None:  # another sender has it, or sent it already
            session.rollback()
            continue
        row.attempts += 1
        try:
            transport.send(_email(row, sender))
        except (OSError, smtplib.SMTPException) as exc:
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= max_attempts:
                row.status = "failed"
                counts["failed"] += 1
            else:
                row.next_attempt_at = now + retry_after * 2 ** (row.attempts - 1)
                counts["retried"] += 1
        else:
            row.status, row.sent_at, row.last_error = "sent", _now(), ""
            counts["sent"] += 1
        session.commit()
    counts["pending"] = session.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
    return counts


def outbox_counts(session: Session) -> dict[str, int]:
    """Count the messages pending, sent and failed.

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    dict of str to int
        ``pending``, ``sent`` and ``failed``, each present (0 when none).
    """
    found = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: int(found.get(status, 0)) for status in ("pending", "sent", "failed")}

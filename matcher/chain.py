"""The hash chain over decisions: each decision's hash covers its contents and the hash before it.

Changing, removing or inserting a decision below the app breaks the chain at that row,
which :func:`matcher.audit.verify` names. The models call :func:`tail`, :func:`digest` and
:func:`remember` as each decision is inserted; on PostgreSQL an advisory lock held to the
end of the transaction makes writers take their turn, so the chain never forks.

>>> first = digest(GENESIS, {"request_id": 1, "sequence": 1, "status": "approved"})
>>> len(first), first == digest(GENESIS, {"status": "approved", "sequence": 1, "request_id": 1})
(64, True)
>>> first == digest(GENESIS, {"request_id": 1, "sequence": 1, "status": "rejected"})
False
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Connection, text

__all__ = ["GENESIS", "digest", "fields_of", "utc_text", "tail", "remember", "forget"]

GENESIS = "0" * 64  # what the first decision follows
_LOCK = 7_411_202_612  # pg_advisory_xact_lock key: "decisions chain"
_MEMO = "jetmatch_decision_tail"


def utc_text(moment: dt.datetime) -> str:
    """A moment as UTC text to the microsecond; a naive moment is taken as UTC (SQLite keeps no zone).

    >>> utc_text(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    '2026-11-30T00:00:00.000000'
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def fields_of(decision) -> dict[str, Any]:
    """The fields of a decision that its hash covers (all but its id and the hashes)."""
    return {"request_id": decision.request_id, "sequence": decision.sequence, "status": decision.status,
            "decided_by": decision.decided_by, "decided_at": utc_text(decision.decided_at),
            "note": decision.note or "", "features": decision.features or {}}


def digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the fields as canonical JSON."""
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def tail(connection: Connection) -> str:
    """The hash the next decision follows: the newest stored one, or one inserted earlier in this flush."""
    memo = connection.info.get(_MEMO)
    if memo is not None and memo[0] is _transaction(connection):
        return memo[1]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    last = connection.execute(text("SELECT chain_hash FROM decisions ORDER BY id DESC LIMIT 1")).scalar()
    return last or GENESIS


def remember(connection: Connection, chain_hash: str) -> None:
    """Note the hash just given to a decision that is not inserted yet (a flush inserts after hashing all)."""
    connection.info[_MEMO] = (_transaction(connection), chain_hash)


def forget(connection: Connection) -> None:
    """Drop the note once the flush has written its decisions (the table has them now)."""
    connection.info.pop(_MEMO, None)


def _transaction(connection: Connection):
    return connection.get_nested_transaction() or connection.get_transaction()

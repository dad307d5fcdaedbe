"""Verify the decisions' hash chain: the first broken link, or that the trail is whole.

Each decision's ``chain_hash`` covers its fields and the ``chain_hash`` of the decision
before it (:mod:`matcher.chain`). A row changed below the app no longer matches its hash;
a row removed or slipped in breaks the link of the row after it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher import chain
from matcher.models import Decision

__all__ = ["verify"]


def _problem(row: Decision, expected_prev: str, previous_id: int | None) -> str | None:
    if not row.chain_hash:
        return "it has no hash (written outside jetmatch)"
    if row.prev_hash != expected_prev:
        before = f"decision #{previous_id}" if previous_id else "the start of the trail"
        return f"it does not follow {before}: a decision was removed, inserted or reordered before it"
    if chain.digest(row.prev_hash, chain.fields_of(row)) != row.chain_hash:
        return "its contents do not match its hash: it was changed after it was written"
    return None


def verify(session: Session) -> dict[str, Any]:
    """Walk every decision in order and check each link of the chain.

    Returns
    -------
    dict : ``ok``, ``decisions`` checked, and ``first_broken`` (None when whole) with the
    decision's ``id``, ``request_id``, ``sequence`` and the ``problem`` in words.

    Examples
    --------
    >>> from matcher import db
    >>> engine = db.make_engine("sqlite://"); db.upgrade(engine)
    >>> with db.make_sessionmaker(engine)() as session:
    ...     verify(session)
    {'ok': True, 'decisions': 0, 'first_broken': None}
    """
    expected, previous_id, count = chain.GENESIS, None, 0
    # populate_existing: check what the table holds now, not what this session remembers
    result = session.execute(select(Decision).order_by(Decision.id)
                             .execution_options(yield_per=1000, populate_existing=True))
    try:
        for row in result.scalars():
            count += 1
            problem = _problem(row, expected, previous_id)
            if problem:
                broken = {"id": row.id, "request_id": row.request_id, "sequence": row.sequence, "problem": problem}
                break
            expected, previous_id = row.chain_hash, row.id
        else:
            return {"ok": True, "decisions": count, "first_broken": None}
    finally:
        result.close()  # a server-side cursor on PostgreSQL, left open by the early break
    total = session.scalar(select(func.count()).select_from(Decision))
    return {"ok": False, "decisions": total, "first_broken": broken}

"""Stored suggestions, kept small and written in bulk.

What is stored, and why:

* a volunteer row is six numbers: its run, the alumnus, the relationship, the score, its
  rank in the relationship's list (0 when only in the alumnus's own list) and ``levels``,
  the pair code and the alumnus's combo of factor levels in one integer (:func:`pack_levels`).
  The reasons are written from these codes when the row is read
  (:mod:`matcher.scoring.readback`), with the same sentences as at scoring time; storing
  the sentences made storing 350,000 rows take thirty times longer than scoring them;
* the rows are only those the pages read: each relationship's top k and each alumnus's top k;
* a run's model version and time are stored once, in ``score_runs``.

A run replaces every row in one transaction, so a reader sees the old lists or the new
ones, never a mix: SQLite readers keep reading the last committed state until the commit,
and PostgreSQL readers their snapshot. On PostgreSQL the run first takes a lock that
only other writers wait for (two runs at once would otherwise each keep their own rows).

Rows go to the database in bulk, into a table without its indexes, which are built once
at the end from sorted rows (see :func:`replacing`): on SQLite ``executemany`` of one
500-row ``INSERT`` (:func:`_insert_volunteers_sqlite`), a binary ``COPY`` built with NumPy on
PostgreSQL (psycopg 3). On PostgreSQL the run fills a new table beside the old one and
swaps the two at the end, so readers go on reading the old rows meanwhile; keeping the
indexes up to date row by row made the COPY eight times slower.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["LEVEL_BASE", "pack_levels", "unpack_levels", "start_run", "replacing", "current_run", "ensure_run",
           "write_volunteers", "write_partners"]

LEVEL_BASE = 256  # pair codes are below it (uint8)
_VOLUNTEER_COLUMNS = ("run_id", "kind", "alumnus_id", "relationship_id", "score", "rank", "levels")


def pack_levels(pair_code, combo):
    """Return the stored ``levels`` of pairs: pair code + 256 x the alumnus's combo code.

    >>> int(pack_levels(3 * 18 + 1 * 3 + 2, 100))
    25659
    >>> [int(x) for x in unpack_levels(25659)]
    [59, 100]
    """
    return np.asarray(pair_code, np.int64) + LEVEL_BASE * np.asarray(combo, np.int64)


def unpack_levels(levels):
    """Return (pair code, combo code) of stored ``levels``."""
    levels = np.asarray(levels, np.int64)
    return levels % LEVEL_BASE, levels // LEVEL_BASE


def start_run(session, version: str) -> int:
    """Begin replacing the stored suggestions: delete them all, record a new run; return its id.

    Call inside the transaction that writes the new rows. Only the latest earlier run is
    kept (its id keeps new ids growing).
    """
    from sqlalchemy import delete

    from matcher.models import Suggestion

    _lock(session.connection())
    session.execute(delete(Suggestion.__table__))
    return _new_run(session, version)


def _new_run(session, version: str) -> int:
    """Record a new run (forgetting all but the latest earlier one); return its id."""
    from sqlalchemy import delete, func, select

    from matcher.models import ScoreRun

    last = session.scalar(select(func.max(ScoreRun.id)))
    if last is not None:
        session.execute(delete(ScoreRun.__table__).where(ScoreRun.id < last))
    run = ScoreRun(model_version=version)
    session.add(run)
    session.flush()
    return run.id


@contextmanager
def replacing(session, version: str) -> Iterator[int]:
    """Replace every stored suggestion within the block: yield the new run's id to write rows under.

    The rows are written into a table without its secondary indexes, which are built
    after the block: one sorted build of each costs less than keeping it up to date row by
    row. On SQLite the indexes are dropped and the rows deleted first; on PostgreSQL the
    rows go into a new table that replaces the old one at the end (see :func:`_swapping`).
    It all happens in the caller's transaction, so readers see the old rows (and indexes)
    until it commits.
    """
    from matcher.models import Suggestion

    conn = session.connection()
    if conn.dialect.name == "postgresql":
        with _swapping(session, version) as run_id:
            yield run_id
        return
    run_id = start_run(session, version)  # first: its DELETE opens the transaction the DROP INDEXes join
    # a partial index that volunteer rows never enter (chapter_id IS NOT NULL) stays: keeping its few
    # hundred entries costs nothing, building it reads the whole table
    indexes = [index for index in Suggestion.__table__.indexes if index.dialect_options["sqlite"]["where"] is None]
    for index in indexes:
        index.drop(conn)
    yield run_id
    for index in indexes:
        index.create(conn)


_TARGET = "jetmatch.suggestions_table"  # session.info key: the table a run writes into, when not the usual one


def _target(session) -> str:
    from matcher.models import Suggestion

    return session.info.get(_TARGET, Suggestion.__tablename__)


@contextmanager
def _swapping(session, version: str) -> Iterator[int]:
    """On PostgreSQL, write a run into ``suggestions_next`` and put it in the place of ``suggestions``.

    The new table copies the old one's columns, defaults (the same id sequence) and checks;
    its primary key and indexes are built after the rows are in, under temporary names.
    Then the old table is locked (readers wait for the few statements left, never for the
    COPY), dropped, and the new one and its indexes take its name; the sequence passes to
    the new table first, so the drop leaves it be. The new table is analysed (from a
    3,000-row sample), so the planner reads it by its indexes at once. Only one run writes
    at a time (:func:`_lock`), and a run that fails leaves nothing behind: the whole swap is
    one transaction.
    """
    from matcher.models import Suggestion

    conn = session.connection()
    table = Suggestion.__table__
    name, nxt = table.name, f"{table.name}_next"
    _lock(conn)
    conn.exec_driver_sql(f"CREATE TABLE {nxt} (LIKE {name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    run_id = _new_run(session, version)
    session.info[_TARGET] = nxt
    try:
        yield run_id
    finally:
        session.info.pop(_TARGET, None)
    session.flush()
    pk = table.primary_key
    renames = [(f"{pk.name}_next", pk.name)]
    conn.exec_driver_sql(f"ALTER TABLE {nxt} ADD CONSTRAINT {pk.name}_next "
                         f"PRIMARY KEY ({', '.join(c.name for c in pk.columns)})")
    for index in sorted(table.indexes, key=lambda i: i.name):
        where = index.dialect_options["postgresql"]["where"]
        conn.exec_driver_sql(f"CREATE INDEX {index.name}_next ON {nxt} ({', '.join(c.name for c in index.columns)})"
                             + ("" if where is None else f" WHERE {where}"))
        renames.append((f"{index.name}_next", index.name))
    # the planner needs the row count and each column's rough spread to read the new table
    # by its indexes: a sample of 3,000 rows (statistics target 10) tells it as well as the
    # default 30,000, in a tenth of the time
    conn.exec_driver_sql("SET LOCAL default_statistics_target = 10")
    conn.exec_driver_sql(f"ANALYZE {nxt}")
    conn.exec_driver_sql("SET LOCAL default_statistics_target TO DEFAULT")
    sequence = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{name}', 'id')").scalar()
    if sequence is not None:
        conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {nxt}.id")
    conn.exec_driver_sql(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
    conn.exec_driver_sql(f"DROP TABLE {name}")
    conn.exec_driver_sql(f"ALTER TABLE {nxt} RENAME TO {name}")
    for temporary, final in renames:
        conn.exec_driver_sql(f"ALTER INDEX {temporary} RENAME TO {final}")


def _lock(conn) -> None:
    """On PostgreSQL, make other writers of suggestions wait for this transaction (readers do not)."""
    from matcher.models import Suggestion

    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {Suggestion.__tablename__} IN SHARE ROW EXCLUSIVE MODE")


@functools.cache
def _current_query():
    from sqlalchemy import select

    from matcher.models import ScoreRun

    return select(ScoreRun.id, ScoreRun.model_version).order_by(ScoreRun.id.desc()).limit(1)


def current_run(session) -> tuple[int, str] | None:
    """Return (id, model version) of the run whose suggestions are stored; None before any."""
    row = session.execute(_current_query()).first()
    return None if row is None else (row.id, row.model_version)


def ensure_run(session, version: str) -> tuple[int, str]:
    """Return (id, model version) of the current run, starting an empty one with ``version`` when there is none."""
    run = current_run(session)
    return run if run is not None else (start_run(session, version), version)


def write_volunteers(session, run_id: int, alumnus_ids: np.ndarray, relationship_ids: np.ndarray,
                     scores: np.ndarray, ranks: np.ndarray, levels: np.ndarray) -> None:
    """Insert volunteer rows of run ``run_id`` in one bulk statement (arrays of equal length).

    Scores are stored rounded to 4 places, as the readers show them.
    """
    if len(alumnus_ids) == 0:
        return
    scores = np.round(np.asarray(scores, np.float64), 4)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        _copy_volunteers(conn, _target(session), run_id, alumnus_ids, relationship_ids, scores, ranks, levels)
        return
    _insert_volunteers_sqlite(conn.connection.dbapi_connection, _target(session), run_id,
                              (alumnus_ids, relationship_ids, scores, ranks, levels))


_ROWS_PER_INSERT = 500  # volunteer rows per multi-row INSERT on SQLite (5 parameters each)


def _insert_volunteers_sqlite(dbapi_connection, table: str, run_id: int, columns) -> None:
    """INSERT the rows with ``executemany`` of one statement of many ``VALUES`` tuples, then the rest one by one.

    SQLite prepares the statement once and steps it once per 500 rows instead of once per
    row: at 350,000 rows that takes a third of the CPU time of one-row statements. The
    parameters are the five columns interleaved in one flat list, sliced per statement.
    """
    from matcher.collector import paused

    n = len(columns[0])
    width = len(columns)
    limit = getattr(dbapi_connection, "getlimit", None)
    per = _ROWS_PER_INSERT
    if limit is not None:  # SQLite's bound on parameters a statement (999 before 3.32)
        import sqlite3

        per = max(1, min(per, limit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    head = f"INSERT INTO {table} ({', '.join(_VOLUNTEER_COLUMNS)}) VALUES "
    row = f"({int(run_id)}, 'volunteer', {', '.join('?' * width)})"
    with paused():
        cols = [np.asarray(x).tolist() for x in columns]
        flat = [None] * (n * width)
        for i, col in enumerate(cols):
            flat[i::width] = col
        full = (n // per) * per * width  # the parameters of the whole multi-row statements
        step = per * width
        cursor = dbapi_connection.cursor()
        try:
            if full:
                cursor.executemany(head + ", ".join([row] * per), [flat[s:s + step] for s in range(0, full, step)])
            if full < len(flat):
                cursor.executemany(head + row, [flat[s:s + width] for s in range(full, len(flat), width)])
        finally:
            cursor.close()


def _copy_volunteers(conn, table: str, run_id, alumnus_ids, relationship_ids, scores, ranks, levels) -> None:
    """COPY the rows into ``table`` in PostgreSQL's binary format, every tuple laid out by one NumPy record type.

    Each field is its byte length then its value, big-endian: integer columns are int4,
    ``score`` float8 and ``kind`` the nine bytes of "volunteer".
    """
    fields = [("run_id", ">i4"), ("kind", "S9"), ("alumnus_id", ">i4"), ("relationship_id", ">i4"),
              ("score", ">f8"), ("rank", ">i4"), ("levels", ">i4")]
    layout = [("count", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_len", ">i4"), (name, kind)]
    rows = np.empty(len(alumnus_ids), np.dtype(layout))
    rows["count"] = len(fields)
    for name, kind in fields:
        rows[f"{name}_len"] = np.dtype(kind).itemsize
    rows["run_id"], rows["kind"] = run_id, b"volunteer"
    rows["alumnus_id"], rows["relationship_id"] = alumnus_ids, relationship_ids
    rows["score"], rows["rank"], rows["levels"] = scores, ranks, levels
    payload = b"PGCOPY\n\xff\r\n\x00" + bytes(8) + rows.tobytes() + b"\xff\xff"
    sql = f"COPY {table} ({', '.join(_VOLUNTEER_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(payload)


def write_partners(session, run_id: int, rows: list[dict[str, Any]]) -> None:
    """Insert chapter x relationship rows (a few hundred) with their reasons."""
    if rows:
        from sqlalchemy import column, insert, table

        from matcher.models import Suggestion

        into = Suggestion.__table__
        if _target(session) != into.name:  # the same columns and types, in the table being filled
            into = table(_target(session), *(column(c.name, c.type) for c in into.columns if c.name != "id"))
        session.execute(insert(into), [dict(row, run_id=run_id, kind="partner") for row in rows])

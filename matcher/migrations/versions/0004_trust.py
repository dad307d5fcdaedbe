"""trust: names apart, withdrawn requests, one open request, chained and guarded decisions, outbox

- alumni: ``given_name`` and ``family_name`` replace ``name`` (split by matcher.names rules);
- match_requests and decisions accept the status ``withdrawn``; duplicate open requests
  (the double-click bug) are closed as withdrawn, then a partial unique index allows one
  open request per (relationship, alum) and per (chapter, relationship);
- decisions carry ``prev_hash`` and ``chain_hash`` (computed here for the rows already
  there); the database refuses REPLACE/UPSERT (SQLite) and TRUNCATE (PostgreSQL) besides
  UPDATE and DELETE, and a request's status changes only with a decision row;
- ``outbox``: e-mails written with the decision, sent later.

Revision ID: 0004_trust
Revises: 0002
Create Date: 2026-11-30
"""

import datetime as dt
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from matcher import chain
from matcher.names import parse_name

revision = "0004_trust"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None

APPEND_ONLY = "decisions are append-only"
STATUS_GUARD = "a request status changes only with a decision row"
OPEN = "status IN ('pending', 'on_hold')"
REQUEST_STATUSES = "status IN ('pending', 'approved', 'rejected', 'on_hold', 'withdrawn')"
DECISION_STATUSES = "status IN ('approved', 'rejected', 'on_hold', 'withdrawn')"

_requests = sa.table("match_requests", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                     sa.column("alumnus_id", sa.Integer), sa.column("chapter_id", sa.Integer),
                     sa.column("relationship_id", sa.Integer), sa.column("status", sa.String),
                     sa.column("decision_count", sa.Integer))
_decisions = sa.table("decisions", sa.column("id", sa.Integer), sa.column("request_id", sa.Integer),
                      sa.column("sequence", sa.Integer), sa.column("status", sa.String),
                      sa.column("decided_by", sa.String), sa.column("decided_at", sa.DateTime(timezone=True)),
                      sa.column("note", sa.Text), sa.column("features", sa.JSON),
                      sa.column("prev_hash", sa.String), sa.column("chain_hash", sa.String))
_alumni = sa.table("alumni", sa.column("id", sa.Integer), sa.column("name", sa.String),
                   sa.column("given_name", sa.String), sa.column("family_name", sa.String))


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS decisions_no_{action}")
    else:
        op.execute("ALTER TABLE decisions DISABLE TRIGGER decisions_append_only")
    _split_names()
    op.add_column("decisions", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("decisions", sa.Column("chain_hash", sa.String(64), nullable=True))
    _widen_status_checks()
    _close_duplicates()
    _chain_existing()
    op.create_index("uq_match_requests_open_introduction", "match_requests", ["relationship_id", "alumnus_id"],
                    unique=True, sqlite_where=sa.text(f"kind = 'introduction' AND {OPEN}"),
                    postgresql_where=sa.text(f"kind = 'introduction' AND {OPEN}"))
    op.create_index("uq_match_requests_open_partnership", "match_requests", ["chapter_id", "relationship_id"],
                    unique=True, sqlite_where=sa.text(f"kind = 'partnership' AND {OPEN}"),
                    postgresql_where=sa.text(f"kind = 'partnership' AND {OPEN}"))
    _create_outbox()
    if _sqlite():
        _sqlite_triggers()
    else:
        op.execute("ALTER TABLE decisions ENABLE TRIGGER decisions_append_only")
        _postgresql_triggers()


def _split_names() -> None:
    op.add_column("alumni", sa.Column("given_name", sa.String(120), nullable=False, server_default=""))
    op.add_column("alumni", sa.Column("family_name", sa.String(120), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.select(_alumni.c.id, _alumni.c.name)).all()
    for alum_id, name in rows:
        given, family, _ = parse_name(name or "")
        bind.execute(_alumni.update().where(_alumni.c.id == alum_id).values(given_name=given, family_name=family))
    op.drop_column("alumni", "name")


def _widen_status_checks() -> None:
    """Let both tables hold "withdrawn"."""
    checks = (("match_requests", "status IN ('pending', 'approved', 'rejected', 'on_hold')", REQUEST_STATUSES),
              ("decisions", "status IN ('approved', 'rejected', 'on_hold')", DECISION_STATUSES))
    if not _sqlite():
        for table, _, check in checks:
            op.drop_constraint(op.f(f"ck_{table}_status"), table, type_="check")
            op.create_check_constraint(op.f(f"ck_{table}_status"), table, check)
        return
    # SQLite cannot alter a CHECK, and rebuilding these tables would fight their foreign keys
    # and triggers. Widening a CHECK leaves every stored row valid, so the schema text is edited
    # in place, as SQLite's own ALTER TABLE notes describe for loosening constraints.
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, old, new in checks:
        bind.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = :table"), {"old": old, "new": new, "table": table})
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                           {"t": table}).scalar()
        if new not in sql:
            raise RuntimeError(f"could not widen the status check of {table}: {sql}")
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _close_duplicates() -> None:
    """Close all but the oldest of each set of open duplicates, with a decision row saying why."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_requests).where(_requests.c.status.in_(("pending", "on_hold")),
                                                   _requests.c.kind.in_(("introduction", "partnership")))
                        .order_by(_requests.c.id)).all()
    first: dict[tuple, int] = {}
    for r in rows:
        key = (r.kind, r.relationship_id, r.alumnus_id if r.kind == "introduction" else r.chapter_id)
        if key not in first:
            first[key] = r.id
            continue
        bind.execute(_decisions.insert().values(
            request_id=r.id, sequence=r.decision_count + 1, status="withdrawn", decided_by="jetmatch (migration)",
            decided_at=dt.datetime.now(dt.timezone.utc), note=f"duplicate of request #{first[key]}", features={}))
        bind.execute(_requests.update().where(_requests.c.id == r.id)
                     .values(status="withdrawn", decision_count=r.decision_count + 1))


def _chain_existing() -> None:
    bind = op.get_bind()
    prev = chain.GENESIS
    for d in bind.execute(sa.select(_decisions).order_by(_decisions.c.id)).all():
        moment = d.decided_at if d.decided_at.tzinfo else d.decided_at.replace(tzinfo=dt.timezone.utc)
        fields = chain.fields_of(SimpleNamespace(**{**d._asdict(), "decided_at": moment}))
        digest = chain.digest(prev, fields)
        bind.execute(_decisions.update().where(_decisions.c.id == d.id).values(prev_hash=prev, chain_hash=digest))
        prev = digest


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_outbox_status")),
        sa.ForeignKeyConstraint(["request_id"], ["match_requests.id"], name=op.f("fk_outbox_request_id_match_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])


def _sqlite_triggers() -> None:
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER decisions_no_{action.lower()} BEFORE {action} ON decisions "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    # INSERT OR REPLACE and UPSERT resolve a conflict by deleting or updating the old row, which
    # the DELETE trigger does not see (recursive triggers are off): refuse the insert itself.
    op.execute("CREATE TRIGGER decisions_no_replace BEFORE INSERT ON decisions WHEN EXISTS "
               "(SELECT 1 FROM decisions WHERE id = NEW.id OR (request_id = NEW.request_id AND sequence = NEW.sequence)) "
               f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    op.execute("CREATE TRIGGER match_requests_status_guard BEFORE UPDATE OF status ON match_requests "
               "WHEN NEW.status IS NOT OLD.status AND NOT EXISTS (SELECT 1 FROM decisions WHERE "
               "request_id = NEW.id AND sequence = NEW.decision_count AND status = NEW.status) "
               f"BEGIN SELECT RAISE(ABORT, '{STATUS_GUARD}'); END")
    op.execute("CREATE TRIGGER match_requests_start_pending BEFORE INSERT ON match_requests "
               f"WHEN NEW.status <> 'pending' BEGIN SELECT RAISE(ABORT, '{STATUS_GUARD}'); END")


def _postgresql_triggers() -> None:
    op.execute("CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions "
               "FOR EACH STATEMENT EXECUTE FUNCTION decisions_append_only()")
    op.execute(f"""
        CREATE FUNCTION match_requests_status_guard() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'INSERT' AND NEW.status <> 'pending' THEN
                RAISE EXCEPTION '{STATUS_GUARD}';
            END IF;
            IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
                SELECT 1 FROM decisions WHERE request_id = NEW.id AND sequence = NEW.decision_count
                AND status = NEW.status) THEN
                RAISE EXCEPTION '{STATUS_GUARD}';
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("CREATE TRIGGER match_requests_status_guard BEFORE INSERT OR UPDATE ON match_requests "
               "FOR EACH ROW EXECUTE FUNCTION match_requests_status_guard()")


def downgrade() -> None:
    if _sqlite():
        for name in ("decisions_no_replace", "match_requests_status_guard", "match_requests_start_pending"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS match_requests_status_guard ON match_requests")
        op.execute("DROP FUNCTION IF EXISTS match_requests_status_guard()")
        op.execute("DROP TRIGGER IF EXISTS decisions_no_truncate ON decisions")
    op.drop_index("ix_outbox_status_next", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("uq_match_requests_open_partnership", table_name="match_requests")
    op.drop_index("uq_match_requests_open_introduction", table_name="match_requests")
    op.drop_column("decisions", "chain_hash")
    op.drop_column("decisions", "prev_hash")
    op.add_column("alumni", sa.Column("name", sa.String(120), nullable=False, server_default=""))
    bind = op.get_bind()
    for alum_id, given, family in bind.execute(sa.select(_alumni.c.id, _alumni.c.given_name,
                                                         _alumni.c.family_name)).all():
        bind.execute(_alumni.update().where(_alumni.c.id == alum_id).values(name=f"{given} {family}".strip()))
    op.drop_column("alumni", "family_name")
    op.drop_column("alumni", "given_name")
    if not _sqlite():  # SQLite keeps the wider CHECKs: a rebuild would cost more than it is worth
        for table, statuses in (("match_requests", "'pending', 'approved', 'rejected', 'on_hold'"),
                                ("decisions", "'approved', 'rejected', 'on_hold'")):
            op.drop_constraint(op.f(f"ck_{table}_status"), table, type_="check")
            # NOT VALID: withdrawn rows stay as history; new rows are held to the old list.
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_status CHECK (status IN ({statuses})) NOT VALID")

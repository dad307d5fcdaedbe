"""change stamps per writer on PostgreSQL: concurrent writers no longer queue on one row

0009 had every PostgreSQL statement that changes a stamped table raise one shared row,
``data``, and keep its row lock to commit: two imports (or an import and a relationship
edit) then ran one after the other, and two transactions that also touched each other's rows
could deadlock. Now each server process (``pg_backend_pid()``) raises its own row,
``pid:<pid>``, created on its first change; the stamp a reader takes is the sum of all rows.
Any committed change raises that sum, and a change becomes visible with its data, as before;
two processes never share a row, so writers never wait on the stamp. SQLite has one writer
at a time and keeps the single row.

Revision ID: 0010_stamp_per_writer
Revises: 0009_change_stamps
Create Date: 2026-11-30
"""

from alembic import op

revision = "0010_stamp_per_writer"
down_revision = "0009_change_stamps"
branch_labels = None
depends_on = None

PER_WRITER = ("INSERT INTO change_stamps (name, version) VALUES ('pid:' || pg_backend_pid(), 1) "
              "ON CONFLICT (name) DO UPDATE SET version = change_stamps.version + 1")
SHARED = "UPDATE change_stamps SET version = version + 1 WHERE name = 'data'"


def _function(body: str) -> None:
    op.execute(f"CREATE OR REPLACE FUNCTION bump_change_stamp() RETURNS trigger AS $$ BEGIN {body}; RETURN NULL; "
               "END; $$ LANGUAGE plpgsql")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        _function(PER_WRITER)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # fold the writers' rows back into ``data`` so the stamp a reader takes never goes down
        op.execute("UPDATE change_stamps SET version = (SELECT sum(version) FROM change_stamps) WHERE name = 'data'")
        op.execute("DELETE FROM change_stamps WHERE name <> 'data'")
        _function(SHARED)

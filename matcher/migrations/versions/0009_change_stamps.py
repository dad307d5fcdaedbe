"""change stamps: a counter the database bumps whenever the data pages derive from changes

``change_stamps`` holds one row, ``data``, whose ``version`` triggers raise in the same
transaction as any insert, update or delete of the tables listed in
:data:`matcher.models.STAMPED_TABLES` (alumni, placements, relationships, places, chapters,
scoring models). A page may keep what it built from those tables in memory, keyed on the
version it read first: the change and the new version become visible together, so a page
never serves what it built before a change (a consent withdrawn, a placement corrected)
once that change has committed. Triggers, not application code, so that every writer
(web, CLI, bulk import, a job) bumps it.

Revision ID: 0009_change_stamps
Revises: 0007_compact_suggestions
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_change_stamps"
down_revision = "0007_compact_suggestions"
branch_labels = None
depends_on = None

# the tables of matcher.models.STAMPED_TABLES when this revision was written
TABLES = ("alumni", "placements", "relationships", "prefectures", "municipalities", "municipality_aliases",
          "us_states", "us_places", "chapters", "scoring_models")
BUMP = "UPDATE change_stamps SET version = version + 1 WHERE name = 'data'"


def upgrade() -> None:
    op.create_table(
        "change_stamps",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_stamps")),
    )
    op.execute("INSERT INTO change_stamps (name, version) VALUES ('data', 1)")
    if op.get_context().dialect.name == "postgresql":
        # one bump per statement (a 40,000-row COPY bumps once); the row lock is held to commit
        op.execute(f"CREATE FUNCTION bump_change_stamp() RETURNS trigger AS $$ BEGIN {BUMP}; RETURN NULL; END; "
                   "$$ LANGUAGE plpgsql")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_change_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp()")
    else:  # SQLite has row triggers only; one writer at a time, so the bumps never wait
        for table in TABLES:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_change_stamp_{action.lower()} AFTER {action} ON {table} "
                           f"BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_change_stamp ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_change_stamp()")
    else:
        for table in TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_change_stamp_{action}")
    op.drop_table("change_stamps")

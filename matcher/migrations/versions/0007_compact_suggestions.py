"""compact stored suggestions: level codes instead of sentences, one score run per model and time

Stored suggestions are derived data (``jetmatch score`` rebuilds them), so the table is
rebuilt empty in its new shape rather than converted: a volunteer row keeps its comparison
levels as one integer and its reasons are written when it is read; ``score_runs`` holds
each run's model version and time. The new table has no foreign keys: every run replaces
it whole, and PostgreSQL's row-by-row key checks tripled the time of storing a run.

Revision ID: 0007_compact_suggestions
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_compact_suggestions"
down_revision = "0003_aliases"
branch_labels = None
depends_on = None


def _suggestions(*columns: sa.Column, partial: bool = True) -> None:
    keys = [] if partial else [  # the new table has no foreign keys (see matcher.models.Suggestion)
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], name=op.f("fk_suggestions_alumnus_id_alumni"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chapter_id"], ["chapters.id"], name=op.f("fk_suggestions_chapter_id_chapters"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relationship_id"], ["relationships.id"],
                                name=op.f("fk_suggestions_relationship_id_relationships"), ondelete="CASCADE"),
    ]
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=True),
        sa.Column("chapter_id", sa.Integer(), nullable=True),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.CheckConstraint("(kind = 'volunteer' AND alumnus_id IS NOT NULL) OR (kind = 'partner' AND chapter_id IS NOT NULL)",
                           name=op.f("ck_suggestions_subject")),
        sa.CheckConstraint("kind IN ('volunteer', 'partner')", name=op.f("ck_suggestions_kind")),
        *keys,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
    )
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suggestions_alumnus_id"), ["alumnus_id"], unique=False)
        where = sa.text("chapter_id IS NOT NULL") if partial else None
        batch_op.create_index(batch_op.f("ix_suggestions_chapter_id"), ["chapter_id"], unique=False,
                              sqlite_where=where, postgresql_where=where)
        batch_op.create_index("ix_suggestions_relationship_score", ["relationship_id", "score"], unique=False)


def upgrade() -> None:
    op.create_table(
        "score_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_runs")),
    )
    op.drop_table("suggestions")
    _suggestions(
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("levels", sa.Integer(), nullable=True),
        sa.Column("contributions", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("suggestions")
    _suggestions(
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        partial=False,
    )
    op.drop_table("score_runs")

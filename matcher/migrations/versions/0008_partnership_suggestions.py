"""precomputed partnership suggestions, written when the partnership model is trained

Revision ID: 0008_partnership_suggestions
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_partnership_suggestions"
down_revision = "0005_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partnership_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("us_key", sa.String(length=40), nullable=False),
        sa.Column("jp_key", sa.String(length=20), nullable=False),
        sa.Column("us_label", sa.String(length=200), nullable=False),
        sa.Column("jp_label", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("champion_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_version"], ["scoring_models.version"], ondelete="CASCADE",
                                name=op.f("fk_partnership_suggestions_model_version_scoring_models")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership_suggestions")),
    )
    op.create_index("ix_partnership_suggestions_version_level_rank", "partnership_suggestions",
                    ["model_version", "level", "rank"])


def downgrade() -> None:
    op.drop_index("ix_partnership_suggestions_version_level_rank", table_name="partnership_suggestions")
    op.drop_table("partnership_suggestions")

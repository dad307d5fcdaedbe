"""old names keep their official kana, district in kanji and old JIS code (e-Stat Heisei mergers)

Revision ID: 0003_aliases
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_aliases"
down_revision = "0004_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("municipality_aliases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kana", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("district_ja", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("old_code", sa.String(length=5), nullable=True))
        batch_op.create_index(batch_op.f("ix_municipality_aliases_old_code"), ["old_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("municipality_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_municipality_aliases_old_code"))
        batch_op.drop_column("old_code")
        batch_op.drop_column("district_ja")
        batch_op.drop_column("kana")

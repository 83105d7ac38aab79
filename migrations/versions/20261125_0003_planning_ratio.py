"""planning figures keep the guideline ratio they were computed against

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("planning_figure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ratio", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("planning_figure", schema=None) as batch_op:
        batch_op.drop_column("ratio")

"""collaborations remember when both sides had confirmed them

Digests report collaborations that became active since the last digest; the creation time is
wrong for one proposed on Monday and confirmed on Friday.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("collaboration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_collaboration_active_since", ["active_since"], unique=False)
    # Collaborations confirmed before this revision: the best known moment is their creation.
    collaboration = sa.table(
        "collaboration",
        sa.column("active_since", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("confirmed_a", sa.Boolean()),
        sa.column("confirmed_b", sa.Boolean()),
    )
    op.execute(
        collaboration.update()
        .where(collaboration.c.confirmed_a.is_(True), collaboration.c.confirmed_b.is_(True))
        .values(active_since=collaboration.c.created_at)
    )


def downgrade():
    with op.batch_alter_table("collaboration", schema=None) as batch_op:
        batch_op.drop_index("ix_collaboration_active_since")
        batch_op.drop_column("active_since")

"""covering indexes for the open positions (radius search, list by start date)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_index("ix_position_status_lat_lon")
        batch_op.create_index(
            "ix_position_open_geo",
            ["status", "latitude", "longitude", "deadline", "start_date"],
            unique=False,
        )
        batch_op.create_index(
            "ix_position_open_start",
            ["status", "deadline", "start_date", "created_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_index("ix_position_open_start")
        batch_op.drop_index("ix_position_open_geo")
        batch_op.create_index(
            "ix_position_status_lat_lon", ["status", "latitude", "longitude"], unique=False
        )

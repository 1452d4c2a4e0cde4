"""earned autonomy: the current earned state of each step, and an index to measure agreement

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "autonomy_states",
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("earned", sa.Boolean(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("min_agreement", sa.Float(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flow", "step"),
    )
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_signoff_agreement", ["flow", "step", "status", "decided_at"])


def downgrade() -> None:
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_signoff_agreement")
    op.drop_table("autonomy_states")

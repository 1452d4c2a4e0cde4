"""oversight: per-flow stop switch; deadline escalation columns on signoff_tasks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_switches",
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flow"),
    )
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_overdue", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_signoff_overdue", ["status", "escalated_at", "deadline"])


def downgrade() -> None:
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_signoff_overdue")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalation")
        batch_op.drop_column("on_overdue")
    op.drop_table("flow_switches")

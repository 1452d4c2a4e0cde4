"""sign-off inbox: users, departments, roles, task views, decision outbox; claim and
four-eyes columns and queue indexes on signoff_tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_users",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "inbox_user_departments",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["inbox_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "department"),
    )
    op.create_table(
        "inbox_user_roles",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["inbox_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "role"),
    )
    op.create_table(
        "task_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("signoff_task_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["signoff_task_id"], ["signoff_tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task_views", schema=None) as batch_op:
        batch_op.create_index("ix_task_views_task", ["signoff_task_id"], unique=False)

    op.create_table(
        "decision_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("signoff_task_id", sa.String(length=36), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("run_input", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["signoff_task_id"], ["signoff_tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("signoff_task_id"),
    )
    with op.batch_alter_table("decision_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_decision_outbox_status", ["status"], unique=False)

    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("four_eyes", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_signoff_queue_deadline", ["status", "department", "deadline"], unique=False
        )
        batch_op.create_index(
            "ix_signoff_queue_created", ["status", "department", "created_at"], unique=False
        )
        batch_op.create_index("ix_signoff_decided_by", ["decided_by", "decided_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_signoff_decided_by")
        batch_op.drop_index("ix_signoff_queue_created")
        batch_op.drop_index("ix_signoff_queue_deadline")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("four_eyes")
    with op.batch_alter_table("decision_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_outbox_status")
    op.drop_table("decision_outbox")
    with op.batch_alter_table("task_views", schema=None) as batch_op:
        batch_op.drop_index("ix_task_views_task")
    op.drop_table("task_views")
    op.drop_table("inbox_user_roles")
    op.drop_table("inbox_user_departments")
    op.drop_table("inbox_users")

"""notifications: who is told (e-mail digest / webhook) when sign-off tasks arrive or go
overdue, and which tasks each subscription was already told about

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(length=100),
                  sa.ForeignKey("inbox_users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("on_arrival", sa.Boolean(), nullable=False),
        sa.Column("on_overdue", sa.Boolean(), nullable=False),
        sa.Column("every_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notification_subscriptions_user_id", "notification_subscriptions",
                    ["user_id"])
    op.create_table(
        "notifications_sent",
        sa.Column("subscription_id", sa.Integer(),
                  sa.ForeignKey("notification_subscriptions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("task_id", sa.String(length=36), primary_key=True),
        sa.Column("event", sa.String(length=10), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notifications_sent")
    op.drop_index("ix_notification_subscriptions_user_id", "notification_subscriptions")
    op.drop_table("notification_subscriptions")

"""inbox sessions: server-side login sessions, so logout, deactivation and "log out
everywhere" end a session at once (the cookie only names the session)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("privileges", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_why", sa.String(length=40), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
    )
    op.create_index("ix_inbox_sessions_user", "inbox_sessions", ["user_id", "revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_sessions_user", table_name="inbox_sessions")
    op.drop_table("inbox_sessions")

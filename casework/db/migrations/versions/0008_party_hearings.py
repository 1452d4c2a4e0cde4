"""party hearings: the hearing (forvaltningsloven § 19) the runtime inserts before a decision,
and the wake-ups that resume a flow run waiting for its reply or deadline

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "party_hearings",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("case_ref", sa.String(length=40), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("decision_step", sa.String(length=100), nullable=False),
        sa.Column("signoff_task_id", sa.String(length=36), sa.ForeignKey("signoff_tasks.id"),
                  nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("reply_days", sa.Integer(), nullable=False),
        sa.Column("letter_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_registered_by", sa.String(length=100), nullable=True),
        sa.Column("reply_note", sa.Text(), nullable=True),
        sa.Column("deadline_passed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waiting_run_id", sa.String(length=36), nullable=True),
    )
    op.create_index("ux_party_hearing_case_step", "party_hearings",
                    ["case_ref", "flow", "decision_step"], unique=True)
    op.create_index("ix_party_hearing_open", "party_hearings",
                    ["status", "reply_received_at", "reply_deadline"])
    op.create_table(
        "hearing_wakeups",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("hearing_id", sa.String(length=36), sa.ForeignKey("party_hearings.id"),
                  nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("run_input", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_hearing_wakeups_status", "hearing_wakeups", ["status"])


def downgrade() -> None:
    op.drop_index("ix_hearing_wakeups_status", table_name="hearing_wakeups")
    op.drop_table("hearing_wakeups")
    op.drop_index("ix_party_hearing_open", table_name="party_hearings")
    op.drop_index("ux_party_hearing_case_step", table_name="party_hearings")
    op.drop_table("party_hearings")

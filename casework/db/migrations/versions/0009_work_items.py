"""work items: the case as the unit of work — a durable queue of items per flow, the steps
that finished for each item (handed back on later runs), and a ledger keyed by (item, step)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_items",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("case_ref", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("parked_task_id", sa.String(length=36), nullable=True),
        sa.Column("lease_holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload_erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ux_work_items_flow_key", "work_items", ["flow", "key"], unique=True)
    op.create_index("ix_work_items_claim", "work_items", ["flow", "state", "created_at"])
    op.create_index("ix_work_items_parked_task", "work_items", ["parked_task_id"])
    op.create_table(
        "item_steps",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("work_item_id", sa.String(length=36), sa.ForeignKey("work_items.id"),
                  nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("call", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("signoff_task_id", sa.String(length=36), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ux_item_steps_item_step_call", "item_steps",
                    ["work_item_id", "step", "call"], unique=True)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_item_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("item_call", sa.Integer(), nullable=True))
        batch_op.create_index("ux_ledger_item_step", ["work_item_id", "step", "item_call"],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ux_ledger_item_step")
        batch_op.drop_column("item_call")
        batch_op.drop_column("work_item_id")
    op.drop_index("ux_item_steps_item_step_call", table_name="item_steps")
    op.drop_table("item_steps")
    op.drop_index("ix_work_items_parked_task", table_name="work_items")
    op.drop_index("ix_work_items_claim", table_name="work_items")
    op.drop_index("ux_work_items_flow_key", table_name="work_items")
    op.drop_table("work_items")

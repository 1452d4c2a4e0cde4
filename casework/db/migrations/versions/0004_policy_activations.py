"""policy activations: which policy version is in force for each flow, tested and by whom

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_activations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("policy_hash", sa.String(length=64), nullable=False),
        sa.Column("scenarios_hash", sa.String(length=64), nullable=False),
        sa.Column("scenarios_text", sa.Text(), nullable=False),
        sa.Column("scenarios_passed", sa.Integer(), nullable=False),
        sa.Column("activated_by", sa.String(length=100), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["policy_hash"], ["policy_versions.hash"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_policy_activations_flow", "policy_activations", ["flow", "id"])


def downgrade() -> None:
    op.drop_index("ix_policy_activations_flow", table_name="policy_activations")
    op.drop_table("policy_activations")

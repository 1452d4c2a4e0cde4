"""review requests: a sign-off task is either a robot's work to sign off or a citizen's request
for human review of an automated step (GDPR Art. 22(3))

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False,
                                      server_default="signoff"))
        batch_op.create_index("ix_signoff_case_kind", ["case_ref", "kind"])


def downgrade() -> None:
    with op.batch_alter_table("signoff_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_signoff_case_kind")
        batch_op.drop_column("kind")

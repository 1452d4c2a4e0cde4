"""queue indexes: the inbox's first page stays fast with 100,000 open tasks

Measured with bench/inbox_latency.py: the badge counts read every visible task row and the
deadline-ordered page sorted all of them. A covering index serves the counts; two indexes in
page order serve the lists (the department and role filters are checked while reading in
order, and LIMIT stops the read after one page).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:00:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # json has no b-tree operator class: there the role list rides along as INCLUDE.
        op.create_index("ix_signoff_queue_counts", "signoff_tasks",
                        ["status", "department", "flow", "deadline"],
                        postgresql_include=["signoff_roles"])
    else:
        op.create_index("ix_signoff_queue_counts", "signoff_tasks",
                        ["status", "department", "flow", "signoff_roles", "deadline"])
    op.create_index("ix_signoff_open_deadline", "signoff_tasks",
                    ["status", "deadline", "created_at", "id"])
    op.create_index("ix_signoff_open_created", "signoff_tasks", ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_signoff_open_created", table_name="signoff_tasks")
    op.drop_index("ix_signoff_open_deadline", table_name="signoff_tasks")
    op.drop_index("ix_signoff_queue_counts", table_name="signoff_tasks")

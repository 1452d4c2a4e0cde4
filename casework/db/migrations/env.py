"""Alembic environment: runs against the connection handed over by ``casework.db.migrate``."""

from alembic import context

from casework.db.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs plain `alembic` by hand
    from casework.db.session import get_engine

    connection = get_engine().connect()

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

"""The connector's state: SQLAlchemy models, Alembic migrations, and the operations the flows need."""

from mlconnector.store.db import Store, make_engine, migrate

__all__ = ["Store", "make_engine", "migrate"]

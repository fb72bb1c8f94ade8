"""Persistence: SQLAlchemy models, the unit of work (the only place with SQL), migrations."""

"""A PostgreSQL database of a benchmark's own, created on the server and dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import normalise_url


@contextmanager
def scratch_postgres(admin_url: str, prefix: str = "release_bot_bench") -> Iterator[str]:
    """The URL of a new, empty database on the server at `admin_url`."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(normalise_url(admin_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""References that tie what a user is told to what the operators find in the log."""

from __future__ import annotations

import uuid


def incident_id() -> str:
    """A short reference a user can quote and an operator can find in the log."""
    return uuid.uuid4().hex[:8]

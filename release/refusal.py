"""A refusal is a value, not an exception: the reason is what the user is told."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    reason: str

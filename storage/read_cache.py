"""Answers the readers' pool may reuse while the database says nothing they came from changed.

A cached read is made, inside one read-only snapshot, only from the tables in `SOURCES`.
The database's own triggers (migration 0011) bump `read_version` in every transaction that
changes one of them, so a snapshot that sees a change sees its version, and one that does
not, the version before it. A read looks up the version in its own snapshot and reuses an
answer only if that answer was read at the same version: never older than the snapshot it
is served in, whichever instance or process wrote last. Nothing here is the truth; the
database is, and a new process starts with nothing cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: The tables a cached read may read (migration 0011's triggers watch exactly these).
SOURCES = frozenset(
    {
        "releases",
        "reviews",
        "sign_offs",
        "compliance_ticks",
        "role_grants",
        "freezes",
        "deploy_locks",
        "deployments",
    }
)


class ReadCache:
    """The latest answer to each question, with the version it was read at; the
    `size` most recently used questions are kept. Answers must be immutable."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def get(self, version: int | None, key: Hashable, read: Callable[[], T]) -> T:
        """The answer to `key` read at `version`: kept, or `read()` now (and kept)."""
        if version is None:  # no version row: nothing can be told apart, nothing is kept
            return read()
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None and kept[0] == version:
                self._answers.move_to_end(key)
                return kept[1]  # type: ignore[no-any-return]
        answer = read()
        with self._lock:
            self._answers[key] = (version, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return answer

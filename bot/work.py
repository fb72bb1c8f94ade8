"""Where slow work runs: a thread pool beside the event loop that acknowledges Slack.

Listeners ack on the event loop and hand their database and integration work to this
pool without waiting for it (`submit`), so the acknowledgement goes out at once and one
slow release never delays anyone else's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from commands.errors import incident_id

log = logging.getLogger(__name__)
T = TypeVar("T")


class Worker:
    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="release-work")
        # Read-only answers wait on their own threads: never behind a queue of writes.
        self._readers = ThreadPoolExecutor(threads, thread_name_prefix="release-read")
        self._busy = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., object], *args: Any) -> None:
        """Hand `fn` to the pool and return at once: the caller's ack() is not kept waiting.

        Counted from now, so a shutdown that starts before `fn` does still waits for it.
        """
        self._enter()
        self._executor.submit(self._counted, fn, *args).add_done_callback(_log_failure)

    def read(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run a read-only `fn` on the readers' pool; the caller awaits its answer.

        Not counted for `shutdown`: it is short (the database bounds it), and what it
        says after the acknowledgement went out is handed to `submit`, which is counted.
        Cancelled before it starts, it never runs.
        """
        return self._readers.submit(fn, *args)

    def _enter(self) -> None:
        with self._idle:
            self._busy += 1

    def _counted(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def shutdown(self, deadline: float | None = None) -> None:
        """Let the commands already acknowledged finish (they are short), until `deadline`.

        The pool keeps accepting: a listener that acknowledged a moment ago still runs.
        """
        with self._idle:
            while self._busy and (deadline is None or time.monotonic() < deadline):
                self._idle.wait(0.1)


def _log_failure(future: Future[object]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.error("work handed off by a listener failed", exc_info=error)


def guarded(tell: Callable[[str], None], fn: Callable[..., T], *args: Any) -> T | None:
    """Run `fn`; on an unexpected error log it and tell the user without a stack trace."""
    try:
        return fn(*args)
    except Exception:
        ref = incident_id()
        log.exception("unexpected error (ref %s)", ref)
        try:
            tell(
                f"Something went wrong on my side (ref `{ref}`). Whatever was recorded before "
                "it is announced in the channel, and `/release status` shows where things "
                "stand. Please tell the bot's operators."
            )
        except Exception:
            log.exception("could not tell the user about ref %s", ref)
        return None

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
        # Read-only answers wait on their own threads: never behind a queue of writes; and
        # an answer that follows its acknowledgement is sent from threads of its own.
        self._readers = ThreadPoolExecutor(threads, thread_name_prefix="release-read")
        self._followers = ThreadPoolExecutor(threads, thread_name_prefix="release-answer")
        self._busy = 0
        self._moves = 0  # work counted in and out: it changes whenever some starts or ends
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., object], *args: Any) -> None:
        """Hand `fn` to the pool and return at once: the caller's ack() is not kept waiting.

        Counted from now, so a shutdown that starts before `fn` does still waits for it.
        """
        self._counted_on(self._executor, fn, *args)

    def read(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run a read-only `fn` on the readers' pool; the caller awaits its answer.

        Not counted for `shutdown` while its caller awaits it (the request is still open,
        and the server waits for open requests); a caller that stops waiting hands what
        is left to `then`, which is counted.
        """
        return self._readers.submit(fn, *args)

    def check(self, fn: Callable[..., object], *args: Any) -> None:
        """Run `fn(*args)`, a quick read-only check before a request's work is handed on,
        on the readers' pool (never behind a slow post); counted from now."""
        self._counted_on(self._readers, fn, *args)

    def follow(self, fn: Callable[..., object], *args: Any) -> None:
        """Run `fn(*args)`, which answers a request after its acknowledgement, on the
        followers' pool (never behind a queue of commands); counted from now."""
        self._counted_on(self._followers, fn, *args)

    def then(self, future: Future[T], fn: Callable[..., object], *args: Any) -> None:
        """Once `future` is done, run `fn(*args, result)` on the followers' pool; counted
        from now, so a shutdown waits for both (the read, then `fn`)."""
        self._enter()

        def follow(done: Future[T]) -> None:  # on the thread that finished it, or this one
            try:
                call = (fn, *args, done.result())
                self._followers.submit(self._counted, *call).add_done_callback(_log_failure)
            except BaseException:
                self._leave()
                log.exception("could not follow up on a read")

        future.add_done_callback(follow)

    @property
    def idle(self) -> bool:
        """Whether no command or follow-up handed to this worker is waiting or running."""
        with self._idle:
            return not self._busy

    @property
    def moves(self) -> int:
        """A count that changes whenever a piece of work is handed in or finishes."""
        with self._idle:
            return self._moves

    def _enter(self) -> None:
        with self._idle:
            self._busy += 1
            self._moves += 1

    def _counted_on(self, pool: ThreadPoolExecutor, fn: Callable[..., object], *args: Any) -> None:
        """Run `fn(*args)` on `pool`, counted from now until it ends."""
        self._enter()
        pool.submit(self._counted, fn, *args).add_done_callback(_log_failure)

    def _counted(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        finally:
            self._leave()

    def _leave(self) -> None:
        with self._idle:
            self._busy -= 1
            self._moves += 1
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

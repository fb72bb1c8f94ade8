"""A background loop that claims due work from the database and runs it on a small pool.

Every instance runs one for the outbox and one for release jobs. It wakes when this
instance commits new work, and polls so that any instance picks up work another left
(a retry that fell due, a claim whose instance died).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

Claimed = list[tuple[str, Callable[[], None]]]


class Pump:
    def __init__(self, name: str, *, threads: int, poll_seconds: float) -> None:
        self.name = name
        self._poll = poll_seconds
        self._threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._busy: set[str] = set()
        self._claiming = False
        self._moves = 0  # claims begun and work finished: it changes whenever this pump moves
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    # -- what a subclass provides -----------------------------------------------------------

    def claim(self, busy: set[str], room: int) -> Claimed:
        """Claim up to `room` due items whose keys are not in `busy`: (key, work) pairs."""
        raise NotImplementedError

    def hand_back(self) -> None:
        """Give back whatever this instance still has claimed (a clean shutdown)."""

    def due(self) -> bool:
        """Whether some work is due now that nobody holds (a read-only look at the database)."""
        raise NotImplementedError

    # -- the loop ------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"{self.name}-pump", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    @property
    def busy(self) -> bool:
        """Whether this instance is claiming work or running what it claimed."""
        with self._lock:
            return self._claiming or bool(self._busy)

    @property
    def moves(self) -> int:
        """A count that changes whenever this pump begins claiming or finishes a piece of work:
        unchanged across two looks, nothing started or ended in between."""
        with self._lock:
            return self._moves

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.pump()
            except Exception as error:  # a database blip: try again at the next poll
                log.warning("%s: could not look for due work (%s)", self.name, type(error).__name__)

    def pump(self) -> None:
        with self._lock:
            busy, room = set(self._busy), self._threads - len(self._busy)
            if room <= 0:
                return
            self._claiming = True  # what it claims is not due, and not yet in _busy
            self._moves += 1
        try:
            for key, work in self.claim(busy, room):
                with self._lock:
                    self._busy.add(key)
                self._pool.submit(self._run, key, work)
        finally:
            with self._lock:
                self._claiming = False

    def _run(self, key: str, work: Callable[[], None]) -> None:
        try:
            work()
        except DBAPIError as error:  # the database went away mid-step: the claim lapses
            log.warning(
                "%s: %s could not be recorded (database: %s); it is retried",
                self.name,
                key,
                type(error.orig).__name__ if error.orig else type(error).__name__,
            )
        except Exception:
            log.exception("%s: %s stopped unexpectedly; it is retried", self.name, key)
        finally:
            with self._lock:
                self._busy.discard(key)
                self._moves += 1
                self._idle.notify_all()
            self.wake()  # the next item of that lane or job may be due now

    def halt(self) -> None:
        """Stop claiming new work (what is under way goes on)."""
        self._stopping.set()
        self._wake.set()

    def stop(self, deadline: float) -> bool:
        """Stop claiming; wait until `deadline` (monotonic) for work under way; hand back the rest.

        True when everything under way finished in time.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            finished = not self._busy
        try:
            self.hand_back()
        except Exception as error:
            log.warning("%s: could not hand back claims (%s)", self.name, type(error).__name__)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return finished

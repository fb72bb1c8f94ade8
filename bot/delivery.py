"""Delivers the outbox to Slack: after commit, in order per lane, retried until it lands.

A failed delivery never changes a release: it is retried with backoff (honouring
Slack's Retry-After) by whichever instance gets to it first, after a restart too. A
message Slack refuses for good is marked undeliverable, logged with a reference, and
shown by `/release status`.

A file (`Outcome.upload`) goes out with `files_upload_v2`, and its failures are sorted
the same way.
"""

from __future__ import annotations

import base64
import http.client
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from bot.pump import Claimed, Pump
from bot.views.review import review_message
from commands.errors import incident_id
from commands.outcome import ANNOUNCE, HOME, REPLY, REVIEW, UPLOAD
from commands.release_notes import as_mrkdwn
from release.audit import AuditAction
from release.records import ReleaseRecord
from storage.outbox import OutboxRecord
from storage.unit_of_work import Store

log = logging.getLogger(__name__)

NOTES_PENDING = "_Release notes are being generated…_"
#: The review's section holds the notes beside the release's own lines, in 3,000 characters.
REVIEW_NOTES = 2400


def notes_on_review(release: ReleaseRecord) -> str:
    if release.notes_data is not None:
        return as_mrkdwn(release.notes_data, REVIEW_NOTES)
    return release.notes or NOTES_PENDING


MAX_BACKOFF = 300.0
#: A message still failing this long after it was decided is given up on.
GIVE_UP_AFTER = timedelta(hours=24)
_TRANSIENT_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


class Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Undeliverable(Exception):
    """Slack refused the message for good (channel gone, bot removed, bad blocks)."""


class Delivery(Pump):
    def __init__(
        self,
        store: Store,
        client: WebClient,
        instance: str,
        *,
        threads: int = 4,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 10,
        home: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__("delivery", threads=threads, poll_seconds=poll_seconds)
        # One message is one call of at most the client's timeout (two for a review: a
        # read, then the post; three for a file: ask for an upload URL, send the bytes,
        # complete it), so a claim this long is never still needed when it lapses.
        self._lease = timedelta(seconds=3 * timeout_seconds + 5)
        self._timeout = timeout_seconds
        self._sending: set[int] = set()
        self._store = store
        self._client = client  # no retry handlers: retries are this module's, per message
        self._instance = instance
        self._home = home  # renders the Home tab from the database
        store.after_messages(self.wake)

    def claim(self, busy: set[str], room: int) -> Claimed:
        """Claim the due heads of up to `room` free lanes, each in a transaction of its own:
        a claim never holds one row's lock while it waits for another's (a transaction that
        marks Home tabs stale locks several outbox rows, in an order of its own)."""
        claimed: Claimed = []
        with self._store.reading() as uow:  # each claim checks again that it is due
            heads = [h for h in uow.lane_heads() if h.lane not in busy]
        for head in heads[:room]:
            with self._store.transaction() as uow:
                won = uow.claim_message(head.id, self._instance, self._lease)
            if won:
                claimed.append((head.lane, lambda head=head: self.deliver(head)))  # type: ignore[misc]
        return claimed

    def due(self) -> bool:
        with self._store.reading() as uow:
            return bool(uow.lane_heads(limit=1))

    def hand_back(self) -> None:
        """Release the claims of messages not being sent; one in flight keeps its claim."""
        with self._store.transaction() as uow:
            uow.release_message_claims(self._instance, keep=set(self._sending))

    # -- one message --------------------------------------------------------------------------

    def deliver(self, message: OutboxRecord) -> None:
        self._sending.add(message.id)
        try:
            self._deliver(message)
        finally:
            self._sending.discard(message.id)

    def _deliver(self, message: OutboxRecord) -> None:
        recorded = False  # whether the kind's own code already recorded the outcome
        try:
            if message.kind == REVIEW:
                recorded = self._render_review(message)
            elif message.kind == REPLY:
                self._reply(message.payload)
            elif message.kind == ANNOUNCE:
                self._client.chat_postMessage(
                    channel=message.payload["channel"],
                    text=message.payload["text"],
                    unfurl_links=False,
                    unfurl_media=False,
                )
            elif message.kind == UPLOAD:
                self._upload(message.payload)
            elif message.kind == HOME:
                self._publish_home(str(message.payload["user"]))
            else:
                raise Undeliverable(f"unknown message kind {message.kind!r}")
        except Exception as error:
            self._failed(message, error)
            return
        if not recorded:
            with self._store.transaction() as uow:
                uow.message_sent(message.id, self._instance)

    def _reply(self, payload: dict[str, Any]) -> None:
        url = payload.get("response_url")
        if url:
            response = WebhookClient(url, timeout=int(self._timeout)).send(
                text=payload["text"], response_type="ephemeral", replace_original=False
            )
            if response.status_code == 200:
                return
            if response.status_code == 429 or response.status_code >= 500:
                raise Transient(f"response_url answered {response.status_code}")
            # Expired or used up (a late retry): say it with chat.postEphemeral instead.
        self._client.chat_postEphemeral(
            channel=payload["channel"], user=payload["user"], text=payload["text"]
        )

    def _publish_home(self, user: str) -> None:
        """One person's Home tab, as the database has it now (publishing is idempotent)."""
        if self._home is not None:
            self._client.views_publish(user_id=user, view=self._home())

    def _upload(self, payload: dict[str, Any]) -> None:
        """Share a file: files.getUploadURLExternal, a POST of its bytes to the URL that
        gives, then files.completeUploadExternal, which shares it in the channel.

        A failure at any step is sorted as a message's is, and a retry starts again from
        the first step. A failure after the bytes were sent but before the completion
        leaves an upload nobody completed: Slack never shares it and drops it, so it is
        harmless. Only the completion shares the file; like a post whose answer was lost,
        a completion Slack made but did not answer in time is made again.
        (The bytes go to the absolute URL Slack gives, with the client's timeout, SSL and
        proxy settings; the fake Slack gives one on its own server, so it is reached too.)
        """
        item: dict[str, Any] = {"filename": payload["filename"], "title": payload["title"]}
        if "content_b64" in payload:
            item["file"] = base64.b64decode(payload["content_b64"])
        else:
            item["content"] = str(payload["content"])
        self._client.files_upload_v2(
            channel=payload["channel"],
            file_uploads=[item],
            initial_comment=payload.get("comment") or None,
        )

    def _render_review(self, message: OutboxRecord) -> bool:
        """Render the review as the database has it now: post it, or update it in place.

        True when its outcome is recorded here (a new message, or one deleted in Slack).
        """
        review_id = int(message.payload["review_id"])
        with self._store.transaction() as uow:
            review = uow.review(review_id)
            release = uow.release(review.version) if review else None
        if review is None or release is None:
            return False  # nothing left to show
        text, blocks = review_message(review, release, notes_on_review(release))
        if review.message_ts is None or review.channel_id is None:
            posted = self._client.chat_postMessage(
                channel=message.payload["channel"], text=text, blocks=blocks
            )
            with self._store.transaction() as uow:
                if uow.message_sent(message.id, self._instance):
                    uow.set_review_message(review_id, posted["channel"], posted["ts"])
            return True
        try:
            self._client.chat_update(
                channel=review.channel_id, ts=review.message_ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            if error.response.get("error") != "message_not_found":
                raise
            # Someone deleted it in Slack: post it again and remember the new one.
            log.warning("review %s's message is gone; posting it again", review_id)
            with self._store.transaction() as uow:
                uow.forget_review_message(review_id)
                uow.message_retry(message.id, self._instance, timedelta(0), "message_not_found")
            return True
        return False

    def _failed(self, message: OutboxRecord, error: Exception) -> None:
        kind = _classify(error)
        age = self._store.timer.now() - message.created_at
        if isinstance(kind, Transient) and age < GIVE_UP_AFTER:
            delay = _backoff(message.attempts, kind.retry_after)
            log.warning(
                "Slack did not take message %s (%s); retrying in %.1fs", message.id, kind, delay
            )
            with self._store.transaction() as uow:
                uow.message_retry(message.id, self._instance, timedelta(seconds=delay), str(kind))
            return
        ref = incident_id()
        if isinstance(kind, Transient | Undeliverable):
            log.error("message %s is undeliverable (ref %s): %s", message.id, ref, kind)
        else:
            log.error("message %s is undeliverable (ref %s)", message.id, ref, exc_info=error)
        with self._store.transaction() as uow:
            given_up = uow.message_undeliverable(message.id, self._instance, str(kind), ref)
            if given_up is not None:
                uow.audit(
                    "release-bot",
                    AuditAction.DELIVERY_UNDELIVERABLE,
                    None,
                    message_id=message.id,
                    kind=message.kind,
                    error=str(kind)[:200],
                    reference=ref,
                )


def _classify(error: Exception) -> Transient | Undeliverable | Exception:
    if isinstance(error, Transient | Undeliverable):
        return error
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error") or f"HTTP {status}")
        if status == 429 or status >= 500 or code in _TRANSIENT_ERRORS:
            retry_after = error.response.headers.get("Retry-After")
            seconds = float(retry_after) if retry_after and str(retry_after).isdigit() else None
            return Transient(code, seconds)
        return Undeliverable(code)
    if isinstance(error, SQLAlchemyError):  # reading what to render: the database blipped
        cause = getattr(error, "orig", None) or error
        return Transient(f"database unavailable ({type(cause).__name__})")
    if isinstance(error, OSError | http.client.HTTPException | SlackRequestError):
        return Transient(type(error).__name__)  # a timeout, a reset, a refused connection
    return error


def _backoff(attempts: int, retry_after: float | None) -> float:
    """Half a second, doubling, at most five minutes; never sooner than Slack asked."""
    delay: float = min(MAX_BACKOFF, 0.5 * 2.0**attempts) * random.uniform(0.8, 1.2)  # noqa: S311
    return max(delay, retry_after or 0.0)

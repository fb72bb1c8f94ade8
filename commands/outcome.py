"""What a command decided to say. Recorded in its transaction; Slack hears it after commit."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from storage.unit_of_work import Store, UnitOfWork

ANNOUNCE, REPLY, REVIEW, UPLOAD = "announce", "reply", "review", "upload"
#: One person's Home tab (recorded on opening it, and by the storage layer on a change).
HOME = "home"
#: Slack shows about this much of a message's text; longer text is cut (see `fit`).
MESSAGE_LIMIT = 4000
#: The largest file `Outcome.upload` records: the outbox row holds it until Slack has it.
UPLOAD_LIMIT = 5 * 1024 * 1024
_MORE = "…\n_(cut to fit Slack; `/release status` has the rest)_"


def fit(text: str, limit: int, more: str = _MORE) -> str:
    """`text` cut to at most `limit` characters, ending with a pointer to the rest."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(more))] + more


@dataclass(frozen=True)
class Effect:
    """One thing to show in Slack: a channel message, a reply to one person, a review."""

    kind: str
    lane: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.payload.get("text", ""))


class Outcome:
    """The conversation a command speaks through; it never touches the network.

    Inside `ctx.transaction()` every word is recorded with the change that decided it
    (the outbox), so a rolled-back change says nothing and a committed one is never
    lost. `effects` lists what was committed, for tests and other surfaces.
    """

    def __init__(
        self, store: Store, channel_id: str, user_id: str, response_url: str | None = None
    ) -> None:
        self._store = store
        self.channel_id = channel_id
        self.user_id = user_id
        self.response_url = response_url
        self.effects: list[Effect] = []
        # The replies of one request keep their order (one lane); another request's need
        # not wait behind them, as behind one that Slack keeps refusing.
        self._conversation = uuid.uuid4().hex[:12]
        self._uow: UnitOfWork | None = None
        self._pending: list[Effect] = []

    @contextmanager
    def recording(self) -> Iterator[UnitOfWork]:
        """A transaction whose words are recorded with its changes, and kept once committed."""
        if self._uow is not None:  # already inside one: share it
            yield self._uow
            return
        pending: list[Effect] = []
        with self._store.transaction() as uow:
            self._uow, self._pending = uow, pending
            try:
                yield uow
            finally:
                self._uow = None
        self.effects.extend(pending)

    def reply(self, text: str) -> None:
        """Tell only the person who acted (ephemeral)."""
        payload = {
            "channel": self.channel_id,
            "user": self.user_id,
            "text": fit(text, MESSAGE_LIMIT),
        }
        if self.response_url:
            payload["response_url"] = self.response_url
        self._record(Effect(REPLY, f"reply:{self.user_id}:{self._conversation}", payload))

    def announce(self, text: str, *, channel: str | None = None) -> None:
        """Tell the release channel (or another one, such as support's)."""
        where = channel or self.channel_id
        self._record(
            Effect(
                ANNOUNCE, f"channel:{where}", {"channel": where, "text": fit(text, MESSAGE_LIMIT)}
            )
        )

    def show_review(self, review_id: int) -> None:
        """Post the review's message, or bring it up to date, from the database as it is then."""
        self._record(
            Effect(
                REVIEW,
                f"channel:{self.channel_id}",
                {"channel": self.channel_id, "review_id": review_id},
            )
        )

    post_review = show_review

    def show_home(self, user_id: str) -> None:
        """Publish `user_id`'s Home tab, rendered from the database when it is sent."""
        self._record(Effect(HOME, f"home:{user_id}", {"user": user_id}))

    def upload(
        self,
        filename: str,
        content: str = "",
        *,
        title: str,
        comment: str = "",
        channel: str | None = None,
        binary: bytes | None = None,
    ) -> None:
        """Share a file in the release channel (or another one), after an optional comment.

        `content` is text (a CSV or JSON export, sent as UTF-8); an image or other binary
        file is given as `binary` instead and kept base64-encoded (`content_b64`) until it
        is sent. Slack refuses an empty file, and the outbox will not hold a file over
        `UPLOAD_LIMIT` bytes: both are refused here, with ValueError.
        """
        if not filename:
            raise ValueError("an upload needs a file name")
        size = len(binary) if binary is not None else len(content.encode())
        if binary is not None and content:
            raise ValueError("give an upload's content as text or as binary, not both")
        if size == 0:
            raise ValueError(f"{filename} is empty; Slack does not take empty files")
        if size > UPLOAD_LIMIT:
            raise ValueError(f"{filename} is {size} bytes; uploads are at most {UPLOAD_LIMIT}")
        where = channel or self.channel_id
        payload: dict[str, Any] = {
            "channel": where,
            "filename": filename,
            "title": title or filename,
            "comment": fit(comment, MESSAGE_LIMIT) if comment else "",
        }
        if binary is not None:
            payload["content_b64"] = base64.b64encode(binary).decode("ascii")
        else:
            payload["content"] = content
        self._record(Effect(UPLOAD, f"channel:{where}", payload))

    def _record(self, effect: Effect) -> None:
        if self._uow is not None:
            self._uow.add_message(effect.lane, effect.kind, effect.payload)
            self._pending.append(effect)
            return
        # Said outside a transaction (a refusal after a read): record it on its own.
        with self.recording():
            self._record(effect)


class Answer(Outcome):
    """The conversation of a read-only command, answered in Slack's acknowledgement.

    Its transactions are `Store.reading()` (they cannot write), what it replies is kept
    here as `text` rather than in the outbox, and it may say nothing to the channel: a
    command that announces, posts or uploads is not read-only, and fails here.
    """

    @contextmanager
    def recording(self) -> Iterator[UnitOfWork]:
        with self._store.reading() as uow:
            yield uow

    @property
    def text(self) -> str:
        return fit("\n\n".join(effect.text for effect in self.effects), MESSAGE_LIMIT)

    def _record(self, effect: Effect) -> None:
        if effect.kind != REPLY:
            raise RuntimeError(f"a read-only command tried to {effect.kind} ({effect.lane})")
        self.effects.append(effect)

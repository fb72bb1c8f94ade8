"""The commands' Conversation port, spoken over Slack's Web API from a worker thread."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.views.review import review_message
from storage.unit_of_work import Store

log = logging.getLogger(__name__)

NOTES_PENDING = "_Release notes are being generated…_"
_MAX_RENDERS = 5


class SlackConversation:
    def __init__(
        self,
        client: WebClient,
        store: Store,
        channel_id: str,
        user_id: str,
        response_url: str | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._channel_id = channel_id
        self._user_id = user_id
        self._response_url = response_url

    def reply(self, text: str) -> None:
        if self._response_url:
            response = WebhookClient(
                self._response_url, retry_handlers=self._client.retry_handlers
            ).send(text=text, response_type="ephemeral", replace_original=False)
            if response.status_code == 200:
                return
            log.warning(
                "response_url answered %s; replying with chat.postEphemeral", response.status_code
            )
        self._client.chat_postEphemeral(channel=self._channel_id, user=self._user_id, text=text)

    def announce(self, text: str) -> None:
        self._client.chat_postMessage(
            channel=self._channel_id, text=text, unfurl_links=False, unfurl_media=False
        )

    def post_review(self, review_id: int) -> None:
        self._render(review_id, may_post=True)

    def show_review(self, review_id: int) -> None:
        self._render(review_id, may_post=False)

    def _render(self, review_id: int, *, may_post: bool) -> None:
        """Render the review until what Slack shows is its newest state.

        Two changes a moment apart render in parallel; if the older render reaches Slack
        last, the revision check below notices and renders again. Only the poster creates
        the message: an update that finds it not yet stored leaves the change to the
        poster's own revision check, so a review never gets two messages.
        """
        for _ in range(_MAX_RENDERS):
            with self._store.transaction() as uow:
                review = uow.review(review_id)
                release = uow.release(review.version) if review else None
            if review is None or release is None:
                return
            text, blocks = review_message(review, release, release.notes or NOTES_PENDING)
            if review.message_ts is None or review.channel_id is None:
                if not may_post:
                    return
                may_post = False
                posted = self._client.chat_postMessage(
                    channel=self._channel_id, text=text, blocks=blocks
                )
                with self._store.transaction() as uow:
                    uow.set_review_message(review_id, posted["channel"], posted["ts"])
            else:
                self._client.chat_update(
                    channel=review.channel_id, ts=review.message_ts, text=text, blocks=blocks
                )
            with self._store.transaction() as uow:
                latest = uow.review(review_id)
                latest_release = uow.release(review.version)
            if (
                latest is not None
                and latest_release is not None
                and latest.revision == review.revision
                and latest_release.state == release.state
                and latest_release.notes == release.notes
            ):
                return
        log.warning("review %s kept changing while it was rendered", review_id)

"""The fake Slack fails the way Slack does, as seen by the real slack_sdk WebClient."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler

from bot.console.fake_slack import FakeSlack

POST = "chat.postMessage"
QUICKLY = FixedValueRetryIntervalCalculator(0.01)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    yield fake
    fake.stop()


def _client(
    fake: FakeSlack, *retry: RetryHandler, timeout: int = 5
) -> WebClient:  # no retry handlers unless given, not even slack_sdk's default one
    return WebClient(
        base_url=fake.api_url, token=fake.bot_token, timeout=timeout, retry_handlers=list(retry)
    )


def _post(client: WebClient, text: str = "hi") -> str:
    return str(client.chat_postMessage(channel="C1", text=text)["ts"])


def test_a_429_says_retry_after_and_is_retried_until_it_succeeds(fake: FakeSlack) -> None:
    fake.fail_next(POST)
    with pytest.raises(SlackApiError) as raised:
        _post(_client(fake))
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "1"

    fake.fail_next(POST, headers={"Retry-After": "0"}, times=2)
    _post(_client(fake, RateLimitErrorRetryHandler(max_retry_count=2)), "retried")
    assert fake.count(POST) == 4
    assert [args["text"] for args in fake.sent(POST)] == ["retried"]


def test_server_errors_outlast_the_retries(fake: FakeSlack) -> None:
    fake.fail_next(POST, status=500, times=3)
    client = _client(fake, ServerErrorRetryHandler(max_retry_count=2, interval_calculator=QUICKLY))
    with pytest.raises(SlackApiError) as raised:
        _post(client)
    assert raised.value.response.status_code == 500
    assert raised.value.response["error"] == "internal_error"
    assert "Retry-After" not in raised.value.response.headers
    assert fake.count(POST) == 3
    assert fake.sent(POST) == []
    _post(client)  # the faults are used up
    assert len(fake.sent(POST)) == 1


def test_an_ok_false_answer_is_an_api_error_and_not_retried(fake: FakeSlack) -> None:
    fake.fail_with(POST, "channel_not_found")
    client = _client(fake, ServerErrorRetryHandler(), RateLimitErrorRetryHandler())
    with pytest.raises(SlackApiError) as raised:
        _post(client)
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert fake.count(POST) == 1


def test_a_hang_past_the_timeout_times_out_but_the_message_was_posted(fake: FakeSlack) -> None:
    fake.hang_next(POST, 2)
    with pytest.raises(TimeoutError):
        _post(_client(fake, timeout=1), "slow")
    started = time.monotonic()
    assert _client(fake).auth_test()["ok"]  # other calls are not held up
    assert time.monotonic() - started < 0.5
    assert [args["text"] for args in fake.sent(POST)] == ["slow"]


def test_stop_does_not_wait_for_hung_calls(fake: FakeSlack) -> None:
    fake.hang_next(POST, 60)
    errors: list[Exception] = []

    def call() -> None:
        try:
            _post(_client(fake, timeout=30))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    fake.wait_for(lambda: fake.count(POST) == 1)
    started = time.monotonic()
    fake.stop()
    caller.join(5)
    assert time.monotonic() - started < 2
    assert len(errors) == 1
    assert isinstance(errors[0], ConnectionError)


def test_a_reset_is_a_connection_error_and_retried_by_its_handler(fake: FakeSlack) -> None:
    fake.reset_next(POST)
    with pytest.raises(ConnectionError):
        _post(_client(fake))
    assert fake.count(POST) == 1
    assert fake.sent(POST) == []

    fake.reset_next(POST)
    _post(_client(fake, ConnectionErrorRetryHandler(interval_calculator=QUICKLY)))
    assert fake.count(POST) == 3
    assert len(fake.sent(POST)) == 1


def test_an_outage_lasts_until_healed(fake: FakeSlack) -> None:
    client = _client(fake)
    fake.fail_always(POST)
    for _ in range(3):
        with pytest.raises(SlackApiError, match="internal_error"):
            _post(client)
    assert client.auth_test()["ok"]  # only that method is down
    fake.heal(POST)
    _post(client)

    fake.fail_always("*", status=503)
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 503
    fake.heal()
    assert client.auth_test()["ok"]
    assert fake.count(POST) == 4
    assert len(fake.sent(POST)) == 1


def test_a_deleted_message_cannot_be_updated(fake: FakeSlack) -> None:
    client = _client(fake)
    ts = _post(client)
    client.chat_update(channel="C1", ts=ts, text="edited")
    fake.delete_message("C1", ts)
    assert fake.channel_messages("C1") == []
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts=ts, text="again")
    assert raised.value.response["error"] == "message_not_found"
    assert fake.count("chat.update") == 2
    assert len(fake.sent("chat.update")) == 1


def test_the_fake_refuses_what_slack_refuses_over_its_limits(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.api_url, token=fake.bot_token, retry_handlers=[])
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    wide_field = {"type": "section", "fields": [{"type": "mrkdwn", "text": "y" * 2001}]}
    for blocks in ([too_long], [wide_field], [{"type": "divider"}] * 51):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C1", text="t", blocks=blocks)
        assert refused.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="z" * 40_001)
    assert refused.value.response["error"] == "msg_too_long"
    fits = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}
    assert client.chat_postMessage(channel="C1", text="t", blocks=[fits])["ok"]

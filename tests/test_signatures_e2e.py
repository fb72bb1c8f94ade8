"""Requests must carry Slack's signature: missing, wrong or stale ones get 401 and do nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.harness import ADMIN, Harness

# Slack's own published example (api.slack.com/authentication/verifying-requests-from-slack).
SLACK_EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105
SLACK_EXAMPLE_TIMESTAMP = 1531420618
SLACK_EXAMPLE_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class _FrozenAt:
    def __init__(self, instant: float) -> None:
        self.instant = instant

    def now(self) -> float:
        return self.instant


def test_slacks_published_example_signature() -> None:
    verifier = SignatureVerifier(SLACK_EXAMPLE_SECRET)
    generated = verifier.generate_signature(
        timestamp=str(SLACK_EXAMPLE_TIMESTAMP), body=SLACK_EXAMPLE_BODY
    )
    assert generated == SLACK_EXAMPLE_SIGNATURE
    at_the_time = SignatureVerifier(
        SLACK_EXAMPLE_SECRET,
        clock=_FrozenAt(SLACK_EXAMPLE_TIMESTAMP + 10),  # type: ignore[arg-type]
    )
    assert at_the_time.is_valid(
        SLACK_EXAMPLE_BODY, str(SLACK_EXAMPLE_TIMESTAMP), SLACK_EXAMPLE_SIGNATURE
    )


def test_slacks_example_replayed_today_is_stale_and_refused(bot: Harness) -> None:
    response = bot.sim.signed_post(
        SLACK_EXAMPLE_BODY, timestamp=SLACK_EXAMPLE_TIMESTAMP, signature=SLACK_EXAMPLE_SIGNATURE
    )
    assert response.status_code == 401


def _grant_body() -> str:
    return urlencode(
        {
            "team_id": bot_team(),
            "channel_id": "C0PORTALREL",
            "user_id": ADMIN,
            "command": "/release",
            "text": "role add <@UBOB> qa",
            "response_url": "http://127.0.0.1:9/none",
            "trigger_id": "1.2.3",
        }
    )


def bot_team() -> str:
    return "T0CONSOLE"


def test_missing_wrong_or_stale_signatures_get_401_and_record_nothing(bot: Harness) -> None:
    body = _grant_body()
    missing = bot.sim.http.post(
        bot.sim.events_url,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    wrong_secret = bot.sim.signed_post(body, secret="not-the-signing-secret")
    tampered = bot.sim.signed_post(body, signature="v0=" + "0" * 64)
    stale = bot.sim.signed_post(body, timestamp=int(time.time()) - 6 * 60)
    assert [r.status_code for r in (missing, wrong_secret, tampered, stale)] == [401] * 4

    bot.fake.wait_quiet(quiet=0.2)
    assert bot.snapshot() == {t: 0 for t in bot.snapshot()}
    assert [m for m, _ in bot.fake.calls if m != "auth.test"] == []


def test_a_correctly_signed_request_is_accepted(bot: Harness) -> None:
    response = bot.sim.signed_post(_grant_body())
    assert response.status_code == 200
    bot.wait_said("granted <@UBOB> the QA role")


def test_health_check_reports_the_database(bot: Harness) -> None:
    response = bot.sim.http.get(bot.local.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "ok"}

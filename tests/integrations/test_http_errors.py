"""How an outside system's answer is sorted: retried later, or a refusal to show a user."""

from __future__ import annotations

import httpx

from integrations.http import refusal
from integrations.ports import TransientError


def _answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"message": "You have exceeded a limit"})


def test_a_secondary_rate_limit_is_retried_after_its_retry_after() -> None:
    error = refusal("GitHub", "create the branch", _answer(403, **{"Retry-After": "42"}))
    assert isinstance(error, TransientError) and error.retry_after == 42


def test_a_plain_403_is_a_refusal_that_says_what_github_said() -> None:
    error = refusal("GitHub", "create the branch", _answer(403))
    assert not isinstance(error, TransientError)
    assert str(error) == (
        "GitHub answered 403 when asked to create the branch: You have exceeded a limit"
    )


def test_a_retry_after_date_is_turned_into_seconds() -> None:
    error = refusal(
        "Vercel", "promote", _answer(429, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )
    assert isinstance(error, TransientError) and error.retry_after == 0.0


def test_a_secondary_rate_limit_without_headers_waits_a_minute() -> None:
    answer = httpx.Response(
        403, json={"message": "You have exceeded a secondary rate limit. Please wait."}
    )
    error = refusal("GitHub", "search pull requests", answer)
    assert isinstance(error, TransientError) and error.retry_after == 60.0

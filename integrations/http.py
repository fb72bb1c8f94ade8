"""One HTTP call to an outside API, with a time limit and its failures sorted for the runner.

A 5xx, a 429 (with its `Retry-After`), a time-out or a dropped connection becomes a
`TransientError`, which the job runner retries with backoff; any other refusal becomes an
`IntegrationError` whose message names the system and says what it answered, never a
token or a request body.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Collection, Mapping
from typing import Any

import httpx

from integrations.ports import IntegrationError, TransientError

#: How much of an outside system's own error message a user is shown.
MESSAGE_LIMIT = 200


class Api:
    """An outside HTTP API: its base URL, its credentials and the time limit of every call."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        params: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=dict(headers),
            timeout=httpx.Timeout(timeout),
            params=dict(params or {}),
            follow_redirects=False,
        )
        self.timeout = timeout

    def close(self) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        ok: Collection[int] = (200, 201, 202, 204),
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Make one request; returns the response when its status is in `ok`.

        `doing` says what the call was for, in a user's words ("create the release branch");
        `headers` add to (or override) the API's own for this request only.
        """
        try:
            response = self._client.request(
                method,
                path,
                json=json,
                params=params,
                headers=dict(headers) if headers is not None else None,
            )
        except httpx.TimeoutException:
            raise TransientError(
                f"{self.name} did not answer within {self.timeout:g} s while trying to {doing}"
            ) from None
        except httpx.TransportError as error:
            raise TransientError(
                f"could not reach {self.name} to {doing} ({type(error).__name__})"
            ) from None
        if response.status_code in ok:
            return response
        raise refusal(self.name, doing, response)


def refusal(name: str, doing: str, response: httpx.Response) -> IntegrationError:
    """The error a response that is not a success stands for."""
    status = response.status_code
    said = _message(response)
    what = f"{name} answered {status} when asked to {doing}" + (f": {said}" if said else "")
    if status == 429 or status >= 500 or _rate_limited(response):
        return TransientError(what, retry_after=retry_after(response))
    if status == 403 and "rate limit" in said.lower():
        # GitHub's secondary limit may come with no header at all: wait at least a minute.
        return TransientError(what, retry_after=retry_after(response) or 60.0)
    return IntegrationError(what)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or a date) or GitHub's rate-limit reset."""
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit() and response.headers.get("X-RateLimit-Remaining") == "0":
        return max(0.0, float(reset) - time.time())
    return None


def _rate_limited(response: httpx.Response) -> bool:
    """GitHub says "rate limit" with a 403: no requests left, or a secondary limit's
    `Retry-After`."""
    return response.status_code == 403 and (
        response.headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in response.headers
    )


def _message(response: httpx.Response) -> str:
    """The outside system's own short explanation, if it gave one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    said: object = None
    if isinstance(body, dict):
        said = body.get("message")
        error = body.get("error")
        if said is None and isinstance(error, dict):
            said = error.get("message")
    if not isinstance(said, str):
        return ""
    said = " ".join(said.split())
    return said if len(said) <= MESSAGE_LIMIT else said[: MESSAGE_LIMIT - 1] + "…"

"""Post-deploy smoke tests over HTTP: each check asks one URL and expects one status.

`SMOKE_CHECKS` is read by `parse_checks`. A comma-separated list of names keeps its old
meaning (a dry run that only logs them); a JSON list of objects describes real checks:

    [{"name": "home page", "url": "{production_url}/", "expect_status": 200},
     {"name": "health", "method": "HEAD", "url": "https://portal.example.com/healthz",
      "timeout_s": 5}]

`method` defaults to GET, `expect_status` to 200 and `timeout_s` to 10 seconds. In a URL,
`{production_url}` is replaced by the URL of the deployment production serves now (with
`https://` put in front when the deployment's URL has no scheme, and without a trailing
slash), so a check can follow the deployment it verifies; every other character of the
URL is used as it is written (other braces included).

A check passes when the target answers its `expect_status`, within `timeout_s`. Redirects
are not followed: a check that expects 200 and gets a 301 has found a moved page, and one
that wants to see the redirect itself expects 301. A target that fails to answer is a
failed check, never an `IntegrationError`: the release's smoke tests failed, not the bot.
Results say what happened in a few words (status, time, kind of network failure); they
never quote a response body, a URL or a header, which may hold tokens.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from integrations.ports import CheckResult, Deployment

log = logging.getLogger("release_bot.smoke")

PLACEHOLDER = "{production_url}"
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
MAX_CHECKS = 20
MAX_NAME = 80
MAX_TIMEOUT = 120.0
DEFAULT_METHOD = "GET"
DEFAULT_STATUS = 200
DEFAULT_TIMEOUT = 10.0
_KEYS = {"name", "method", "url", "expect_status", "timeout_s"}
# Stands in for the production URL when a URL is checked before any deployment exists.
_SAMPLE_PRODUCTION = "https://production.example"


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    method: str
    # Left out of repr: a check's URL may carry a token in its query.
    url: str = field(repr=False)
    expect_status: int
    timeout_s: float


def parse_checks(raw: str) -> tuple[SmokeCheck, ...] | None:
    """The checks `raw` describes, or None when it is a list of names (a dry run).

    Raises `ValueError` with one sentence naming the first bad check.
    """
    text = raw.strip()
    if not text.startswith(("[", "{")):
        return None  # names only: the settings split them as before
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"SMOKE_CHECKS looks like JSON but is not valid JSON ({error.msg} at line "
            f"{error.lineno}, column {error.colno})."
        ) from None
    if not isinstance(data, list):
        raise ValueError("SMOKE_CHECKS must be a JSON list of checks, not a single object.")
    if not data:
        # A run with no checks would pass every deploy; names give a dry run instead.
        raise ValueError("SMOKE_CHECKS is an empty JSON list; describe at least one check.")
    if len(data) > MAX_CHECKS:
        raise ValueError(
            f"SMOKE_CHECKS lists {len(data)} checks; at most {MAX_CHECKS} are allowed."
        )
    checks: list[SmokeCheck] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(data, start=1):
        check = _check(position, item)
        key = check.name.casefold()
        if key in seen:
            raise ValueError(
                f"SMOKE_CHECKS check {position} is named {check.name!r} like check "
                f"{seen[key]}; give every check its own name."
            )
        seen[key] = position
        checks.append(check)
    return tuple(checks)


def _check(position: int, item: object) -> SmokeCheck:
    """One JSON object as a check; `position` (from 1) names it in errors until its name is
    known to be good."""
    where = f"SMOKE_CHECKS check {position}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be a JSON object with a name and a url.")
    unknown = sorted(str(key) for key in item if key not in _KEYS)
    if unknown:
        raise ValueError(
            f"{where} has unknown field(s) {', '.join(unknown)}; the fields are "
            "name, method, url, expect_status and timeout_s."
        )

    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} needs a non-empty name.")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise ValueError(f"{where} has a name longer than {MAX_NAME} characters.")
    if not name.isprintable():
        raise ValueError(f"{where} has a name with control characters in it.")
    where = f"{where} ({name!r})"  # from here on the name says which check it is

    method = item.get("method", DEFAULT_METHOD)
    if not isinstance(method, str) or method.strip().upper() not in METHODS:
        raise ValueError(f"{where} has method {method!r}; use one of {', '.join(METHODS)}.")
    method = method.strip().upper()

    url = item.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{where} needs a url.")
    url = url.strip()
    if not _absolute_http(url.replace(PLACEHOLDER, _SAMPLE_PRODUCTION)):
        raise ValueError(
            f"{where} needs an absolute http:// or https:// url (or one starting with "
            f"{PLACEHOLDER})."
        )

    status = item.get("expect_status", DEFAULT_STATUS)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"{where} has expect_status {status!r}; use an HTTP status, 100 to 599.")

    timeout = item.get("timeout_s", DEFAULT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise ValueError(
            f"{where} has timeout_s {timeout!r}; use seconds above 0 and at most {MAX_TIMEOUT:g}."
        )
    return SmokeCheck(name, method, url, status, float(timeout))


def _absolute_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _production_base(production: Deployment) -> str:
    """The deployment's URL as the start of another URL (Vercel gives hosts, no scheme)."""
    base = production.url.strip()
    if base and "://" not in base:
        base = "https://" + base
    return base.rstrip("/")


class HttpSmokeTests:
    """Runs each check against the target in order, each with its own time limit."""

    def __init__(self, checks: tuple[SmokeCheck, ...]) -> None:
        self.checks = checks

    def run(self, production: Deployment) -> list[CheckResult]:
        base = _production_base(production)
        results = [self._run_one(check, base) for check in self.checks]
        for result in results:
            if not result.passed:
                log.warning("smoke check %r failed: %s", result.name, result.detail)
        return results

    def _run_one(self, check: SmokeCheck, base: str) -> CheckResult:
        if PLACEHOLDER in check.url and not base:
            return CheckResult(check.name, False, "production has no URL to check")
        url = check.url.replace(PLACEHOLDER, base)
        if not _absolute_http(url):
            return CheckResult(check.name, False, "not a valid http(s) URL with this deployment")
        limit = f"{check.timeout_s:g} s"
        # A fresh client per check: every check opens its own connection, so one target's
        # dropped or stale connection cannot spoil the next check.
        client = httpx.Client(
            timeout=httpx.Timeout(check.timeout_s),
            follow_redirects=False,
            headers={"User-Agent": "release-bot smoke test"},
        )
        started = time.monotonic()
        try:
            # Streamed and closed unread: the status is all a check needs, and a large or
            # endless body must not hold it up.
            with client.stream(check.method, url) as response:
                status = response.status_code
        except httpx.TimeoutException:
            return CheckResult(check.name, False, f"no answer within {limit}")
        except httpx.ConnectError as error:
            return CheckResult(check.name, False, f"could not connect ({type(error).__name__})")
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as error:
            return CheckResult(check.name, False, f"connection dropped ({type(error).__name__})")
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return CheckResult(check.name, False, f"request failed ({type(error).__name__})")
        finally:
            client.close()
        elapsed = time.monotonic() - started
        if status != check.expect_status:
            return CheckResult(check.name, False, f"expected {check.expect_status}, got {status}")
        # httpx's limit is per phase (connect, send, wait), so an answer can come later
        # than the check's limit in all; one that late is too slow to pass.
        if elapsed > check.timeout_s:
            return CheckResult(
                check.name, False, f"{status} only after {elapsed:.1f} s ({limit} limit)"
            )
        return CheckResult(check.name, True, f"{status} in {elapsed * 1000:.0f} ms")

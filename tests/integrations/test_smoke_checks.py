"""Smoke checks over real HTTP against a web site on loopback, and how SMOKE_CHECKS is read."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.ports import Deployment
from integrations.smoke import HttpSmokeTests, SmokeCheck, parse_checks
from tests.fakes.smoke_target import SmokeTarget

PRODUCTION = Deployment("dpl_1", "https://portal.example.invalid")


@pytest.fixture
def target() -> Iterator[SmokeTarget]:
    site = SmokeTarget()
    site.start()
    yield site
    site.stop()


def check(
    url: str, *, name: str = "page", method: str = "GET", status: int = 200, timeout: float = 5
) -> SmokeCheck:
    return SmokeCheck(name, method, url, status, timeout)


# -- running checks ----------------------------------------------------------------------


def test_a_page_that_answers_the_expected_status_passes(target: SmokeTarget) -> None:
    target.answer("/health", 200)
    target.answer("/gone", 410)
    checks = (
        check(target.base_url + "/health", name="health"),
        check(target.base_url + "/gone", name="gone", method="HEAD", status=410),
    )

    results = HttpSmokeTests(checks).run(PRODUCTION)

    assert [(r.name, r.passed) for r in results] == [("health", True), ("gone", True)]
    assert results[0].detail.startswith("200 in ") and results[0].detail.endswith(" ms")
    assert results[1].detail.startswith("410 in ")
    assert target.requests == [("GET", "/health"), ("HEAD", "/gone")]


def test_a_wrong_status_fails_without_quoting_the_body(target: SmokeTarget) -> None:
    target.answer("/health", 503)
    results = HttpSmokeTests((check(target.base_url + "/health"),)).run(PRODUCTION)

    assert results[0].passed is False
    assert results[0].detail == "expected 200, got 503"


def test_a_redirect_is_not_followed(target: SmokeTarget) -> None:
    target.answer("/old", 301)
    results = HttpSmokeTests((check(target.base_url + "/old"),)).run(PRODUCTION)

    assert results[0].detail == "expected 200, got 301"


def test_a_target_that_hangs_fails_after_the_checks_own_limit(target: SmokeTarget) -> None:
    target.hang("/slow", 10)
    target.answer("/fast", 200)
    checks = (
        check(target.base_url + "/slow", name="slow", timeout=0.5),
        check(target.base_url + "/fast", name="fast"),
    )

    started = time.monotonic()
    results = HttpSmokeTests(checks).run(PRODUCTION)

    assert time.monotonic() - started < 3
    assert (results[0].passed, results[0].detail) == (False, "no answer within 0.5 s")
    assert results[1].passed is True  # the next check still runs


def test_a_closed_port_fails_as_could_not_connect() -> None:
    # Bound but not listening: the port stays ours, and a connection to it is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        results = HttpSmokeTests((check(f"http://127.0.0.1:{port}/"),)).run(PRODUCTION)

    assert (results[0].passed, results[0].detail) == (False, "could not connect (ConnectError)")


def test_a_reset_connection_fails(target: SmokeTarget) -> None:
    target.reset("/drop")
    results = HttpSmokeTests((check(target.base_url + "/drop"),)).run(PRODUCTION)

    assert results[0].passed is False
    assert results[0].detail.startswith("connection dropped (")


def test_production_url_is_put_into_the_url(target: SmokeTarget) -> None:
    target.answer("/status", 204)
    checks = (check("{production_url}/status?probe=1", status=204),)

    # With or without a trailing slash, the URL comes out the same.
    for url in (target.base_url, target.base_url + "/"):
        results = HttpSmokeTests(checks).run(Deployment("dpl_2", url))
        assert results[0].passed is True, results[0].detail
    assert target.requests == [("GET", "/status?probe=1")] * 2


def test_a_bare_production_host_gets_https(target: SmokeTarget) -> None:
    # The target speaks plain HTTP: with http:// the check would pass; https:// cannot.
    target.answer("/", 200)
    host = target.base_url.removeprefix("http://")
    results = HttpSmokeTests((check("{production_url}/"),)).run(Deployment("dpl_3", host))

    assert results[0].passed is False
    assert target.requests == []


def test_a_production_without_url_fails_the_checks_that_need_it() -> None:
    results = HttpSmokeTests((check("{production_url}/"),)).run(Deployment("dpl_4", ""))
    assert (results[0].passed, results[0].detail) == (False, "production has no URL to check")


def test_results_come_in_the_order_of_the_checks(target: SmokeTarget) -> None:
    names = [f"check {i}" for i in range(5)]
    for i in range(5):
        target.answer(f"/{i}", 200 if i % 2 else 500)
    checks = tuple(check(f"{target.base_url}/{i}", name=names[i]) for i in range(5))

    results = HttpSmokeTests(checks).run(PRODUCTION)

    assert [r.name for r in results] == names
    assert [r.passed for r in results] == [False, True, False, True, False]


# -- reading SMOKE_CHECKS ----------------------------------------------------------------


@pytest.mark.parametrize("raw", ["asset upload, share view", "", "   ", "one"])
def test_names_only_mean_a_dry_run(raw: str) -> None:
    assert parse_checks(raw) is None


def test_a_json_list_gives_checks_with_defaults() -> None:
    raw = json.dumps(
        [
            {"name": "home", "url": "{production_url}/"},
            {
                "name": " health ",
                "method": "head",
                "url": "https://portal.example.com/healthz",
                "expect_status": 204,
                "timeout_s": 2.5,
            },
        ]
    )
    assert parse_checks(raw) == (
        SmokeCheck("home", "GET", "{production_url}/", 200, 10.0),
        SmokeCheck("health", "HEAD", "https://portal.example.com/healthz", 204, 2.5),
    )


def test_a_checks_url_is_not_in_its_repr() -> None:
    secret = "https://portal.example.com/health?token=hunter2"
    assert "hunter2" not in repr(SmokeCheck("health", "GET", secret, 200, 10))


def _one(**fields: Any) -> str:
    item = {"name": "home", "url": "https://portal.example.com/"} | fields
    return json.dumps([{k: v for k, v in item.items() if v is not None}])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[1, 2", "not valid JSON"),
        ('{"name": "home"}', "must be a JSON list"),
        ("[]", "empty JSON list"),
        ('["home"]', "check 1 must be a JSON object"),
        (_one(name=""), "check 1 needs a non-empty name"),
        (_one(name="   "), "check 1 needs a non-empty name"),
        (_one(name=7), "check 1 needs a non-empty name"),
        (_one(name="x" * 81), "longer than 80 characters"),
        (_one(name="a\nb"), "control characters"),
        (_one(method="PUT"), "check 1 ('home') has method 'PUT'"),
        (_one(method=1), "has method 1"),
        (_one(url=None), "check 1 ('home') needs a url"),
        (_one(url="/health"), "absolute http:// or https:// url"),
        (_one(url="ftp://portal.example.com/"), "absolute http:// or https:// url"),
        (_one(url="https://"), "absolute http:// or https:// url"),
        (_one(url="https://portal.example.com:99999/"), "absolute http:// or https:// url"),
        (_one(url="production_url/health"), "absolute http:// or https:// url"),
        (_one(expect_status=99), "expect_status 99"),
        (_one(expect_status=600), "expect_status 600"),
        (_one(expect_status="200"), "expect_status '200'"),
        (_one(expect_status=True), "expect_status True"),
        (_one(timeout_s=0), "timeout_s 0"),
        (_one(timeout_s=-1), "timeout_s -1"),
        (_one(timeout_s=121), "timeout_s 121"),
        (_one(timeout_s="5"), "timeout_s '5'"),
        (_one(expected_status=200), "unknown field(s) expected_status"),
    ],
)
def test_a_bad_check_is_refused_with_one_sentence_naming_it(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match="^SMOKE_CHECKS") as caught:
        parse_checks(raw)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text and text.endswith(".")


def test_at_most_twenty_checks() -> None:
    items = [{"name": f"c{i}", "url": "https://portal.example.com/"} for i in range(21)]
    with pytest.raises(ValueError, match="lists 21 checks; at most 20"):
        parse_checks(json.dumps(items))
    assert parse_checks(json.dumps(items[:20])) is not None


def test_check_names_are_unique() -> None:
    items = [
        {"name": "Home", "url": "https://portal.example.com/"},
        {"name": "home", "url": "https://portal.example.com/2"},
    ]
    with pytest.raises(ValueError, match="check 2 is named 'home' like check 1"):
        parse_checks(json.dumps(items))

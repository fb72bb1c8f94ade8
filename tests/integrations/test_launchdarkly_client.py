"""The LaunchDarkly client against a fake LaunchDarkly on loopback: creating a flag, scoping
it to a tenant, a role or a percentage, launching and archiving it, each of them again without
harm, and every way the API can fail."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from integrations.launchdarkly import SEMANTIC_PATCH, LaunchDarkly
from integrations.ports import FlagProvider, IntegrationError, TransientError
from tests.fakes.launchdarkly import FakeLaunchDarkly

KEY = "new-checkout"
ENV = "production"

Makes = Callable[..., tuple[FakeLaunchDarkly, LaunchDarkly]]


@pytest.fixture
def make() -> Iterator[Makes]:
    """A started fake and a client of it; the client's options pass through."""
    opened: list[tuple[FakeLaunchDarkly, LaunchDarkly]] = []

    def make(
        *,
        token: str | None = None,
        project_key: str | None = None,
        environment_key: str = ENV,
        **client_options: Any,
    ) -> tuple[FakeLaunchDarkly, LaunchDarkly]:
        fake = FakeLaunchDarkly()
        base_url = fake.start()
        client = LaunchDarkly(
            token or fake.token,
            project_key or fake.project_key,
            environment_key,
            api_url=base_url,
            **{"timeout": 5.0, **client_options},
        )
        opened.append((fake, client))
        return fake, client

    yield make
    for fake, client in opened:
        client.close()
        fake.stop()


def everyone(fake: FakeLaunchDarkly, environment: str = ENV) -> dict[str, bool | str]:
    """What the flag serves to each kind of context the tests care about."""
    return {
        who: fake.served_to(KEY, tenant=tenant, role=role, environment=environment)
        for who, tenant, role in (
            ("admin", "Admin", None),
            ("agency", "Agency", None),
            ("qa", "Agency", "qa"),
            ("nobody", None, None),
        )
    }


# -- create ----------------------------------------------------------------------------------


def test_create_makes_a_temporary_boolean_flag_that_is_off(make: Makes) -> None:
    fake, ld = make()
    provider: FlagProvider = ld  # mypy checks that the client is the port's FlagProvider

    provider.create(KEY, "The new checkout flow")

    flag = fake.flag(KEY)
    assert flag["name"] == KEY
    assert flag["kind"] == "boolean"
    assert flag["temporary"] is True
    assert flag["description"] == "The new checkout flow"
    assert [v["value"] for v in flag["variations"]] == [True, False]
    assert all(v["_id"] for v in flag["variations"])
    assert flag["clientSideAvailability"] == {"usingEnvironmentId": False, "usingMobileKey": False}
    assert all(env["on"] is False for env in flag["environments"].values())
    assert everyone(fake) == dict.fromkeys(("admin", "agency", "qa", "nobody"), False)
    method, path, _ = fake.calls[-1]
    assert (method, path) == ("POST", "/api/v2/flags/portal")


def test_create_again_is_fine_and_changes_nothing(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "The new checkout flow")
    before = fake.flag(KEY)

    ld.create(KEY, "The new checkout flow")  # a repeat after a crash: 409, which is fine

    assert fake.flag(KEY) == before
    assert fake.count("POST", "/api/v2/flags/portal") == 2


def test_a_flag_someone_else_made_with_the_same_key_is_never_taken_over(make: Makes) -> None:
    fake, ld = make()
    fake.add_flag(KEY, description="made by hand in LaunchDarkly")
    before = fake.flag(KEY)
    with pytest.raises(IntegrationError, match="the bot did not create: pick another key"):
        ld.create(KEY, "The new checkout flow")
    assert fake.flag(KEY) == before


def test_create_in_a_project_launchdarkly_does_not_know_names_the_setting(
    make: Makes,
) -> None:
    _, ld = make(project_key="portl")
    with pytest.raises(IntegrationError) as missing:
        ld.create(KEY, "")
    assert not isinstance(missing.value, TransientError)
    assert str(missing.value) == (
        "LaunchDarkly has no project portl (check LAUNCHDARKLY_PROJECT_KEY)"
    )


# -- scope -----------------------------------------------------------------------------------


def test_scope_to_a_tenant_serves_that_tenant_only(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")

    ld.scope(KEY, "tenant", "Agency")

    assert everyone(fake) == {"admin": False, "agency": True, "qa": True, "nobody": False}
    # Only in the client's environment: the other one is untouched.
    assert everyone(fake, "test") == dict.fromkeys(("admin", "agency", "qa", "nobody"), False)
    environment = fake.flag(KEY)["environments"][ENV]
    assert environment["on"] is True
    [rule] = environment["rules"]
    [clause] = rule["clauses"]
    assert {k: clause[k] for k in ("contextKind", "attribute", "op", "values", "negate")} == {
        "contextKind": "user",
        "attribute": "tenant",
        "op": "in",
        "values": ["Agency"],
        "negate": False,
    }
    assert rule["variation"] == 0  # true
    assert environment["fallthrough"] == {"variation": 1}  # false
    # It was a semantic patch, with its media type, in the client's environment.
    key, content_type, body = fake.patches[-1]
    assert key == KEY
    assert content_type == SEMANTIC_PATCH
    assert body["environmentKey"] == ENV
    assert [i["kind"] for i in body["instructions"]] == [
        "turnFlagOn",
        "replaceRules",
        "updateFallthroughVariationOrRollout",
    ]


def test_scope_to_a_role_serves_that_role_only(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")

    ld.scope(KEY, "role", "qa")

    assert everyone(fake) == {"admin": False, "agency": False, "qa": True, "nobody": False}
    [rule] = fake.flag(KEY)["environments"][ENV]["rules"]
    assert rule["clauses"][0]["attribute"] == "role"


def test_scope_to_a_percentage_is_a_rollout_of_the_default_rule(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")

    ld.scope(KEY, "percentage", "25")

    assert everyone(fake) == dict.fromkeys(("admin", "agency", "qa", "nobody"), "25% true")
    environment = fake.flag(KEY)["environments"][ENV]
    assert environment["rules"] == []
    assert environment["fallthrough"]["rollout"]["variations"] == [
        {"variation": 0, "weight": 25000},
        {"variation": 1, "weight": 75000},
    ]


def test_a_new_scope_replaces_the_old_one(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    ld.scope(KEY, "tenant", "Agency")

    ld.scope(KEY, "tenant", "Admin")
    assert everyone(fake) == {"admin": True, "agency": False, "qa": False, "nobody": False}

    ld.scope(KEY, "percentage", "10")
    assert everyone(fake) == dict.fromkeys(("admin", "agency", "qa", "nobody"), "10% true")
    assert fake.flag(KEY)["environments"][ENV]["rules"] == []


def test_scope_again_sends_no_second_patch(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    for kind, value in (("tenant", "Agency"), ("role", "qa"), ("percentage", "25")):
        ld.scope(KEY, kind, value)
        patches = len(fake.patches)
        version = fake.flag(KEY)["_version"]

        ld.scope(KEY, kind, value)  # a repeat after a crash: it serves so already

        assert len(fake.patches) == patches
        assert fake.flag(KEY)["_version"] == version


def test_scope_after_a_lost_answer_finishes_the_job(make: Makes) -> None:
    fake, ld = make(timeout=1.5)  # room for the retry's own calls on a busy machine
    ld.create(KEY, "")
    fake.hang_next("PATCH /api/v2/flags", 4)  # LaunchDarkly applies it; the answer is late

    with pytest.raises(TransientError):
        ld.scope(KEY, "tenant", "Agency")
    ld.scope(KEY, "tenant", "Agency")  # the runner's retry

    assert everyone(fake)["agency"] is True
    assert len(fake.patches) == 1


def test_a_scope_that_is_no_scope_is_refused_before_asking(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    calls = len(fake.calls)

    for kind, value in (("percentage", "0"), ("percentage", "101"), ("percentage", "x")):
        with pytest.raises(IntegrationError, match="not a percentage from 1 to 100"):
            ld.scope(KEY, kind, value)
    with pytest.raises(IntegrationError, match="not a scope"):
        ld.scope(KEY, "country", "SE")

    assert len(fake.calls) == calls


def test_scope_of_a_flag_launchdarkly_does_not_have_says_so(make: Makes) -> None:
    _, ld = make()
    with pytest.raises(IntegrationError) as missing:
        ld.scope("never-created", "tenant", "Agency")
    assert not isinstance(missing.value, TransientError)
    assert "LaunchDarkly has no flag never-created in project portal" in str(missing.value)


def test_an_environment_launchdarkly_does_not_know_names_the_setting(make: Makes) -> None:
    fake, ld = make(environment_key="prod")
    ld.create(KEY, "")  # flags are per project: this works

    with pytest.raises(IntegrationError) as missing:
        ld.scope(KEY, "tenant", "Agency")

    assert str(missing.value) == (
        "LaunchDarkly project portal has no environment prod (check LAUNCHDARKLY_ENVIRONMENT_KEY)"
    )
    assert fake.patches == []


def test_a_flag_that_is_not_boolean_is_refused(make: Makes) -> None:
    fake, ld = make()
    fake.add_flag(KEY, values=("control", "treatment"))

    with pytest.raises(IntegrationError, match="not a boolean flag"):
        ld.launch(KEY)
    assert fake.patches == []


def test_an_archived_flag_is_not_changed(make: Makes) -> None:
    fake, ld = make()
    fake.add_flag(KEY, archived=True)

    with pytest.raises(IntegrationError, match="archived"):
        ld.scope(KEY, "tenant", "Agency")
    assert fake.patches == []


# -- launch ----------------------------------------------------------------------------------


def test_launch_serves_everyone_and_drops_the_rules(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    ld.scope(KEY, "tenant", "Agency")

    ld.launch(KEY)

    assert everyone(fake) == dict.fromkeys(("admin", "agency", "qa", "nobody"), True)
    environment = fake.flag(KEY)["environments"][ENV]
    assert environment["on"] is True
    assert environment["rules"] == []
    assert environment["fallthrough"] == {"variation": 0}


def test_launch_after_a_rollout_and_again(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    ld.scope(KEY, "percentage", "50")

    ld.launch(KEY)
    patches = len(fake.patches)
    ld.launch(KEY)

    assert everyone(fake) == dict.fromkeys(("admin", "agency", "qa", "nobody"), True)
    assert len(fake.patches) == patches


def test_launch_of_a_flag_that_is_off_turns_it_on(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")  # off, though its default rule is `true` already

    ld.launch(KEY)

    assert fake.flag(KEY)["environments"][ENV]["on"] is True
    assert everyone(fake)["nobody"] is True


# -- remove ----------------------------------------------------------------------------------


def test_remove_archives_the_flag_once(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    ld.launch(KEY)

    ld.remove(KEY)

    assert fake.flag(KEY)["archived"] is True
    assert fake.served_to(KEY) == "archived"
    key, content_type, body = fake.patches[-1]
    assert content_type == "application/json"
    assert body["patch"] == [{"op": "replace", "path": "/archived", "value": True}]
    patches = len(fake.patches)

    ld.remove(KEY)  # archived already: nothing to do

    assert len(fake.patches) == patches
    assert fake.flag(KEY)["archived"] is True


def test_remove_of_a_flag_that_is_gone_is_fine(make: Makes) -> None:
    fake, ld = make()
    ld.remove("deleted-long-ago")
    assert fake.patches == []


# -- faults ----------------------------------------------------------------------------------


def test_a_server_error_is_transient_and_the_next_call_works(make: Makes) -> None:
    fake, ld = make()
    fake.fail_next("*", 500)

    with pytest.raises(TransientError) as failed:
        ld.create(KEY, "")
    assert type(failed.value) is TransientError
    assert "LaunchDarkly answered 500" in str(failed.value)
    assert not fake.has_flag(KEY)

    ld.create(KEY, "")
    assert fake.has_flag(KEY)


def test_a_rate_limit_says_when_to_come_back(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    fake.fail_next("PATCH /api/v2/flags", 429, headers={"Retry-After": "7"})

    with pytest.raises(TransientError) as limited:
        ld.scope(KEY, "role", "qa")

    assert type(limited.value) is TransientError
    assert limited.value.retry_after == 7
    assert everyone(fake)["qa"] is False  # nothing was applied
    ld.scope(KEY, "role", "qa")
    assert everyone(fake)["qa"] is True


def test_a_rate_limit_reset_in_milliseconds_is_read_as_such(make: Makes) -> None:
    fake, ld = make()
    reset = int((time.time() + 30) * 1000)  # LaunchDarkly's X-Ratelimit-Reset: epoch ms
    fake.fail_next(
        "GET /api/v2/flags",
        429,
        headers={"X-Ratelimit-Reset": str(reset), "X-Ratelimit-Route-Remaining": "0"},
    )

    with pytest.raises(TransientError) as limited:
        ld.remove(KEY)

    assert limited.value.retry_after is not None
    assert 25 <= limited.value.retry_after <= 30


def test_an_answer_later_than_the_time_limit_is_transient(make: Makes) -> None:
    fake, ld = make(timeout=0.5)
    fake.hang_next("GET /api/v2/flags", 3)

    with pytest.raises(TransientError) as late:
        ld.launch(KEY)

    assert type(late.value) is TransientError
    assert "did not answer within 0.5 s" in str(late.value)


def test_a_reset_connection_is_transient_and_did_nothing(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    ld.launch(KEY)
    fake.reset_next("PATCH /api/v2/flags")

    with pytest.raises(TransientError) as reset:
        ld.remove(KEY)
    assert type(reset.value) is TransientError
    assert fake.flag(KEY)["archived"] is False

    ld.remove(KEY)
    assert fake.flag(KEY)["archived"] is True


def test_an_outage_lasts_until_healed(make: Makes) -> None:
    fake, ld = make()
    fake.fail_always("*", 503)

    for _ in range(3):
        with pytest.raises(TransientError, match="503"):
            ld.create(KEY, "")
    fake.heal()

    ld.create(KEY, "")
    assert len(fake.calls) == 4


def test_a_refused_token_is_definite_and_never_shown(make: Makes) -> None:
    token = "api-0f1e2d3c-S3cr3t-T0k3n"  # what a user would put in LAUNCHDARKLY_API_TOKEN
    fake, ld = make(token=token)

    attempts: tuple[Callable[[], None], ...] = (
        lambda: ld.create(KEY, ""),
        lambda: ld.scope(KEY, "tenant", "Agency"),
        lambda: ld.launch(KEY),
        lambda: ld.remove(KEY),
    )
    for attempt in attempts:
        with pytest.raises(IntegrationError) as refused:
            attempt()
        assert not isinstance(refused.value, TransientError)
        assert "401" in str(refused.value)
        assert "check LAUNCHDARKLY_API_TOKEN" in str(refused.value)
        assert token not in str(refused.value)
    assert fake.calls  # it did reach LaunchDarkly, and was turned away
    assert not fake.has_flag(KEY)


def test_a_token_without_the_right_role_is_definite(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    fake.fail_next("PATCH /api/v2/flags", 403)

    with pytest.raises(IntegrationError) as refused:
        ld.launch(KEY)

    assert not isinstance(refused.value, TransientError)
    assert "403" in str(refused.value) and "check LAUNCHDARKLY_API_TOKEN" in str(refused.value)


# -- the fake itself -------------------------------------------------------------------------


def test_the_fake_refuses_an_instruction_it_does_not_know(make: Makes) -> None:
    fake, ld = make()
    ld.create(KEY, "")
    answer = httpx.patch(
        f"{fake.base_url}/api/v2/flags/portal/{KEY}",
        headers={"Authorization": fake.token, "Content-Type": SEMANTIC_PATCH},
        json={"environmentKey": ENV, "instructions": [{"kind": "turnFlagOn"}, {"kind": "nope"}]},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"
    assert fake.flag(KEY)["environments"][ENV]["on"] is False  # all of it or nothing

    # A semantic patch sent as plain JSON is not one.
    answer = httpx.patch(
        f"{fake.base_url}/api/v2/flags/portal/{KEY}",
        headers={"Authorization": fake.token},
        json={"environmentKey": ENV, "instructions": [{"kind": "turnFlagOn"}]},
    )
    assert answer.status_code == 400

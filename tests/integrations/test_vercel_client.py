"""The Vercel client against a fake Vercel on loopback: finding staging builds, promoting
and rolling back exactly once, following production, and every way the API can fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integrations.ports import Deployer, Deployment, IntegrationError, TransientError, Waiting
from integrations.vercel import Vercel, production_url
from tests.fakes.vercel import FakeVercel

BRANCH = "release/1.5.0"
OLD_SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
NEW_SHA = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
MAIN_SHA = "1111111111222222222233333333334444444444"
TEAM = "team_1a2b3c4d5e6f7g8h9i0j1k2l"

Makes = Callable[..., tuple[FakeVercel, Vercel]]


@pytest.fixture
def make() -> Iterator[Makes]:
    """A started fake and a client of it; both options pass through, so a test can give
    the fake a team and the client another one."""
    opened: list[tuple[FakeVercel, Vercel]] = []

    def make(
        *,
        fake_options: dict[str, Any] | None = None,
        token: str | None = None,
        project_id: str | None = None,
        **client_options: Any,
    ) -> tuple[FakeVercel, Vercel]:
        fake = FakeVercel(**{"domains": ("portal.example.com",), **(fake_options or {})})
        base_url = fake.start()
        client = Vercel(
            token or fake.token,
            project_id or fake.project_id,
            api_url=base_url,
            **{"timeout": 5.0, "poll_seconds": 10.0, **client_options},
        )
        opened.append((fake, client))
        return fake, client

    yield make
    for fake, client in opened:
        client.close()
        fake.stop()


def released(fake: FakeVercel) -> str:
    """Production serves an earlier release, built from main."""
    uid = fake.push("main", MAIN_SHA, target="production")
    fake.set_production(uid)
    return uid


# -- staging builds ------------------------------------------------------------------------


def test_staging_build_waits_for_exactly_that_commit_of_that_branch(make: Makes) -> None:
    fake, vercel = make()
    fake.push(BRANCH, OLD_SHA)  # an older commit of the branch, ready
    fake.push("release/1.4.0", NEW_SHA)  # the same commit on another branch, ready

    with pytest.raises(Waiting) as nothing_yet:
        vercel.staging_build(BRANCH, NEW_SHA)
    assert str(nothing_yet.value) == "Vercel has not started the staging build of 9f8e7d6 yet"
    assert nothing_yet.value.retry_after == 10.0

    uid = fake.push(BRANCH, NEW_SHA, ready=False)
    with pytest.raises(Waiting) as building:
        vercel.staging_build(BRANCH, NEW_SHA)
    assert "9f8e7d6" in str(building.value)
    assert building.value.retry_after == 10.0

    fake.finish_build(uid)
    build = vercel.staging_build(BRANCH, NEW_SHA)
    assert build == Deployment(uid, "https://" + fake.deployment(uid)["url"], NEW_SHA)
    # It asked Vercel for the commit's staging builds of this project, not for everything.
    method, path, query = fake.calls[-1]
    assert (method, path) == ("GET", "/v7/deployments")
    assert query["projectId"] == fake.project_id
    assert query["target"] == "staging"
    assert query["sha"] == NEW_SHA


def test_a_failed_staging_build_is_a_definite_failure(make: Makes) -> None:
    fake, vercel = make()
    uid = fake.push(BRANCH, NEW_SHA, ready=False)
    fake.finish_build(uid, "ERROR")

    with pytest.raises(IntegrationError) as failed:
        vercel.staging_build(BRANCH, NEW_SHA)
    assert not isinstance(failed.value, TransientError)  # no point asking again
    assert str(failed.value) == (
        "the staging build of release/1.5.0 at 9f8e7d6 failed on Vercel (ERROR)"
    )


def test_a_redeploy_of_a_failed_build_is_waited_for(make: Makes) -> None:
    fake, vercel = make()
    fake.finish_build(fake.push(BRANCH, NEW_SHA, ready=False), "ERROR")
    again = fake.push(BRANCH, NEW_SHA, ready=False)

    with pytest.raises(Waiting):
        vercel.staging_build(BRANCH, NEW_SHA)
    fake.finish_build(again)
    assert vercel.staging_build(BRANCH, NEW_SHA).id == again


def test_current_staging_is_the_newest_ready_build_of_the_branch(make: Makes) -> None:
    fake, vercel = make()
    fake.push(BRANCH, OLD_SHA)
    newest_ready = fake.push(BRANCH, NEW_SHA)
    fake.push(BRANCH, "5" * 40, ready=False)  # newer, still building
    fake.push("release/1.6.0", "6" * 40)  # newer, another branch

    current = vercel.current_staging(BRANCH)

    assert current == Deployment(
        newest_ready, "https://" + fake.deployment(newest_ready)["url"], NEW_SHA
    )
    query = fake.calls[-1][2]
    assert (query["branch"], query["state"], query["target"]) == (BRANCH, "READY", "staging")


def test_current_staging_without_a_ready_build_is_an_error(make: Makes) -> None:
    fake, vercel = make()
    fake.push(BRANCH, NEW_SHA, ready=False)

    with pytest.raises(IntegrationError, match="no ready staging build of release/1.5.0"):
        vercel.current_staging(BRANCH)


# -- production: promote, follow, roll back ------------------------------------------------


def test_production_is_what_the_project_serves(make: Makes) -> None:
    fake, vercel = make()
    deployer: Deployer = vercel  # mypy checks that the client is the port's Deployer
    assert deployer.production() is None  # nothing was ever promoted

    uid = released(fake)

    assert vercel.production() == Deployment(
        uid, "https://" + fake.deployment(uid)["url"], MAIN_SHA
    )


def test_promote_asks_once_and_not_again_once_production_serves_it(make: Makes) -> None:
    fake, vercel = make()
    released(fake)
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)

    vercel.promote(staging)
    assert fake.promotions == [staging.id]
    assert fake.production_id == staging.id

    vercel.promote(staging)  # a repeat after a crash: production serves it already
    assert fake.promotions == [staging.id]
    assert fake.count("POST", "/promote/") == 1


def test_await_production_waits_then_gives_production_with_its_address(make: Makes) -> None:
    fake, vercel = make(fake_options={"switch_after_polls": 2})
    released(fake)
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)

    vercel.promote(staging)
    for _ in range(2):
        with pytest.raises(Waiting) as waiting:
            vercel.await_production(staging)
        assert str(waiting.value) == f"production does not serve {staging.id} yet"
        assert waiting.value.retry_after == 10.0
    # A repeat of the promote while Vercel is still at it does not start another one.
    vercel.promote(staging)

    assert vercel.await_production(staging) == Deployment(
        staging.id, "https://portal.example.com", NEW_SHA
    )
    assert fake.promotions == [staging.id]
    assert fake.production_id == staging.id


def test_without_a_project_domain_production_is_the_deployments_own_address(
    make: Makes,
) -> None:
    fake, vercel = make(fake_options={"domains": ()})
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)

    vercel.promote(staging)

    assert vercel.await_production(staging) == staging


def test_a_failed_promotion_is_an_error_and_production_stays(make: Makes) -> None:
    fake, vercel = make()
    before = released(fake)
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)
    fake.fail_next_promotion()

    vercel.promote(staging)
    with pytest.raises(IntegrationError) as failed:
        vercel.await_production(staging)

    assert not isinstance(failed.value, TransientError)
    assert str(failed.value) == (
        f"Vercel could not promote {staging.id}: portal.example.com did not switch to it"
    )
    assert fake.production_id == before
    assert fake.calls[-1][1:] == (
        f"/v1/projects/{fake.project_id}/promote/aliases",
        {"failedOnly": "true"},
    )


def test_rollback_restores_the_earlier_production_once(make: Makes) -> None:
    fake, vercel = make()
    released(fake)
    earlier = vercel.production()
    assert earlier is not None
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)
    vercel.promote(staging)
    vercel.await_production(staging)

    vercel.rollback(earlier)
    assert fake.rollbacks == [earlier.id]
    assert fake.production_id == earlier.id
    assert vercel.await_production(earlier) == Deployment(
        earlier.id, "https://portal.example.com", MAIN_SHA
    )

    vercel.rollback(earlier)  # production serves it already
    assert fake.rollbacks == [earlier.id]
    assert fake.promotions == [staging.id]


def test_team_id_goes_with_every_call(make: Makes) -> None:
    fake, vercel = make(fake_options={"team_id": TEAM}, team_id=TEAM)
    earlier = released(fake)
    fake.push(BRANCH, NEW_SHA)

    staging = vercel.staging_build(BRANCH, NEW_SHA)
    vercel.current_staging(BRANCH)
    vercel.promote(staging)
    vercel.await_production(staging)
    vercel.rollback(Deployment(earlier, ""))
    fake.fail_next_promotion()
    vercel.promote(staging)
    with pytest.raises(IntegrationError):
        vercel.await_production(staging)

    # Every kind of call the client makes was made, and each carried the team.
    kinds = {(method, path.split("/")[1], path.split("/")[2]) for method, path, _ in fake.calls}
    assert kinds == {
        ("GET", "v7", "deployments"),
        ("GET", "v9", "projects"),
        ("POST", "v10", "projects"),
        ("POST", "v1", "projects"),
        ("GET", "v1", "projects"),
    }
    assert all(query.get("teamId") == TEAM for _, _, query in fake.calls), fake.calls


def test_a_project_vercel_does_not_know_says_which_settings_to_check(make: Makes) -> None:
    _, no_team = make(fake_options={"team_id": TEAM})  # the client forgot the team
    with pytest.raises(IntegrationError) as missing:
        no_team.production()
    assert str(missing.value) == (
        "Vercel has no project prj_4sQnT9wVbX2yLmKp7RdEfGh1Jc8a "
        "(check VERCEL_PROJECT_ID and VERCEL_TEAM_ID)"
    )

    _, wrong_project = make(project_id="prj_nope")
    with pytest.raises(IntegrationError, match="Vercel has no project prj_nope"):
        wrong_project.staging_build(BRANCH, NEW_SHA)

    _, wrong_team = make(fake_options={"team_id": TEAM}, team_id="team_other")
    with pytest.raises(IntegrationError) as refused:
        wrong_team.production()
    assert not isinstance(refused.value, TransientError)
    assert "403" in str(refused.value)


def test_production_url_reads_either_shape_of_the_projects_aliases() -> None:
    assert production_url({"alias": ["portal.example.com", "x.vercel.app"]}) == (
        "https://portal.example.com"
    )
    assert production_url({"alias": [{"domain": "portal.example.com"}]}) == (
        "https://portal.example.com"
    )
    assert production_url({"alias": []}) is None
    assert production_url({}) is None


# -- faults --------------------------------------------------------------------------------


def test_a_server_error_is_transient_and_the_next_call_works(make: Makes) -> None:
    fake, vercel = make()
    uid = released(fake)
    fake.fail_next("*", 500)

    with pytest.raises(TransientError) as failed:
        vercel.production()
    assert type(failed.value) is TransientError
    assert "Vercel answered 500" in str(failed.value)

    production = vercel.production()
    assert production is not None and production.id == uid


def test_a_rate_limit_says_when_to_come_back(make: Makes) -> None:
    fake, vercel = make()
    fake.fail_next("/v7/deployments", 429, headers={"Retry-After": "7"})

    with pytest.raises(TransientError) as limited:
        vercel.staging_build(BRANCH, NEW_SHA)

    assert type(limited.value) is TransientError
    assert limited.value.retry_after == 7


def test_an_answer_later_than_the_time_limit_is_transient(make: Makes) -> None:
    fake, vercel = make(timeout=0.5)
    fake.hang_next("GET /v9/projects", 3)

    with pytest.raises(TransientError) as late:
        vercel.production()

    assert type(late.value) is TransientError
    assert "did not answer within 0.5 s" in str(late.value)


def test_a_promote_whose_answer_was_lost_is_not_asked_again(make: Makes) -> None:
    # room for the retry's own calls on a busy machine
    fake, vercel = make(timeout=1.5, fake_options={"switch_after_polls": 3})
    released(fake)
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)
    fake.hang_next("/promote/", 4)  # Vercel starts the promotion; its answer comes too late

    with pytest.raises(TransientError):
        vercel.promote(staging)
    vercel.promote(staging)  # the runner's retry: the promotion is under way already

    assert fake.promotions == [staging.id]
    with pytest.raises(Waiting):
        vercel.await_production(staging)


def test_a_reset_connection_is_transient_and_did_nothing(make: Makes) -> None:
    fake, vercel = make()
    released(fake)
    fake.push(BRANCH, NEW_SHA)
    staging = vercel.staging_build(BRANCH, NEW_SHA)
    fake.reset_next("POST /v10/projects")

    with pytest.raises(TransientError) as reset:
        vercel.promote(staging)
    assert type(reset.value) is TransientError
    assert fake.promotions == []

    vercel.promote(staging)
    assert fake.promotions == [staging.id]


def test_an_outage_lasts_until_healed(make: Makes) -> None:
    fake, vercel = make()
    fake.fail_always("*", 503)

    for _ in range(3):
        with pytest.raises(TransientError, match="503"):
            vercel.production()
    fake.heal()

    assert vercel.production() is None
    assert len(fake.calls) == 4


def test_a_refused_token_is_definite_and_never_shown(make: Makes) -> None:
    token = "vc_live_S3cr3tT0k3nValue"  # what a user would put in VERCEL_TOKEN
    fake, vercel = make(token=token)

    with pytest.raises(IntegrationError) as refused:
        vercel.staging_build(BRANCH, NEW_SHA)

    assert not isinstance(refused.value, TransientError)
    assert "403" in str(refused.value)
    assert "VERCEL_TOKEN" in str(refused.value)
    assert token not in str(refused.value)
    assert fake.calls  # it did reach Vercel, and was turned away

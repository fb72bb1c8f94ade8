"""In production is the newest version that is, or may be, serving: never backwards."""

from __future__ import annotations

import pytest

from release.lifecycle import State
from release.production import (
    MAY_BE_SERVING,
    ProductionDeploy,
    ProductionFact,
    in_production,
)

SUCCEEDED, PENDING, UNKNOWN, FAILED, NOT_STARTED = (
    ProductionDeploy.SUCCEEDED,
    ProductionDeploy.PENDING,
    ProductionDeploy.UNKNOWN,
    ProductionDeploy.FAILED,
    ProductionDeploy.NOT_STARTED,
)


def released(version: str) -> ProductionFact:
    return ProductionFact(version, State.RELEASED, SUCCEEDED)


def test_nothing_released_means_nothing_in_production() -> None:
    assert in_production([]) is None


def test_a_release_that_never_deployed_is_not_in_production() -> None:
    facts = [
        ProductionFact("v1.0.0", State.APPROVED, NOT_STARTED),
        ProductionFact("v1.1.0", State.CANCELLED, NOT_STARTED),
    ]
    assert in_production(facts) is None


def test_the_released_version_is_in_production() -> None:
    assert in_production([released("v1.4.0")]) == "v1.4.0"


def test_newest_is_by_version_not_by_text_or_order() -> None:
    facts = [released("v1.10.0"), released("v1.9.0"), released("v1.2.0")]
    assert in_production(facts) == "v1.10.0"


def test_a_rolled_back_release_is_not_in_production() -> None:
    facts = [released("v1.4.0"), ProductionFact("v1.5.0", State.ROLLED_BACK, SUCCEEDED)]
    assert in_production(facts) == "v1.4.0"


def test_a_release_that_failed_its_smoke_tests_is_live_until_rolled_back() -> None:
    facts = [released("v1.4.0"), ProductionFact("v1.5.0", State.FAILED, SUCCEEDED)]
    assert in_production(facts) == "v1.5.0"


def test_a_deploy_still_running_may_be_live() -> None:
    facts = [released("v1.4.0"), ProductionFact("v1.5.0", State.DEPLOYING, PENDING)]
    assert in_production(facts) == "v1.5.0"


def test_a_deploy_whose_outcome_was_never_learned_may_be_live() -> None:
    # The instance died mid-deploy; the release was failed, but the deploy may have landed.
    facts = [released("v1.4.0"), ProductionFact("v1.5.0", State.FAILED, UNKNOWN)]
    assert in_production(facts) == "v1.5.0"


def test_a_deploy_the_deployer_refused_is_not_live() -> None:
    facts = [released("v1.4.0"), ProductionFact("v1.5.0", State.FAILED, FAILED)]
    assert in_production(facts) == "v1.4.0"


def test_a_rolled_back_release_is_out_whatever_its_deploy_said() -> None:
    facts = [ProductionFact("v1.5.0", State.ROLLED_BACK, d) for d in ProductionDeploy]
    assert in_production(facts) is None


def test_a_malformed_version_is_ignored() -> None:
    assert in_production([released("1.9"), released("v1.2.0")]) == "v1.2.0"


def test_an_iterator_is_read_once() -> None:
    assert in_production(iter([released("v1.0.0"), released("v2.0.0")])) == "v2.0.0"


def test_what_may_be_serving() -> None:
    assert {SUCCEEDED, PENDING, UNKNOWN} == MAY_BE_SERVING


@pytest.mark.parametrize("deploy", list(ProductionDeploy))
def test_every_outcome_is_decided(deploy: ProductionDeploy) -> None:
    fact = ProductionFact("v3.0.0", State.VERIFYING, deploy)
    assert in_production([fact]) == ("v3.0.0" if deploy in MAY_BE_SERVING else None)

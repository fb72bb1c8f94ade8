"""A hotfix is the next unused patch of production, and always needs two people."""

from __future__ import annotations

import pytest

from release.hotfixes import needs_four_eyes, next_hotfix
from release.versions import Version


def test_a_hotfix_is_the_next_patch_of_production() -> None:
    assert next_hotfix("v1.4.0", set()) == Version(1, 4, 1)


def test_a_cancelled_hotfix_uses_up_its_number() -> None:
    assert next_hotfix("v1.4.0", {"v1.4.1"}) == Version(1, 4, 2)


def test_every_used_patch_is_skipped() -> None:
    assert next_hotfix("v1.4.0", {"v1.4.1", "v1.4.2", "v1.4.3"}) == Version(1, 4, 4)


def test_only_patches_right_above_production_matter() -> None:
    taken = {"v1.4.0", "v1.5.0", "v1.3.1", "v1.4.3", "v2.4.1"}
    assert next_hotfix("v1.4.0", taken) == Version(1, 4, 1)


def test_a_hotfix_of_a_hotfix_counts_on() -> None:
    assert next_hotfix("v1.4.2", {"v1.4.1", "v1.4.2"}) == Version(1, 4, 3)


def test_taken_may_be_any_iterable() -> None:
    assert next_hotfix("v0.0.9", iter(["v0.0.10"])) == Version(0, 0, 11)


def test_production_must_be_a_version() -> None:
    with pytest.raises(ValueError, match="not a vMAJOR.MINOR.PATCH"):
        next_hotfix("1.4", set())


@pytest.mark.parametrize(
    ("hotfix", "configured", "expected"),
    [
        pytest.param(True, True, True, id="hotfix-four-eyes-on"),
        pytest.param(True, False, True, id="hotfix-four-eyes-off-still-two-people"),
        pytest.param(False, True, True, id="regular-four-eyes-on"),
        pytest.param(False, False, False, id="regular-four-eyes-off"),
    ],
)
def test_four_eyes(hotfix: bool, configured: bool, expected: bool) -> None:
    assert needs_four_eyes(hotfix=hotfix, configured=configured) is expected

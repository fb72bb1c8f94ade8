"""Release versions are written exactly vMAJOR.MINOR.PATCH, as the policy writes them."""

from __future__ import annotations

import pytest

from release.versions import Version, is_newer, parse_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.4.0", Version(1, 4, 0)),
        ("v0.0.1", Version(0, 0, 1)),
        ("v10.20.30", Version(10, 20, 30)),
    ],
)
def test_a_well_formed_version_is_accepted(text: str, expected: Version) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["v1.4.0", "v0.0.1", "v10.20.30"])
def test_a_version_is_shown_the_way_it_was_written(text: str) -> None:
    assert str(parse_version(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1.4", id="no-v-and-no-patch"),
        pytest.param("1.4.0", id="no-v"),
        pytest.param("v1.4", id="no-patch"),
        pytest.param("v1.4.0.1", id="four-parts"),
        pytest.param("v01.4.0", id="leading-zero-major"),
        pytest.param("v1.04.0", id="leading-zero-minor"),
        pytest.param("v1.4.00", id="leading-zero-patch"),
        pytest.param("V1.4.0", id="capital-V"),
        pytest.param("v1.4.0-rc1", id="pre-release-suffix"),
        pytest.param("v1.4.0+build5", id="build-metadata"),
        pytest.param("v1..0", id="empty-part"),
        pytest.param("v-1.4.0", id="negative"),
        pytest.param("release/v1.4.0", id="branch-name"),
        pytest.param("v1.4.0 v1.5.0", id="two-versions"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces-only"),
        pytest.param("\t\n", id="whitespace-only"),
    ],
)
def test_anything_but_exactly_vmajor_minor_patch_is_refused(text: str) -> None:
    assert parse_version(text) is None


def test_leading_zeros_are_refused_so_one_release_cannot_have_two_names() -> None:
    assert parse_version("v1.4.0") is not None
    assert parse_version("v01.4.0") is None


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_version("  v1.4.0\n") == Version(1, 4, 0)


@pytest.mark.parametrize(
    ("text", "is_major"),
    [
        ("v1.0.0", True),
        ("v2.0.0", True),
        ("v0.0.0", True),
        ("v1.4.0", False),
        ("v1.0.1", False),
        ("v1.4.1", False),
    ],
)
def test_only_a_vx_0_0_release_is_major(text: str, is_major: bool) -> None:
    version = parse_version(text)
    assert version is not None
    assert version.is_major is is_major


def test_a_release_branch_is_named_after_its_version() -> None:
    assert Version(1, 4, 0).branch == "release/v1.4.0"
    assert Version(10, 20, 30).branch == "release/v10.20.30"


@pytest.mark.parametrize(
    ("newer", "older", "expected"),
    [
        (Version(1, 4, 1), Version(1, 4, 0), True),
        (Version(1, 4, 10), Version(1, 4, 9), True),
        (Version(1, 4, 2), Version(1, 4, 0), False),  # skips a patch
        (Version(1, 4, 0), Version(1, 4, 0), False),  # the same release
        (Version(1, 4, 0), Version(1, 4, 1), False),  # a step back
        (Version(1, 5, 1), Version(1, 4, 0), False),  # another minor line
        (Version(1, 5, 0), Version(1, 4, 0), False),  # a minor bump is not a patch bump
        (Version(2, 4, 1), Version(1, 4, 0), False),  # another major line
    ],
)
def test_a_patch_bump_is_the_next_patch_on_the_same_minor_line(
    newer: Version, older: Version, expected: bool
) -> None:
    assert newer.is_patch_bump_of(older) is expected


def test_versions_order_numerically_not_alphabetically() -> None:
    assert Version(1, 10, 0) > Version(1, 9, 0)
    assert Version(2, 0, 0) > Version(1, 99, 99)


def test_an_absurdly_long_version_is_answered_not_an_error() -> None:
    text = "v" + "1" * 4301 + ".0.0"
    result = parse_version(text)
    assert result is None or isinstance(result, Version)


def test_is_newer_compares_versions_not_text() -> None:
    assert is_newer("v1.10.0", "v1.9.0")
    assert is_newer("v1.4.0", None)
    assert not is_newer("v1.4.0", "v1.4.0")
    assert not is_newer("v1.3.9", "v1.4.0")

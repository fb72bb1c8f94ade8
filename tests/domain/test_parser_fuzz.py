"""`/release` text in, a command or a usage message out: the parser never raises."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.parser import (
    USAGE,
    Cancel,
    Command,
    Help,
    OpenReview,
    Promote,
    Regression,
    RoleAdd,
    RoleList,
    RoleRemove,
    Start,
    Status,
    Usage,
    parse,
)
from release.roles import Role
from release.versions import Version

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ROUND_TRIP = settings(FUZZ, max_examples=100)

#: Slack caps a message well below this; a usage answer must never come near it.
SLACK_LIMIT = 3000


def assert_answered(result: object) -> None:
    """Either a command the bot can run, or a usage message a person can read."""
    if isinstance(result, Usage):
        assert result.message.strip(), "a usage message must say something"
        assert len(result.message) < SLACK_LIMIT, len(result.message)
    else:
        assert isinstance(result, Command), f"not a command: {result!r}"


# --- vocabulary for composed input -----------------------------------------------------

COMMAND_WORDS = [
    "start",
    "status",
    "regression",
    "review",
    "cancel",
    "promote",
    "role",
    "help",
    "add",
    "remove",
    "list",
    "pass",
    "fail",
    "PASS",
    "Fail",
    "START",
    "Role",
    "HELP",
    "hotfix",
    "freeze",
    "metrics",
    "check",
    "rollback",
    *(r.value for r in Role),
    "tech-lead",
    "Client-Success",
    "QA",
]

small = st.integers(min_value=0, max_value=10**6)
good_versions = st.builds(lambda a, b, c: f"v{a}.{b}.{c}", small, small, small)
bad_versions = st.sampled_from(
    ["1.4", "v1.4", "v1.4.0.1", "v01.4.0", "V1.4.0", "v1.4.0-rc1", "v", "v..", "v-1.0.0"]
)
user_ids = st.from_regex(r"[UW][A-Z0-9]{1,12}", fullmatch=True)
labels = st.text(alphabet=st.characters(blacklist_characters=">"), max_size=20)
mentions = st.one_of(
    st.builds(lambda u, n: f"<@{u}|{n}>", user_ids, labels),
    st.builds(lambda u: f"<@{u}>", user_ids),
    st.sampled_from(["@bob", "<@bob>", "<@U123", "<@>", "<@U123|>", "<#C123|release>"]),
)
urls = st.one_of(
    st.sampled_from(
        [
            "<https://x.y/z|r>",
            "<https://ci/r/1>",
            "https://ci/r/1",
            "http://a",
            "<ftp://x.y/z>",
            "<https://>",
            "<https://x.y/z|>",
            "<mailto:a@b.c|a@b.c>",
        ]
    ),
    st.builds(
        lambda p, lab: f"<https://ci.example/{p}|{lab}>",
        st.text(alphabet="abc/123-_?=&", max_size=30),
        labels,
    ),
)
junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["`", "```", "*", "<", ">", "|", "<>", "\u200b", "\u00a0", "İ", "ß", "🚀"]),
    st.from_regex(r"[0-9]{1,60}", fullmatch=True),
)
tokens = st.one_of(
    st.sampled_from(COMMAND_WORDS), good_versions, bad_versions, mentions, urls, junk
)
separators = st.sampled_from([" ", "  ", "\t", "\n", " \u00a0 ", "\u3000"])


@st.composite
def composed_text(draw: st.DrawFn) -> str:
    words = draw(st.lists(tokens, max_size=8))
    parts: list[str] = []
    for word in words:
        parts.append(word)
        parts.append(draw(separators))
    return draw(st.sampled_from(["", " ", "\n"])) + "".join(parts)


# --- never raises ----------------------------------------------------------------------


@FUZZ
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    assert_answered(parse(text))


@FUZZ
@given(composed_text())
def test_parse_never_raises_on_command_like_text(text: str) -> None:
    assert_answered(parse(text))


@FUZZ
@given(st.sampled_from(COMMAND_WORDS[:8]), st.lists(tokens, max_size=6))
def test_every_command_answers_whatever_follows_it(name: str, args: list[str]) -> None:
    assert_answered(parse(" ".join([name, *args])))


@FUZZ
@given(st.sampled_from(list(USAGE)), st.text(min_size=200, max_size=2000))
def test_a_long_argument_keeps_the_usage_message_short(name: str, blob: str) -> None:
    assert_answered(parse(f"{name} {blob} {blob}"))


@pytest.mark.parametrize(
    "text",
    [
        "start v" + "1" * 4301 + ".0.0",
        "status v0." + "9" * 5000 + ".0",
        "regression v1.4." + "1" * 4301 + " pass https://ci/r/1",
    ],
    ids=["start-major", "status-minor", "regression-patch"],
)
def test_parse_never_raises_on_a_version_with_thousands_of_digits(text: str) -> None:
    assert_answered(parse(text))


# --- well-formed commands round-trip ---------------------------------------------------

versions = st.builds(Version, small, small, small)


@ROUND_TRIP
@given(versions)
def test_any_well_formed_version_is_started(version: Version) -> None:
    assert parse(f"start {version}") == Start(version)


@ROUND_TRIP
@given(
    user_ids, labels.filter(lambda s: not any(c.isspace() for c in s)), st.sampled_from(list(Role))
)
def test_any_slack_mention_names_the_user_for_role_add(
    user_id: str, label: str, role: Role
) -> None:
    assert parse(f"role add <@{user_id}|{label}> {role.value}") == RoleAdd(user_id, role)
    assert parse(f"role add <@{user_id}> {role.value}") == RoleAdd(user_id, role)


# --- examples --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["role add <@U123|bob> qa", "role add <@U123> qa"])
def test_role_add_reads_the_user_id_from_either_mention_form(text: str) -> None:
    assert parse(text) == RoleAdd(user_id="U123", role=Role.QA)


def test_role_remove_with_a_dashed_role_name() -> None:
    assert parse("role remove <@W9Z|eve> tech-lead") == RoleRemove("W9Z", Role.TECH_LEAD)


def test_role_list() -> None:
    assert parse("role list") == RoleList()


def test_role_add_with_a_plain_at_name_asks_for_a_slack_mention() -> None:
    result = parse("role add @bob qa")
    assert isinstance(result, Usage)
    assert "Mention the person with @" in result.message
    assert "`@bob`" in result.message
    assert USAGE["role"] in result.message


def test_role_add_with_an_unknown_role_lists_the_roles() -> None:
    result = parse("role add <@U123> boss")
    assert isinstance(result, Usage)
    assert "`boss` is not a role" in result.message
    for role in Role:
        assert role.value in result.message


@pytest.mark.parametrize(
    ("text", "passed", "url"),
    [
        ("regression v1.4.0 pass <https://ci/r/1>", True, "https://ci/r/1"),
        ("regression v1.4.0 fail <https://x.y/z|r>", False, "https://x.y/z"),
        ("regression v1.4.0 PASS https://ci/r/2", True, "https://ci/r/2"),
    ],
)
def test_regression_records_the_bare_report_url(text: str, passed: bool, url: str) -> None:
    assert parse(text) == Regression(Version(1, 4, 0), passed, url)


def test_regression_outcome_must_be_pass_or_fail() -> None:
    result = parse("regression v1.4.0 maybe x")
    assert isinstance(result, Usage)
    assert "`pass` or `fail`" in result.message
    assert USAGE["regression"] in result.message


def test_regression_report_must_be_an_http_link() -> None:
    result = parse("regression v1.4.0 pass <ftp://ci/r/1>")
    assert isinstance(result, Usage)
    assert "http(s) link" in result.message


def test_regression_without_a_report_asks_for_the_link() -> None:
    result = parse("regression v1.4.0 pass")
    assert isinstance(result, Usage)
    assert "link to the regression report" in result.message


def test_an_unknown_subcommand_points_to_release_help() -> None:
    result = parse("deploy v1.4.0")
    assert isinstance(result, Usage)
    assert "`deploy` is not a `/release` command" in result.message
    assert "/release help" in result.message


def test_cancel_without_a_reason_asks_why() -> None:
    result = parse("cancel v1.4.0")
    assert isinstance(result, Usage)
    assert "Say why" in result.message
    assert USAGE["cancel"] in result.message


def test_cancel_keeps_the_whole_reason() -> None:
    assert parse("cancel v1.4.0 moved to   next sprint") == Cancel(
        Version(1, 4, 0), "moved to next sprint"
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "help", "HELP me please"])
def test_empty_text_or_help_gives_help(text: str) -> None:
    assert parse(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start v1.4.0", Start(Version(1, 4, 0))),
        ("Start v1.4.0", Start(Version(1, 4, 0))),
        ("review v1.4.0", OpenReview(Version(1, 4, 0))),
        ("promote v2.0.0", Promote(Version(2, 0, 0))),
        ("status", Status(None)),
        ("status v1.4.0", Status(Version(1, 4, 0))),
    ],
)
def test_well_formed_commands(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("name", ["start", "review", "promote", "cancel", "regression"])
def test_a_command_without_a_version_asks_which(name: str) -> None:
    result = parse(name)
    assert isinstance(result, Usage)
    assert "Which version?" in result.message
    assert USAGE[name] in result.message


@pytest.mark.parametrize("word", ["v01.4.0", "1.4.0", "v1.4", "V1.4.0", "v1.4.0-rc1"])
def test_a_malformed_version_is_quoted_back_with_the_expected_form(word: str) -> None:
    result = parse(f"promote {word}")
    assert isinstance(result, Usage)
    assert f"`{word}` is not a release version" in result.message
    assert "v1.4.0" in result.message


def test_a_long_malformed_version_is_cut_short_in_the_answer() -> None:
    word = "x" * 500
    result = parse(f"start {word}")
    assert isinstance(result, Usage)
    assert "x" * 40 + "…" in result.message
    assert "x" * 41 not in result.message


@pytest.mark.parametrize(
    "text", ["start v1.4.0 now", "promote v1.4.0 v1.5.0", "status v1.4.0 v1.5.0"]
)
def test_extra_words_after_a_version_are_refused(text: str) -> None:
    assert isinstance(parse(text), Usage)

"""Bad input gets a clear ephemeral answer and changes nothing."""

from __future__ import annotations

import pytest

from tests.harness import ADMIN, MANAGER, NOBODY, QA, TECH_LEAD, Harness


def _ack_text(bot: Harness, user: str, text: str, **kwargs: str) -> str:
    response = bot.run(user, text, **kwargs)
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start 1.4", "`1.4` is not a release version"),
        ("start v1.4", "`v1.4` is not a release version"),
        ("start v1.4.0.1", "`v1.4.0.1` is not a release version"),
        ("start v01.4.0", "`v01.4.0` is not a release version"),
        ("start", "Which version?"),
        ("deploy v1.4.0", "`deploy` is not a `/release` command. Try `/release help`"),
        ("regression v1.4.0 maybe <https://ci/x>", "`pass` or `fail`"),
        ("regression v1.4.0 pass", "link to the regression report"),
        ("cancel v1.4.0", "Say why the release is cancelled."),
        ("role add @bob qa", "Mention the person with @"),
        ("role add <@UBOB|bob> wizard", "`wizard` is not a role"),
    ],
)
def test_malformed_commands_get_usage_and_change_nothing(
    bot: Harness, text: str, expected: str
) -> None:
    before = bot.snapshot()
    answer = _ack_text(bot, MANAGER, text)
    assert expected in answer
    bot.fake.wait_quiet(quiet=0.2)
    assert bot.snapshot() == before
    assert bot.said() == []


def test_commands_outside_the_release_channel_say_where_to_go(bot: Harness) -> None:
    answer = _ack_text(bot, ADMIN, "role add <@UBOB> qa", channel="CRANDOM")
    assert "Release commands work in <#C0PORTALREL> only" in answer
    bot.fake.wait_quiet(quiet=0.2)
    assert bot.count("role_grants") == 0


def test_help_lists_every_command(bot: Harness) -> None:
    bot.run(NOBODY, "help")
    text = bot.wait_told(NOBODY, "*/release commands*").text
    for usage in (
        "start v1.4.0",
        "status [v1.4.0]",
        "regression v1.4.0 pass|fail",
        "review v1.4.0",
        "cancel v1.4.0 <reason>",
        "promote v1.4.0",
        "role add|remove @user <role>",
    ):
        assert usage in text


def test_people_without_the_role_are_refused_and_nothing_changes(bot: Harness) -> None:
    bot.cast()
    before = bot.snapshot()
    bot.run(TECH_LEAD, "start v1.4.0")
    refusal = bot.wait_told(TECH_LEAD, "Only a Release Manager may start a release").text
    assert "/release role add @you release_manager" in refusal
    bot.run(NOBODY, "role add <@UNOBODY|me> admin")
    bot.wait_told(NOBODY, "Only an Admin may grant roles")
    assert bot.snapshot() == before


def test_a_duplicate_start_is_refused(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    before = bot.snapshot()
    bot.run(MANAGER, "start v1.4.0")
    assert (
        "v1.4.0 was already started (it is `staging`)"
        in bot.wait_told(MANAGER, "already started").text
    )
    assert bot.snapshot() == before


def test_an_illegal_step_names_the_state_and_what_is_needed(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(MANAGER, "promote v1.4.0")
    refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
    assert "not approved: v1.4.0 is `staging` and needs all four readiness sign-offs" in refusal
    assert "regression not passed on staging" in refusal
    bot.run(MANAGER, "review v1.4.0")
    refusal = bot.wait_told(MANAGER, "cannot open a fresh review").text
    assert "v1.4.0 is `staging`" in refusal
    assert "QA to record the staging regression" in refusal


def test_unknown_release_is_answered_plainly(bot: Harness) -> None:
    bot.cast()
    bot.run(QA, "regression v9.9.9 pass <https://ci/x>")
    assert "There is no release v9.9.9" in bot.wait_told(QA, "no release").text


def test_mentions_arrive_in_both_escaped_forms(bot: Harness) -> None:
    bot.run(ADMIN, "role add <@UBOB|bob> qa")
    bot.run(ADMIN, "role add <@UCAROL> security")
    bot.wait_said("<@UCAROL> the Security role")
    grants = {tuple(r) for r in bot.rows("SELECT user_id, role FROM role_grants")}
    assert grants == {("UBOB", "qa"), ("UCAROL", "security")}
    bot.run(ADMIN, "role list")
    listing = bot.wait_told(ADMIN, "*Roles*").text
    assert "QA (`qa`): <@UBOB>" in listing
    assert "Admin (`admin`): <@UADMIN> (from configuration)" in listing


def test_roles_are_revoked_and_config_admins_are_protected(bot: Harness) -> None:
    bot.run(ADMIN, "role add <@UBOB> qa")
    bot.wait_said("the QA role")
    bot.run(ADMIN, "role remove <@UBOB> qa")
    bot.wait_said("revoked the QA role from <@UBOB>")
    assert bot.count("role_grants") == 0
    bot.run(ADMIN, "role remove <@UADMIN> admin")
    assert "admin from configuration" in bot.wait_told(ADMIN, "RELEASE_ADMINS").text


def test_refused_commands_write_no_audit_rows(bot: Harness) -> None:
    bot.run(NOBODY, "promote v1.4.0")
    bot.wait_told(NOBODY, "Only a Release Manager")
    assert bot.count("audit_events") == 0

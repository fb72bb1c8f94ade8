"""Release notes as each place shows them: escaped, and within Slack's limits."""

from __future__ import annotations

from datetime import date

from commands.release_notes import as_mrkdwn, changelog_entry, email
from release.notes import Change, Labelled, ReleaseNotes, group

HOSTILE = "Fix <!channel> and <https://evil.example|https://ci.example.com> & *more*"


def _notes(count: int = 1, title: str = HOSTILE) -> ReleaseNotes:
    return group(
        "v1.4.0",
        [
            Labelled(
                Change(n, title, f"https://github.com/acme/portal/pull/{n}", "<@U123>"),
                ("milestone",),
            )
            for n in range(1, count + 1)
        ],
        "https://github.com/acme/portal/pulls?q=is%3Amerged",
    )


def test_slack_shows_a_title_literally_it_pings_nobody_and_disguises_no_link() -> None:
    text = as_mrkdwn(_notes())
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil.example|" not in text
    assert "<@U123>" not in text  # an author name cannot mention anyone either
    assert "<https://github.com/acme/portal/pull/1|#1>" in text  # the bot's own link stays


def test_long_notes_are_cut_to_the_limit_and_point_to_the_full_list() -> None:
    text = as_mrkdwn(_notes(300, "a change with a long title " * 4), limit=2400)
    assert len(text) <= 2400
    assert "more: see <https://github.com/acme/portal/pulls?q=is%3Amerged|the full list>" in text


def test_a_long_full_list_link_survives_the_cut_whole() -> None:
    url = "https://github.com/acme-corp/customer-portal/pulls?q=" + "is%3Apr+is%3Amerged+" * 7
    notes = ReleaseNotes(_notes(300).version, _notes(300).sections, url)
    text = as_mrkdwn(notes, limit=2400)
    assert len(text) <= 2400
    assert text.endswith(f"see <{url}|the full list>._")


def test_the_change_log_and_e_mail_list_at_most_a_hundred_changes() -> None:
    notes = _notes(150, "a change")
    entry = changelog_entry(notes, date(2026, 11, 26))
    assert entry.count("\n- ") == 100
    assert "…and 50 more: [the full list](https://github.com/acme/portal/pulls?q=" in entry
    mail = email(notes)
    assert mail.text.count("\n* ") == 100 and "Every change: https://github.com" in mail.text
    assert "…and 50 more." in mail.text and "…and 50 more." in mail.html


def test_a_link_that_is_not_http_is_shown_as_text() -> None:
    notes = ReleaseNotes(
        "v1.4.0", ((_notes().sections[0][0], (Change(1, "x", "javascript:alert(1)", "a"),)),)
    )
    assert "javascript" not in as_mrkdwn(notes) and "#1" in as_mrkdwn(notes)


def test_the_change_log_entry_escapes_markdown_and_keeps_the_link() -> None:
    entry = changelog_entry(_notes(), date(2026, 11, 26))
    assert entry.startswith("## v1.4.0 (2026-11-26)\n")
    assert "\\<https://evil.example\\|https://ci.example.com\\>" in entry
    assert "\\*more\\*" in entry
    assert "([#1](https://github.com/acme/portal/pull/1))" in entry


def test_the_email_has_a_text_and_an_escaped_html_part() -> None:
    mail = email(_notes())
    assert mail.subject == "Released: the portal v1.4.0"
    assert HOSTILE in mail.text
    assert "&lt;!channel&gt;" in mail.html and "<!channel>" not in mail.html
    assert mail.message_id == "<release-v1.4.0@release-bot>"


def test_a_long_hotfix_reason_is_shown_in_part_not_dropped() -> None:
    notes = ReleaseNotes("v1.4.1", remark="Hotfix of v1.4.0: " + "the share view leaks " * 200)
    text = as_mrkdwn(notes, limit=2500)
    assert text.startswith("_Hotfix of v1.4.0: the share view leaks") and len(text) <= 2500


def test_a_remark_is_shown_when_no_notes_could_be_read() -> None:
    notes = ReleaseNotes("v1.4.0", remark="Release notes could not be generated: <boom>")
    assert as_mrkdwn(notes) == "_Release notes could not be generated: &lt;boom&gt;_"

"""Release notes rendered for each place they go: Slack, CHANGELOG.md and the e-mail.

Pull-request titles are typed by people: each view escapes them for its own format, so a
title can never ping `@channel`, disguise a link, or inject markup.
"""

from __future__ import annotations

import html
import re
from datetime import date

from commands.text import escape
from integrations.ports import Email
from release.notes import Change, ReleaseNotes, Section

#: The most of a title any view shows.
TITLE_LIMIT = 200
#: The most changes the change log and the e-mail list; the full list link has them all.
LISTED_LIMIT = 100


def _title(change: Change) -> str:
    title = " ".join(change.title.split())
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


_WEB_URL = re.compile(r"https?://[^\s<>|()\[\]\"']+")


def _slack_link(url: str, label: str) -> str:
    """A link the bot builds: only an http(s) URL from GitHub, with `|` and `>` kept out."""
    if not _WEB_URL.fullmatch(url):
        return escape(label)
    return f"<{escape(url)}|{escape(label)}>"


def as_mrkdwn(notes: ReleaseNotes, limit: int = 2500) -> str:
    """The notes for Slack in at most `limit` characters; cut ones point to the full list."""
    lines: list[str] = []
    if notes.remark:
        remark = " ".join(notes.remark.split())
        if len(remark) > limit // 2:  # said in part rather than cut away whole
            remark = remark[: limit // 2 - 1] + "…"
        lines.append(f"_{escape(remark)}_")
    if not notes.sections and not notes.remark:
        lines.append("_No pull requests were merged since the previous release._")
    shown = 0
    for section, changes in notes.sections:
        lines.append(f"*{section.value}*")
        for change in changes:
            lines.append(
                f"• {_slack_link(change.url, f'#{change.number}')} {escape(_title(change))} "
                f"({escape(change.author)})"
            )
            shown += 1
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    # Cut whole lines, and say how many are missing and where they are.
    where = _slack_link(notes.full_list_url, "the full list") if notes.full_list_url else "GitHub"
    if len(where) > limit // 3:  # a link too long to fit is no link
        where = "GitHub"
    closing = "_…and {} more: see " + where + "._"
    budget = limit - len(closing.format(f"{notes.changes:,}")) - 1
    kept: list[str] = []
    size = counted = 0
    for line in lines:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
        counted += line.startswith("• ")
    kept.append(closing.format(f"{notes.changes - counted:,}"))
    return "\n".join(kept)


def _listed(notes: ReleaseNotes) -> list[tuple[Section, tuple[Change, ...]]]:
    """The sections with at most LISTED_LIMIT changes in all, in order."""
    left, listed = LISTED_LIMIT, []
    for section, changes in notes.sections:
        if left <= 0:
            break
        listed.append((section, changes[:left]))
        left -= len(changes[:left])
    return listed


def _md(text: str) -> str:
    """Text shown literally in Markdown: no links, images, HTML or emphasis from a title."""
    return re.sub(r"([\\`*_{}\[\]()<>|~])", r"\\\1", text)


def _md_link(change: Change) -> str:
    number = f"#{change.number}"
    return f"[{number}]({change.url})" if _WEB_URL.fullmatch(change.url) else number


def changelog_entry(notes: ReleaseNotes, released_on: date) -> str:
    """The CHANGELOG.md entry of a release, headed `## vX.Y.Z (YYYY-MM-DD)`."""
    lines = [f"## {notes.version} ({released_on.isoformat()})", ""]
    if notes.remark:
        lines += [_md(notes.remark), ""]
    for section, changes in _listed(notes):
        lines += [f"### {section.value}", ""]
        lines += [
            f"- {_md(_title(change))} ({_md_link(change)}) by {_md(change.author)}"
            for change in changes
        ]
        lines.append("")
    if notes.changes > LISTED_LIMIT:
        more = f"…and {notes.changes - LISTED_LIMIT} more"
        lines += [
            f"{more}: [the full list]({notes.full_list_url})"
            if _WEB_URL.fullmatch(notes.full_list_url)
            else more,
            "",
        ]
    if not notes.sections and not notes.remark:
        lines += ["No pull requests were merged since the previous release.", ""]
    return "\n".join(lines)


def email(notes: ReleaseNotes, *, product: str = "the portal") -> Email:
    """The notes as an e-mail with a plain-text and an HTML part."""
    subject = f"Released: {product} {notes.version}"
    text = [f"{product[:1].upper() + product[1:]} {notes.version} is released.", ""]
    parts = [
        f"<p>{html.escape(product[:1].upper() + product[1:])} "
        f"<strong>{html.escape(notes.version)}</strong> is released.</p>"
    ]
    if notes.remark:
        text += [notes.remark, ""]
        parts.append(f"<p><em>{html.escape(notes.remark)}</em></p>")
    for section, changes in _listed(notes):
        text += [section.value, "-" * len(section.value)]
        parts.append(f"<h3>{html.escape(section.value)}</h3><ul>")
        for change in changes:
            text.append(f"* {_title(change)} (#{change.number}, {change.author}) {change.url}")
            number = f"#{change.number}"
            if _WEB_URL.fullmatch(change.url):
                number = f'<a href="{html.escape(change.url)}">{number}</a>'
            parts.append(
                f"<li>{html.escape(_title(change))} ({number}, {html.escape(change.author)})</li>"
            )
        text.append("")
        parts.append("</ul>")
    if notes.changes > LISTED_LIMIT:
        text.append(f"…and {notes.changes - LISTED_LIMIT} more.")
        parts.append(f"<p>…and {notes.changes - LISTED_LIMIT} more.</p>")
    if _WEB_URL.fullmatch(notes.full_list_url):
        text.append(f"Every change: {notes.full_list_url}")
        parts.append(f'<p><a href="{html.escape(notes.full_list_url)}">Every change</a></p>')
    return Email(
        subject=subject,
        text="\n".join(text) + "\n",
        html="<html><body>" + "".join(parts) + "</body></html>",
        message_id=f"<release-{notes.version}@release-bot>",
    )

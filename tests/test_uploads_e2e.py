"""Files the bot shares go through the outbox: sent after commit, retried, or given up on."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from bot.console.fake_slack import UPLOAD, UploadedFile
from bot.console.local import CHANNEL_ID
from bot.console.repl import Console
from commands.outcome import UPLOAD_LIMIT
from release.clock import OffsetClock
from tests.harness import MANAGER, Harness

CSV = "version,action,actor\nv1.4.0,started,UMANAGER\nv1.4.0,approved,UQA\n"
#: A PNG's signature, then bytes that are not UTF-8, as a chart's would be.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
GET_URL, COMPLETE = "files.getUploadURLExternal", "files.completeUploadExternal"


@pytest.fixture
def bot(database_url: str) -> Iterator[Harness]:
    harness = Harness.start(database_url)
    harness.fake.wait_quiet()
    try:
        yield harness
    finally:
        harness.stop()


def _upload(
    bot: Harness,
    filename: str = "audit-v1.4.0.csv",
    content: str = CSV,
    *,
    title: str = "Audit trail of v1.4.0",
    comment: str = "",
    binary: bytes | None = None,
    then_announce: str = "",
) -> None:
    """Record a file (and a message after it), as a command does, in one transaction."""
    ctx = bot.local.runtime.services.context(MANAGER)
    with ctx.transaction():
        ctx.conversation.upload(filename, content, title=title, comment=comment, binary=binary)
        if then_announce:
            ctx.conversation.announce(then_announce)


def _file(bot: Harness, filename: str) -> UploadedFile:
    return bot.fake.wait_for(
        lambda: next((f for f in bot.fake.files_in(CHANNEL_ID) if f.filename == filename), None)
    )


def _outbox(bot: Harness) -> list[tuple[str, str]]:
    return [tuple(r) for r in bot.rows("SELECT kind, status FROM outbox WHERE kind = 'upload'")]


def test_a_csv_is_shared_in_the_release_channel_with_its_title_and_comment(bot: Harness) -> None:
    _upload(bot, comment=":bar_chart: The audit trail of *v1.4.0*")
    shared = _file(bot, "audit-v1.4.0.csv")
    assert shared.title == "Audit trail of v1.4.0"
    assert shared.content == CSV.encode()
    assert shared.comment == ":bar_chart: The audit trail of *v1.4.0*"
    bot.fake.wait_quiet()
    assert len(bot.fake.files) == 1
    assert _outbox(bot) == [("upload", "sent")]
    (completed,) = bot.fake.sent(COMPLETE)
    assert completed["channel_id"] == CHANNEL_ID


def test_a_file_without_a_comment_is_shared_without_one(bot: Harness) -> None:
    _upload(bot, "flags.json", '{"flags": []}', title="Flags")
    assert _file(bot, "flags.json").comment == ""
    (completed,) = bot.fake.sent(COMPLETE)
    assert "initial_comment" not in completed


def test_a_png_given_as_bytes_arrives_byte_identical(bot: Harness) -> None:
    _upload(bot, "burn-down.png", "", title="Burn-down", binary=PNG)
    shared = _file(bot, "burn-down.png")
    assert shared.content == PNG
    assert bot.fake.sent(UPLOAD)[0]["length"] == len(PNG)
    row = bot.rows("SELECT payload FROM outbox WHERE kind = 'upload'")[0][0]
    assert "content" not in str(row).replace("content_b64", "")  # kept as base64 only


@pytest.mark.parametrize(
    ("status", "headers"),
    [(500, None), (429, {"Retry-After": "1"})],
    ids=["server-error", "rate-limited"],
)
def test_a_completion_that_fails_for_now_is_retried_and_the_file_arrives_once(
    bot: Harness, status: int, headers: dict[str, str] | None
) -> None:
    bot.fake.fail_next(COMPLETE, status=status, headers=headers)
    _upload(bot, then_announce="after the file")
    bot.wait_said("after the file")  # waited, in order, behind the file
    assert len(bot.fake.files_in(CHANNEL_ID)) == 1
    assert bot.fake.count(COMPLETE) == 2
    assert bot.fake.count(GET_URL) == 2  # the whole upload again; the first is an orphan
    assert _outbox(bot) == [("upload", "sent")]


def test_a_dropped_upload_of_the_bytes_is_retried(bot: Harness) -> None:
    bot.fake.reset_next(UPLOAD)
    _upload(bot)
    assert _file(bot, "audit-v1.4.0.csv").content == CSV.encode()
    bot.fake.wait_quiet()
    assert bot.fake.count(UPLOAD) == 2
    assert len(bot.fake.files) == 1


def test_a_file_slack_refuses_for_good_is_given_up_without_holding_up_the_lane(
    bot: Harness,
) -> None:
    bot.fake.fail_with(GET_URL, "file_uploads_disabled")
    _upload(bot, then_announce="said after the refused file")
    bot.wait_said("said after the refused file")
    assert bot.fake.files == []
    assert bot.fake.count(COMPLETE) == 0
    assert _outbox(bot) == [("upload", "undeliverable")]
    reference, error = bot.rows("SELECT reference, last_error FROM outbox WHERE kind = 'upload'")[0]
    assert reference and error == "file_uploads_disabled"


def test_an_empty_or_oversized_file_is_refused_when_it_is_recorded(bot: Harness) -> None:
    with pytest.raises(ValueError, match="empty"):
        _upload(bot, content="")
    with pytest.raises(ValueError, match="at most"):
        _upload(bot, "huge.png", "", binary=b"\0" * (UPLOAD_LIMIT + 1))
    assert _outbox(bot) == []


def test_the_console_shows_a_shared_file(bot: Harness) -> None:
    out = io.StringIO()
    console = Console(bot.local, out, lambda _prompt: None, OffsetClock())
    console.show_news()  # what was said before
    _upload(bot, content="x" * 1200, comment="The audit trail")
    _file(bot, "audit-v1.4.0.csv")
    out.truncate(0)
    console.show_news()
    shown = out.getvalue()
    assert "#portal-release · release-bot" in shown
    assert "  The audit trail\n" in shown
    assert "📎 audit-v1.4.0.csv (1.2 kB) — Audit trail of v1.4.0" in shown

"""The console, run as a newcomer runs it, takes a release from start to released."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from integrations import dry_run
from release.policy import DEFAULT_SMOKE_CHECKS
from tests.harness import MANAGER, Harness

ROOT = Path(__file__).parent.parent


def _command(tmp_path: Path) -> list[str]:
    database_url = f"sqlite:///{tmp_path}/console.sqlite3"
    return [sys.executable, "-m", "bot.cli", "console", "--database-url", database_url]


def _console(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`release-bot console` as a newcomer runs it, fed `script` on standard input."""
    return subprocess.run(
        _command(tmp_path),
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def test_console_demo_script_releases_v1_4_0(tmp_path: Path) -> None:
    script = (ROOT / "tests/console_demo.txt").read_text()
    result = _console(tmp_path, script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in out + result.stderr
    for shown in (
        "READINESS REVIEW: V1.4.0",
        "[1: Approve]  [2: Reject]",
        "┌ Approve this release?",
        "✅ approved by @quinn",
        "✅ *v1.4.0* is approved",
        "🎉 *v1.4.0* is released",
        "*v1.4.0* is `released`",  # the status at the end
    ):
        assert shown in out, f"{shown!r} is not in the transcript:\n{out}\n{result.stderr}"


def test_the_console_shows_a_commands_news_once_its_slow_steps_are_done(
    database_url: str,
) -> None:
    """A deploy that says nothing for longer than the console's quiet spell: the console
    still waits for it (the next line of a script may need staging), as on a busy machine."""
    bot = Harness.start(database_url, integrations=dry_run(DEFAULT_SMOKE_CHECKS, deploy_seconds=1))
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        assert bot.local.settle()
        assert any("*v1.4.0* is on staging" in text for text in bot.said())
    finally:
        bot.stop()


def test_console_keeps_its_data_between_sessions(tmp_path: Path) -> None:
    first = "/release role add @alice release_manager\n/release start v2.1.0\nquit\n"
    second = "/release status\nquit\n"
    for script in (first, second):
        result = _console(tmp_path, script)
        assert result.returncode == 0, result.stderr
    assert "*v2.1.0* `staging`" in result.stdout


def test_console_people_keep_their_names_and_roles_between_sessions(tmp_path: Path) -> None:
    first = "/release role add @quinn release_manager\n/release role add @ab qa\nquit\n"
    result = _console(tmp_path, first)
    assert result.returncode == 0, result.stderr
    people = json.loads((tmp_path / "console.sqlite3.people.json").read_text())
    assert people["quinn"] == "UQUINN" and people["ab"] == "UAB"
    second = (
        "/release role list\n"
        "as quinn\n"
        "/release start v2.1.0\n"
        "as a.b\n"  # spelt like @ab, but another person, who holds no role
        "who\n"
        "/release regression v2.1.0 pass https://ci.example.com/runs/1\n"
        "quit\n"
    )
    result = _console(tmp_path, second)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Release Manager (`release_manager`): @quinn" in out  # a name, not UQUINN
    assert "QA (`qa`): @ab" in out
    assert "@quinn started *v2.1.0*" in out  # quinn's role from the first session
    assert "(console) @a.b (UAB2)" in out
    assert "Only a QA may record regression results" in out


def test_console_end_of_input_without_quit_stops_cleanly(tmp_path: Path) -> None:
    result = _console(tmp_path, "/release help\nwho\n")  # Ctrl-D: stdin closes, no `quit`
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "(console) @alice (UALICE)" in result.stdout
    assert result.stdout.rstrip().endswith("(console) bye: the bot has stopped")


class _Session:
    """The console as a live process: type lines, wait for what it prints, press Ctrl-C."""

    def __init__(self, tmp_path: Path) -> None:
        self.process = subprocess.Popen(
            _command(tmp_path),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            # Ctrl-C must reach it even when the tests run where SIGINT is ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.out = b""
        self.read_up_to = 0  # wait_for looks only past what it has already found

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        assert self.process.stdout is not None
        fd, deadline = self.process.stdout.fileno(), time.monotonic() + timeout
        while (found := self.out.find(text.encode(), self.read_up_to)) < 0:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in:\n{self.out.decode()}"
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                assert chunk, f"the console ended before {text!r}:\n{self.out.decode()}"
                self.out += chunk
        self.read_up_to = found + len(text)

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, (self.out + out).decode(), err.decode()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def test_console_ctrl_c_at_the_prompt_stops_cleanly(tmp_path: Path) -> None:
    session = _Session(tmp_path)
    try:
        session.wait_for("alice in #portal-release> ")
        session.process.send_signal(signal.SIGINT)
        code, out, err = session.finish()
    finally:
        session.close()
    assert code == 0, err
    assert "Traceback" not in out + err
    assert out.rstrip().endswith("(console) bye: the bot has stopped")


def test_console_ctrl_c_in_a_prompt_cancels_only_that_prompt(tmp_path: Path) -> None:
    session = _Session(tmp_path)
    try:
        session.type(
            "/release role add @alice release_manager\n/release role add @quinn qa\n"
            "/release start v3.0.0\nas quinn\n"
            "/release regression v3.0.0 pass https://ci.example.com/runs/1\n"
            "press Approve\n"
        )
        session.wait_for("└ Approve (y) / Go back (n)? ")
        session.process.send_signal(signal.SIGINT)
        session.wait_for("(cancelled)")
        session.type("press Reject\ny\n")
        session.wait_for("│ Why is v3.0.0 not ready?: ")
        session.process.send_signal(signal.SIGINT)
        session.wait_for("(cancelled)\nquinn in #portal-release> ")
        session.type("/release status v3.0.0\nquit\n")
        code, out, err = session.finish()
    finally:
        session.close()
    assert code == 0, err
    assert "Traceback" not in out + err
    assert out.count("(cancelled)") == 2
    assert "approved by @quinn" not in out and "rejected by @quinn" not in out
    assert "Review #1 (open): Technical Lead: pending; QA: pending" in out


def test_console_survives_typos_and_refusals(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "/release start v1.4",
                "/release promote v1.4.0",
                "press 99",
                "as",
                "frobnicate",
                "status",
                "in #random",
                "/release help",
                "quit",
            ]
        )
        + "\n"
    )
    result = _console(tmp_path, script)
    out = result.stdout
    assert result.returncode == 0
    assert "`v1.4` is not a release version" in out
    assert "Only a Release Manager may promote a release" in out
    assert "(console) no such button" in out
    assert "(console) unknown console command; type `help`" in out  # frobnicate
    assert "(console) unknown console command; did you mean `/release status`?" in out
    assert "Release commands work in #portal-release only" in out


def test_the_console_runs_dry_even_with_credentials_in_the_environment(tmp_path: Path) -> None:
    """A production .env beside the console must never branch, deploy or e-mail for real."""
    (tmp_path / ".env").write_text(
        "GITHUB_TOKEN=ghp_real\nGITHUB_REPOSITORY=acme/portal\nGITHUB_API_URL=http://127.0.0.1:9\n"
        "VERCEL_TOKEN=real\nVERCEL_PROJECT_ID=prj_real\nVERCEL_API_URL=http://127.0.0.1:9\n"
    )
    script = "/release role add @alice release_manager\n/release start v1.4.0\nquit\n"
    result = _console(tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert "Dry run: GitHub, Vercel, smoke tests, e-mail do nothing real here" in result.stdout
    assert "*v1.4.0* is on staging" in result.stdout
    assert "dry-run GitHub: would create branch release/v1.4.0" in result.stdout

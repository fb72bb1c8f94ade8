"""The console, run as a newcomer runs it, takes a release from start to released."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _console(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`release-bot console` as a newcomer runs it, fed `script` on standard input."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "console",
            "--database-url",
            f"sqlite:///{tmp_path}/console.sqlite3",
        ],
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
    assert "READINESS REVIEW: V1.4.0" in out
    assert "[1: Approve]  [2: Reject]" in out
    assert "┌ Approve this release?" in out
    assert "✅ approved by @quinn" in out
    assert "✅ *v1.4.0* is approved" in out
    assert "🎉 *v1.4.0* is released" in out
    assert "*v1.4.0* is `released`" in out  # the status at the end


def test_console_keeps_its_data_between_sessions(tmp_path: Path) -> None:
    first = "/release role add @alice release_manager\n/release start v2.1.0\nquit\n"
    second = "/release status\nquit\n"
    for script in (first, second):
        result = _console(tmp_path, script)
        assert result.returncode == 0, result.stderr
    assert "*v2.1.0* `staging`" in result.stdout


def test_console_survives_typos_and_refusals(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "/release start v1.4",
                "/release promote v1.4.0",
                "press 99",
                "as",
                "frobnicate",
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
    assert "(console) unknown console command" in out
    assert "Release commands work in #portal-release only" in out

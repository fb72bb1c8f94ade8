"""Start-up refuses a missing or malformed setting with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, describe

ROOT = Path(__file__).parent.parent
GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "s3cr3t-value",
    "RELEASE_CHANNEL_ID": "C0123ABCD",
}


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in GOOD.items() if k != "RELEASE_CHANNEL_ID"}
    result = _start(tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "release-bot: configuration error: RELEASE_CHANNEL_ID is missing"
    ]


def test_malformed_settings_are_named_and_secrets_are_not_printed(tmp_path: Path) -> None:
    result = _start(
        tmp_path,
        {
            **GOOD,
            "RELEASE_CHANNEL_ID": "#portal-release",
            "RELEASE_ADMINS": "U1ADMIN,alice",
            "PORT": "http",
            "DATABASE_URL": "mysql://root@localhost/x",
        },
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert "RELEASE_CHANNEL_ID: must be a Slack channel ID" in line
    assert "RELEASE_ADMINS: not Slack user IDs (like U0123ABCD): alice" in line
    assert "PORT:" in line
    assert "DATABASE_URL: mysql is not supported; use SQLite or PostgreSQL" in line
    assert "s3cr3t-value" not in result.stderr + result.stdout


def test_http_mode_needs_a_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("SLACK_", "RELEASE_")):
            monkeypatch.delenv(key)
    with pytest.raises(ValidationError) as error:
        Settings.model_validate({"slack_bot_token": "xoxb-1", "release_channel_id": "C0123ABCD"})
    assert "SLACK_SIGNING_SECRET is required unless SLACK_APP_TOKEN is set" in describe(error.value)
    socket_mode = Settings.model_validate(
        {
            "slack_bot_token": "xoxb-1",
            "slack_app_token": "xapp-1",
            "release_channel_id": "C0123ABCD",
        }
    )
    assert socket_mode.slack_signing_secret is None


def test_lists_are_read_from_comma_separated_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        **GOOD,
        "RELEASE_ADMINS": "U1ADMIN, U2ADMIN",
        "SMOKE_CHECKS": "asset upload,share view",
        "DATABASE_URL": "postgres://u:p@db/release",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.release_admins == ["U1ADMIN", "U2ADMIN"]
    assert settings.policy.config_admins == frozenset({"U1ADMIN", "U2ADMIN"})
    assert settings.smoke_checks == ["asset upload", "share view"]
    assert settings.slack_api_url == "https://slack.com/api/"
    assert "s3cr3t" not in repr(settings)


def test_a_wrong_bot_token_stops_start_up_with_slacks_answer(tmp_path: Path) -> None:
    from bot.console.fake_slack import FakeSlack

    fake = FakeSlack(bot_token="xoxb-the-right-one")
    fake.start()
    try:
        result = _start(
            tmp_path,
            {
                **GOOD,
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
            },
        )
    finally:
        fake.stop()
    assert result.returncode == 2
    assert "Slack refused SLACK_BOT_TOKEN at start-up: invalid_auth" in result.stderr
    assert "xoxb-1" not in result.stderr


def test_an_unreachable_database_stops_start_up_with_one_line(tmp_path: Path) -> None:
    from bot.console.fake_slack import FakeSlack

    fake = FakeSlack(bot_token="xoxb-1")
    fake.start()
    try:
        result = _start(
            tmp_path,
            {
                **GOOD,
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": "postgresql://nobody:pw-123@127.0.0.1:1/x",
            },
        )
    finally:
        fake.stop()
    assert result.returncode == 2
    assert "release-bot: cannot reach the database at DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw-123" not in result.stderr


def test_release_bot_migrate_brings_a_new_database_to_the_newest_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    for _ in range(2):  # and a second run changes nothing
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "migrate"],
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": url},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "fresh.sqlite3") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        head = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"releases", "reviews", "sign_offs", "freezes", "deploy_locks", "scheduled_posts"} <= (
        tables
    )
    assert head == "0012"


def test_the_example_env_file_starts_the_bot_quietly_in_http_mode(tmp_path: Path) -> None:
    """`.env.example` copied as `.env`: its empty SLACK_APP_TOKEN= means unset, not Socket Mode."""
    from bot.console.fake_slack import FakeSlack
    from tests.processes import free_port, launch, stop, wait_healthy

    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    fake = FakeSlack(bot_token="xoxb-example")
    fake.start()
    port = free_port()
    process = launch(tmp_path, fake, PORT=str(port), HOST="127.0.0.1", SCHEDULER_TICK_SECONDS="1")
    try:
        wait_healthy(process, port)
        import time

        time.sleep(2.5)  # a few scheduler ticks
    finally:
        log = stop(process)
        fake.stop()
    assert "serving Slack's requests at POST /slack/events" in log, log
    assert "Socket Mode" not in log and "KeyError" not in log, log
    assert "will be unused" not in log, log
    assert "apscheduler" not in log, log
    assert (tmp_path / "release_bot.sqlite3").exists()  # DATABASE_URL from the .env file


def test_migrate_reads_the_same_settings_as_the_bot_dot_env_included(tmp_path: Path) -> None:
    target = tmp_path / "from_dotenv.sqlite3"
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{target}\nSLACK_APP_TOKEN=\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.exists()
    assert not (tmp_path / "release_bot.sqlite3").exists()


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_APP_TOKEN", "")
    monkeypatch.setenv("PORT", "")
    settings = Settings()  # type: ignore[call-arg]
    assert settings.slack_app_token is None
    assert settings.port == 3000


def test_start_up_with_slack_unreachable_or_silent_ends_in_one_line(tmp_path: Path) -> None:
    import socket
    import time

    closed = socket.socket()  # held, so no other test's server takes the port; refuses
    closed.bind(("127.0.0.1", 0))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, and never answers
    try:
        for url, limit in (
            (f"http://127.0.0.1:{closed.getsockname()[1]}/api/", 30),
            (f"http://127.0.0.1:{silent.getsockname()[1]}/api/", 20),
        ):
            began = time.monotonic()
            result = _start(
                tmp_path,
                {
                    **GOOD,
                    "SLACK_API_URL": url,
                    "SLACK_TIMEOUT_SECONDS": "2",
                    "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                },
            )
            assert result.returncode == 2, result.stderr
            assert "release-bot: cannot reach Slack at SLACK_API_URL" in result.stderr
            assert "Traceback" not in result.stderr
            assert time.monotonic() - began < limit
    finally:
        closed.close()
        silent.close()


def test_a_refused_app_token_stops_socket_mode_at_start_up(tmp_path: Path) -> None:
    from bot.console.fake_slack import FakeSlack

    fake = FakeSlack(bot_token="xoxb-1")
    fake.start()
    try:
        result = _start(
            tmp_path,
            {
                **GOOD,
                "SLACK_APP_TOKEN": "xapp-wrong",
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
            },
        )
    finally:
        fake.stop()
    assert result.returncode == 2
    assert "Slack refused SLACK_APP_TOKEN at start-up: invalid_auth" in result.stderr
    assert "xapp-wrong" not in result.stderr and "Traceback" not in result.stderr


def test_a_missing_signing_secret_is_named_with_everything_else_missing(tmp_path: Path) -> None:
    result = _start(tmp_path, {"RELEASE_CHANNEL_ID": "C0123ABCD"})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "SLACK_BOT_TOKEN is missing" in line and "SLACK_SIGNING_SECRET is missing" in line
    assert len(line.splitlines()) == 1


def test_a_half_configured_integration_stops_start_up_naming_what_is_missing(
    tmp_path: Path,
) -> None:
    result = _start(
        tmp_path,
        {
            **GOOD,
            "GITHUB_TOKEN": "ghp_do_not_print_me",
            "VERCEL_PROJECT_ID": "prj_1",
            "SMTP_URL": "smtp://bot:hunter2-do-not-print@smtp.example.com:587",
        },
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "GitHub is half-configured: GITHUB_REPOSITORY is missing (GITHUB_TOKEN is set)" in line
    assert "Vercel is half-configured: VERCEL_TOKEN is missing (VERCEL_PROJECT_ID is set)" in line
    assert (
        "e-mail is half-configured: RELEASE_NOTES_FROM, RELEASE_NOTES_TO are missing "
        "(SMTP_URL is set)" in line
    )
    assert "do_not_print_me" not in result.stderr + result.stdout
    assert "hunter2" not in result.stderr + result.stdout


def test_integration_settings_are_checked_without_repeating_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_REPOSITORY", "not a repository")
    monkeypatch.setenv("SMTP_URL", "ftp://bot:hunter2@smtp.example.com")
    monkeypatch.setenv("RELEASE_NOTES_TO", "ops@example.com,nobody")
    monkeypatch.setenv("SUPPORT_CHANNEL_ID", "#support")
    monkeypatch.setenv("SMOKE_CHECKS", '[{"name": "upload", "url": "ftp://x"}]')
    with pytest.raises(ValidationError) as raised:
        Settings()  # type: ignore[call-arg]
    line = describe(raised.value)
    assert "GITHUB_REPOSITORY: must be owner/name" in line
    assert "SMTP_URL: SMTP_URL must start with smtp://" in line
    assert "RELEASE_NOTES_TO: not e-mail addresses: nobody" in line
    assert "SUPPORT_CHANNEL_ID: must be a Slack channel ID" in line
    assert "SMOKE_CHECKS:" in line and "upload" in line
    assert "hunter2" not in line


def test_smoke_checks_are_names_for_a_dry_run_or_json_for_real_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMOKE_CHECKS", "asset upload, share view")
    names = Settings()  # type: ignore[call-arg]
    assert names.smoke_check_names == ("asset upload", "share view")
    assert names.http_smoke_checks == ()
    monkeypatch.setenv(
        "SMOKE_CHECKS",
        '[{"name": "share view", "url": "https://portal.example.com/s", "timeout_s": 5}]',
    )
    real = Settings()  # type: ignore[call-arg]
    [check] = real.http_smoke_checks
    assert (check.name, check.method, check.expect_status, check.timeout_s) == (
        "share view",
        "GET",
        200,
        5,
    )


def test_with_no_credentials_every_integration_runs_dry(
    tmp_path: Path,
) -> None:
    from bot import connect

    settings = Settings.model_validate(
        {"slack_bot_token": "x", "slack_signing_secret": "y", "release_channel_id": "C0123ABCD"}
    )
    wired = connect.integrations(settings)
    assert wired.dry == ("GitHub", "Vercel", "smoke tests")
    assert wired.dry_run and wired.regression is None and wired.mailer is None
    real = connect.integrations(
        Settings.model_validate(
            {
                "slack_bot_token": "x",
                "slack_signing_secret": "y",
                "release_channel_id": "C0123ABCD",
                "github_token": "t",
                "github_repository": "acme/portal",
                "vercel_token": "v",
                "vercel_project_id": "prj_1",
            }
        )
    )
    assert real.dry == ("smoke tests",) and real.regression is not None and not real.dry_run


def test_github_and_vercel_are_configured_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vercel builds what GitHub branched: one without the other would lie or stall."""
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/portal")
    with pytest.raises(ValidationError) as raised:
        Settings()  # type: ignore[call-arg]
    assert "GitHub and Vercel work together: set VERCEL_TOKEN and VERCEL_PROJECT_ID too" in (
        describe(raised.value)
    )


def test_a_build_older_than_the_database_stops_with_one_line(tmp_path: Path) -> None:
    """A newer build migrated the database; this one neither starts nor migrates it."""
    import sqlite3

    from bot.console.fake_slack import FakeSlack

    url = f"sqlite:///{tmp_path}/newer.sqlite3"
    migrate = [sys.executable, "-m", "bot.cli", "migrate"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": url}
    subprocess.run(migrate, env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    with sqlite3.connect(tmp_path / "newer.sqlite3") as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")

    again = subprocess.run(
        migrate, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    fake = FakeSlack(bot_token="xoxb-1")
    fake.start()
    try:
        started = _start(tmp_path, {**GOOD, "SLACK_API_URL": fake.api_url, "DATABASE_URL": url})
    finally:
        fake.stop()
    for result in (again, started):
        assert result.returncode == 2, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last == (
            "release-bot: the database's schema (0099) is newer than this build's (0012); "
            "deploy a build at least as new"
        )
        assert "Traceback" not in result.stderr


def test_a_port_already_taken_stops_start_up_with_one_line(tmp_path: Path) -> None:
    import socket

    from bot.console.fake_slack import FakeSlack

    fake = FakeSlack(bot_token="xoxb-1")
    fake.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            result = _start(
                tmp_path,
                {
                    **GOOD,
                    "SLACK_API_URL": fake.api_url,
                    "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                    "HOST": "127.0.0.1",
                    "PORT": str(port),
                },
            )
        finally:
            fake.stop()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"release-bot: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in result.stderr

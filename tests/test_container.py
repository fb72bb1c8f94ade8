"""The container image and the two-instance compose trial.

Everywhere: the Dockerfile runs the Procfile's `web:` command as a user that is not root, its
HEALTHCHECK command passes against the real bot and fails once the bot is gone, and
compose.yaml runs two instances on one PostgreSQL after a one-shot `migrate`.
Where a Docker daemon answers (and `REQUIRE_DOCKER=1` makes its absence a failure): the image
is built and run, and `docker compose config` reads compose.yaml.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.console.fake_slack import FakeSlack
from tests.processes import (
    CHANNEL,
    ROOT,
    SECRET,
    free_port,
    launch,
    stop,
    wait_healthy,
)

REQUIRE_DOCKER = os.environ.get("REQUIRE_DOCKER") == "1"


# -- reading the Dockerfile, the Procfile and compose.yaml ------------------------------------


def dockerfile_stage(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """The instructions of the Dockerfile's last stage (the image), as (INSTRUCTION, args):
    continuation lines joined, comments dropped, as Docker reads them."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            keyword, _, args = whole.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def last(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [args for kw, args in stage if kw == keyword]
    assert found, f"the image's stage of the Dockerfile has no {keyword}"
    return found[-1]


def command_line(args: str) -> list[str]:
    """A CMD as Docker runs it: exec form (a JSON list) as is, shell form through /bin/sh."""
    if args.startswith("["):
        argv = json.loads(args)
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
        return [str(a) for a in argv]
    return ["/bin/sh", "-c", args]


def image_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    """The image's ENV (the `KEY=value …` form)."""
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for pair in shlex.split(args):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV {args!r}: write KEY=value"
                env[key] = value
    return env


def health_check() -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options (`--timeout` → `5s`) and its command line."""
    args = last(dockerfile_stage(), "HEALTHCHECK")
    match = re.fullmatch(r"((?:--[\w-]+=\S+\s+)*)CMD\s+(.+)", args, re.DOTALL)
    assert match, f"HEALTHCHECK {args!r} is not `[OPTIONS] CMD command`"
    options = dict(option.split("=", 1) for option in match.group(1).split())
    return options, command_line(match.group(2))


def seconds(duration: str) -> float:
    """A Docker duration such as `5s`, `1m30s`."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration}"
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * unit[u] for n, u in parts)


def procfile() -> dict[str, str]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def published(port: object) -> tuple[int, int]:
    """(host port, container port) of one `ports:` entry, short or long syntax."""
    if isinstance(port, dict):
        return int(port["published"]), int(port["target"])
    *_, host, container = str(port).split(":")
    return int(host), int(container.split("/")[0])


def built_from(service: dict[str, Any]) -> Path:
    build = service["build"]
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (build["context"], build.get("dockerfile", "Dockerfile"))
    )
    return (ROOT / context / dockerfile).resolve()


def as_argv(command: object) -> list[str]:
    return [str(c) for c in command] if isinstance(command, list) else shlex.split(str(command))


# -- everywhere ----------------------------------------------------------------------------------


def test_the_image_runs_the_procfile_web_command_and_the_release_phase_is_migrate() -> None:
    stage = dockerfile_stage()
    assert command_line(last(stage, "CMD")) == shlex.split(procfile()["web"])
    assert not [kw for kw, _ in stage if kw == "ENTRYPOINT"], "an ENTRYPOINT would wrap the CMD"
    assert shlex.split(procfile()["release"]) == ["release-bot", "migrate"]
    # The file the command names is copied into the image's working directory.
    assert last(stage, "WORKDIR")
    assert any(kw == "COPY" and args.split()[0] == "app.py" for kw, args in stage)


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    stage = dockerfile_stage()
    user = last(stage, "USER").split(":")[0]
    assert user not in ("root", "0", ""), f"USER {user}"
    # Nothing after it switches back (a RUN as that user is fine).
    after = stage[max(i for i, (kw, _) in enumerate(stage) if kw == "USER") :]
    assert [args for kw, args in after if kw == "USER"] == [last(stage, "USER")]


def test_the_image_listens_on_every_interface_on_the_port_it_exposes(tmp_path: Path) -> None:
    stage = dockerfile_stage()
    env = image_env(stage)
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 (a container is reached from outside it)
    assert env["PORT"] in last(stage, "EXPOSE").split()
    # The bot's own settings read them from the environment, as the image sets them.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.settings import Settings; s = Settings(); print(s.host, s.port)",
        ],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": "xoxb-container",
            "SLACK_SIGNING_SECRET": SECRET,
            "RELEASE_CHANNEL_ID": CHANNEL,
            "HOST": env["HOST"],
            "PORT": env["PORT"],
        },
        cwd=tmp_path,  # no .env here
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [env["HOST"], env["PORT"]]


def _run_health_check(port: int) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK's command line as Docker runs it in the image: `python` is the one on
    PATH (here this test's interpreter), PORT from the environment, within its --timeout."""
    options, argv = health_check()
    return subprocess.run(
        argv,
        env={
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PORT": str(port),
        },
        capture_output=True,
        text=True,
        timeout=seconds(options["--timeout"]),
    )


def test_the_health_check_passes_against_the_bot_and_fails_once_it_stops(
    tmp_path: Path, fake: FakeSlack
) -> None:
    options, argv = health_check()
    assert "/healthz" in " ".join(argv)
    assert "curl" not in argv[0] and "wget" not in argv[0], "the slim image has neither"
    assert seconds(options["--timeout"]) < seconds(options["--interval"])
    # tests.processes.launch starts `python app.py` in the repository, as the Procfile does.
    assert shlex.split(procfile()["web"]) == ["python", "app.py"], (
        "the Procfile's web command changed: start that command here instead of launch()"
    )
    port = free_port()  # nobody else answers on it once the bot stops
    process = launch(
        tmp_path, fake, DATABASE_URL=f"sqlite:///{tmp_path}/bot.sqlite3", PORT=str(port)
    )
    try:
        wait_healthy(process, port)
        healthy = _run_health_check(port)
    finally:
        log = stop(process)
    assert healthy.returncode == 0, f"{healthy.stderr}\n--- the bot's log:\n{log}"

    gone = _run_health_check(port)
    assert gone.returncode != 0
    assert "Connection refused" in gone.stderr or "URLError" in gone.stderr, gone.stderr


def test_the_health_check_fails_when_the_bot_answers_503() -> None:
    """/healthz answers 503 when the database is unreachable: that is unhealthy."""

    class Unhealthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = b'{"ok": false, "database": "unreachable"}'
            self.send_response(503 if self.path == "/healthz" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unhealthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = _run_health_check(int(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode != 0
    assert "503" in result.stderr, result.stderr


def test_compose_runs_two_instances_on_one_postgres_after_migrate() -> None:
    services: dict[str, dict[str, Any]] = compose()["services"]

    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:16-alpine")
    assert "pg_isready" in " ".join(as_argv(postgres["healthcheck"]["test"]))
    db = environment(postgres)

    migrate = services["migrate"]
    assert as_argv(migrate["command"]) == shlex.split(procfile()["release"])
    assert built_from(migrate) == ROOT / "Dockerfile"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    bots = {name: s for name, s in services.items() if s.get("ports")}
    assert len(bots) == 2, f"two instances serving HTTP, not {sorted(bots)}"
    urls = {environment(s)["DATABASE_URL"] for s in [migrate, *bots.values()]}
    assert len(urls) == 1, f"migrate and both instances share one database, not {urls}"
    url = make_url(urls.pop())
    assert url.get_backend_name() == "postgresql"
    assert url.host == "postgres"
    assert (url.username, url.password, url.database, url.port) == (
        db["POSTGRES_USER"],
        db["POSTGRES_PASSWORD"],
        db["POSTGRES_DB"],
        5432,
    )

    host_ports = set()
    for name, bot in bots.items():
        assert built_from(bot) == ROOT / "Dockerfile", name
        assert "command" not in bot, f"{name} runs the image's CMD, the Procfile's web command"
        env_files = bot["env_file"] if isinstance(bot["env_file"], list) else [bot["env_file"]]
        assert ".env" in env_files, name
        env = environment(bot)
        assert env["HOST"] == "0.0.0.0", name  # noqa: S104
        (host_port, container_port), *more = [published(p) for p in bot["ports"]]
        assert not more, name
        assert container_port == int(env["PORT"]), name
        host_ports.add(host_port)
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        # The bot takes up to 25 s to stop cleanly after SIGTERM (README: How it is built).
        assert seconds(str(bot["stop_grace_period"])) >= 25, name
    assert len(host_ports) == 2, "each instance on a host port of its own"


# -- where Docker runs -------------------------------------------------------------------------


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args],  # noqa: S607 (the docker client on PATH, as a person runs it)
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _docker_or_skip(*, compose_plugin: bool = False) -> None:
    """Skip (fail with REQUIRE_DOCKER=1) unless a Docker daemon answers, not just the client."""
    reason = ""
    if shutil.which("docker") is None:
        reason = "the docker client is not installed"
    else:
        try:
            info = _docker("info", "--format", "{{.ServerVersion}}", timeout=30)
        except subprocess.TimeoutExpired:
            reason = "`docker info` did not answer within 30 s"
        else:
            if info.returncode != 0:
                why = (info.stderr.strip().splitlines() or ["no output"])[-1]
                reason = f"no Docker daemon answers (`docker info` failed: {why})"
            elif compose_plugin and _docker("compose", "version").returncode != 0:
                reason = "the docker compose plugin is not installed"
    if reason:
        if REQUIRE_DOCKER:
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """The image, built from the repository's Dockerfile."""
    _docker_or_skip()
    tag = f"release-bot-test:{uuid.uuid4().hex[:10]}"
    built = _docker("build", "--tag", tag, str(ROOT), timeout=1800)
    if built.returncode != 0:
        pytest.fail(f"docker build failed:\n{built.stdout[-4000:]}\n{built.stderr[-4000:]}")
    yield tag
    _docker("image", "rm", "--force", tag)


def test_the_built_image_is_what_the_dockerfile_says(image: str) -> None:
    inspected = _docker("image", "inspect", "--format", "{{json .Config}}", image)
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)
    assert config["Cmd"] == shlex.split(procfile()["web"])
    assert not config.get("Entrypoint")
    _, argv = health_check()
    assert config["Healthcheck"]["Test"] == ["CMD", *argv]
    assert f"{image_env(dockerfile_stage())['PORT']}/tcp" in config["ExposedPorts"]


def test_the_image_runs_as_a_user_that_is_not_root_and_has_the_cli(image: str) -> None:
    uid = _docker("run", "--rm", image, "id", "-u")
    assert uid.returncode == 0, uid.stderr
    assert int(uid.stdout) != 0

    cli = _docker("run", "--rm", image, "release-bot", "--help")
    assert cli.returncode == 0, cli.stderr
    assert "migrate" in cli.stdout and "serve" in cli.stdout


def test_the_image_starts_the_bot_and_migrates_in_its_working_directory(image: str) -> None:
    # Its CMD is the bot: with no settings it stops with the one-line configuration error.
    bare = _docker("run", "--rm", image)
    assert bare.returncode == 2, bare.stdout + bare.stderr
    assert "configuration error: " in bare.stderr and "SLACK_BOT_TOKEN is missing" in bare.stderr
    # The default SQLite file lives in the working directory: the user can write it.
    migrated = _docker("run", "--rm", image, "release-bot", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is at the newest schema" in migrated.stderr


def test_the_container_turns_healthy_against_a_fake_slack(image: str, fake: FakeSlack) -> None:
    info = _docker("info", "--format", "{{.OperatingSystem}}")
    if "Docker Desktop" in info.stdout:
        pytest.skip("host networking (to reach the fake Slack on loopback) needs a Linux engine")
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "RELEASE_CHANNEL_ID": CHANNEL,
        "DATABASE_URL": "sqlite:////tmp/release_bot.sqlite3",
        "PORT": str(port),
    }
    name = f"release-bot-test-{uuid.uuid4().hex[:10]}"
    flags = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    started = _docker(
        "run", "--detach", "--name", name, "--network", "host", "--health-interval", "1s",
        *flags, image,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 120
        status = ""
        while status != "healthy" and time.monotonic() < deadline:
            state = json.loads(_docker("inspect", "--format", "{{json .State}}", name).stdout)
            assert state["Running"], _docker("logs", name).stderr
            status = state.get("Health", {}).get("Status", "")
            time.sleep(1)
        assert status == "healthy", _docker("logs", name).stderr
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {
            "ok": True,
            "database": "ok",
        }
    finally:
        logs = _docker("logs", name)
        _docker("rm", "--force", name)
    assert fake.bot_token not in logs.stdout + logs.stderr


def test_docker_compose_reads_compose_yaml(tmp_path: Path) -> None:
    _docker_or_skip(compose_plugin=True)
    # compose.yaml needs a .env beside it: run it from a copy with .env.example as .env.
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    config = _docker(
        "compose", "--file", str(tmp_path / "compose.yaml"), "config", "--format", "json"
    )
    assert config.returncode == 0, config.stderr
    services = json.loads(config.stdout)["services"]
    bots = [s for s in services.values() if s.get("ports")]
    assert len(bots) == 2
    assert {str(p["published"]) for b in bots for p in b["ports"]} == {"3001", "3002"}
    assert {b["environment"]["DATABASE_URL"] for b in bots} == {
        services["migrate"]["environment"]["DATABASE_URL"]
    }
    for bot in bots:
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"

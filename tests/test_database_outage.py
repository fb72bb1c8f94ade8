"""A PostgreSQL outage in the middle of a release step: the step runs again once it is back."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.console.fake_slack import FakeSlack
from bot.console.simulator import SlackSimulator
from tests.conftest import REQUIRE_POSTGRES
from tests.processes import CHANNEL, SECRET, free_port, launch, stop, wait_healthy

pytestmark = pytest.mark.postgres


class Cluster:
    """A PostgreSQL cluster of the test's own, on a port of its own, that it can stop."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries or os.geteuid() != 0 or shutil.which("runuser") is None:
            message = "a throwaway PostgreSQL cluster needs root, runuser and pg_ctl"
            if REQUIRE_POSTGRES:
                pytest.fail(message)
            pytest.skip(message)
        self.bin = Path(binaries[-1]).parent
        self.home = Path(tempfile.mkdtemp(prefix="release-bot-pg-"))
        self.home.chmod(0o755)
        self.data = self.home / "data"
        self.data.mkdir()
        shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            [str(shutil.which("runuser")), "-u", "postgres", "--", *command],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        log = str(self.data / "server.log")  # the server must not hold our pipes open
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    made = Cluster()
    made.start()
    try:
        yield made
    finally:
        made.remove()


def test_a_database_outage_mid_step_repeats_that_step_once_it_is_back(
    tmp_path: Path, cluster: Cluster
) -> None:
    fake = FakeSlack(bot_token="xoxb-outage")
    fake.start()
    port = free_port()
    process = launch(
        tmp_path,
        fake,
        PORT=str(port),
        DATABASE_URL=cluster.url,
        DRY_RUN_DEPLOY_SECONDS="4",
        SCHEDULER_TICK_SECONDS="3600",
        JOB_LEASE_SECONDS="3",
    )
    log = ""
    try:
        wait_healthy(process, port)
        sim = SlackSimulator(f"http://127.0.0.1:{port}/slack/events", SECRET, fake, CHANNEL)

        def said(fragment: str) -> list[str]:
            return [m.text for m in fake.channel_messages(CHANNEL) if fragment in m.text]

        sim.command("UADMIN", "role add <@UMANAGER> release_manager")
        fake.wait_for(lambda: said("granted <@UMANAGER>"))
        sim.command("UMANAGER", "start v1.4.0")
        fake.wait_for(lambda: said("started *v1.4.0*"))
        time.sleep(1)  # inside the 4-second staging deploy
        cluster.stop()  # the deploy finishes while nothing can be recorded
        time.sleep(5)
        assert process.poll() is None, "the bot must ride out a database outage"
        cluster.start()
        fake.wait_for(lambda: said("*v1.4.0* is on staging"), timeout=60)
        time.sleep(1)
        assert len(said("*v1.4.0* is on staging")) == 1
        engine = create_engine(cluster.url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            state = conn.execute(text("SELECT state FROM releases")).scalar_one()
            deploys = conn.execute(
                text("SELECT COUNT(*) FROM artefacts WHERE kind = 'staging_deploy'")
            ).scalar_one()
        engine.dispose()
        assert (state, deploys) == ("staging", 1)
        sim.close()
    finally:
        log = stop(process)
        fake.stop()
    assert "Traceback" not in log, log

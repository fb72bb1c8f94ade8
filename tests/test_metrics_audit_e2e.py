"""`/release metrics` and `/release audit`, as the people who ask for them see the answers."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from bot.console.fake_slack import UploadedFile
from bot.console.local import CHANNEL_ID
from tests.harness import MANAGER, QA, RELIABILITY, SECURITY, Harness


def test_metrics_report_each_figure_against_its_target(database_url: str) -> None:
    bot = Harness.start(database_url)
    try:
        bot.run(QA, "metrics")
        empty = bot.wait_told(QA, "*Delivery metrics, last 30 days*").text
        assert ":x: *Deployment frequency*: 0.0 a week (0 deploys in 30 days)" in empty
        assert ":heavy_minus_sign: *Change failure rate*: no deploys" in empty
        bot.released("v1.4.0")
        bot.fake.wait_quiet()
        bot.released("v1.5.0")
        bot.run(RELIABILITY, "incident open v1.5.0 uploads fail")
        bot.wait_said("opened incident #1")
        bot.clock.advance(timedelta(minutes=20))
        bot.run(MANAGER, "rollback")
        bot.wait_said(":rewind: *v1.5.0* is rolled back")
        bot.clock.advance(timedelta(minutes=1))  # (the window ends just before "now")
        bot.run(QA, "metrics 90d")
        report = bot.wait_told(QA, "*Delivery metrics, last 90 days*").text
        assert "*Deployment frequency*: 0.2 a week (2 deploys in 90 days)" in report
        assert ":x: *Change failure rate*: 50 % (1 of 2)" in report
        assert ":white_check_mark: *Mean time to restore*: 20 min (1 restored)" in report
        response = bot.run(QA, "metrics 7d")
        assert "Say `30d` or `90d`" in response.json()["text"]
    finally:
        bot.stop()


def test_the_audit_export_uploads_the_whole_trail_as_csv_and_json(database_url: str) -> None:
    bot = Harness.start(database_url)
    try:
        bot.released("v1.4.0")
        bot.run(QA, "audit v1.4.0")
        bot.wait_told(QA, "Only a Release Manager, a Security or a Reliability Partner")
        recorded = bot.rows(
            "SELECT COUNT(*) FROM audit_events a JOIN releases r ON r.id = a.release_id "
            "WHERE r.version = 'v1.4.0'"
        )[0][0]
        bot.run(SECURITY, "audit v1.4.0")

        def both() -> list[UploadedFile] | None:
            files = bot.fake.files_in(CHANNEL_ID)
            return files if len(files) == 2 else None

        files = bot.fake.wait_for(both)
        by_name = {f.filename: f for f in files}
        rows = list(csv.reader(io.StringIO(by_name["audit-v1.4.0.csv"].content.decode())))
        assert rows[0] == ["at", "actor", "action", "details"]
        assert len(rows) - 1 == recorded
        assert [r[2] for r in rows[1:3]] == ["command.start", "transition"]
        exported = json.loads(by_name["audit-v1.4.0.json"].content)
        assert exported["release"] == "v1.4.0" and len(exported["events"]) == recorded
        kinds = {a["kind"] for a in exported["artefacts"]}
        assert {"staging_deploy", "regression_report", "production_deploy", "smoke_tests"} <= kinds
        assert f"exported the audit trail of *v1.4.0*: {recorded} events" in (
            by_name["audit-v1.4.0.csv"].comment
        )
        assert bot.rows(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'command.audit_export'"
        ) == [(1,)]
    finally:
        bot.stop()

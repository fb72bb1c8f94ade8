"""`/release audit v1.4.0`: a release's whole audit trail, as CSV and JSON files."""

from __future__ import annotations

import csv
import io
import json

from commands.context import Context
from commands.outcome import UPLOAD_LIMIT
from commands.parser import AuditExport
from release.audit import AuditAction
from release.permissions import Action
from release.records import AuditEntry

COLUMNS = ("at", "actor", "action", "details")


def export(ctx: Context, command: AuditExport) -> None:
    version = str(command.version)
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.AUDIT_EXPORT):
            return
        release = uow.release(version)
        if release is None:
            ctx.conversation.reply(f"There is no release {version}.")
            return
        trail = uow.trail(release.id, version)
        artefacts = uow.artefacts(release.id)
        stem = f"audit-{version}"
        comment = (
            f"<@{ctx.actor}> exported the audit trail of *{version}*: {len(trail)} events and "
            f"{len(artefacts)} artefacts, as of {ctx.when(ctx.clock.now())}."
        )
        table, document = as_csv(trail), as_json(version, trail, artefacts)
        if max(len(table.encode()), len(document.encode())) > UPLOAD_LIMIT:
            ctx.conversation.reply(
                f"The audit trail of {version} is larger than the {UPLOAD_LIMIT // 2**20} MB "
                "the bot uploads, so nothing was uploaded: an operator can export it from the "
                "database (table `audit_events`)."
            )
            return
        uow.audit(ctx.actor, AuditAction.COMMAND_AUDIT_EXPORT, release.id, events=len(trail))
        ctx.conversation.upload(
            f"{stem}.csv", table, title=f"Audit trail of {version} (CSV)", comment=comment
        )
        ctx.conversation.upload(
            f"{stem}.json", document, title=f"Audit trail of {version} (JSON, with artefacts)"
        )


def as_csv(trail: list[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in trail:
        writer.writerow(
            [
                entry.at.isoformat(),
                _cell(entry.actor),
                _cell(entry.action),
                _cell(json.dumps(entry.details, sort_keys=True, default=str)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet shows a cell starting with = + - @ as a formula: keep it text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_json(version: str, trail: list[AuditEntry], artefacts: list[dict[str, object]]) -> str:
    return json.dumps(
        {
            "release": version,
            "events": [
                {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "details": e.details}
                for e in trail
            ],
            "artefacts": artefacts,
        },
        indent=2,
        default=str,
    )

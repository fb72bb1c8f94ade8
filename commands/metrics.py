"""`/release metrics [30d|90d]`: delivery against the policy's targets."""

from __future__ import annotations

from datetime import timedelta

from commands.context import Context
from commands.parser import Metrics
from release.metrics import DeliveryMetrics, verdicts
from release.permissions import Action

MARK = {True: ":white_check_mark:", False: ":x:", None: ":heavy_minus_sign:"}


def metrics(ctx: Context, command: Metrics) -> None:
    until = ctx.clock.now()
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.METRICS):
            return
        measured = uow.delivery_metrics(
            until - timedelta(days=command.days), until, sprint=ctx.policy.sprint
        )
    ctx.conversation.reply(report(measured, command.days))


def report(measured: DeliveryMetrics, days: int) -> str:
    lines = [f"*Delivery metrics, last {days} days*"]
    for verdict in verdicts(measured):
        target = "no target" if verdict.target == "no target" else f"target: {verdict.target}"
        lines.append(f"{MARK[verdict.met]} *{verdict.name}*: {verdict.shown} ({target})")
    return "\n".join(lines)

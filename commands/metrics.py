"""`/release metrics [30d|90d]`: delivery against the policy's targets."""

from __future__ import annotations

from datetime import timedelta

from commands.context import Context
from commands.parser import Metrics
from release.metrics import DeliveryMetrics, Verdict, verdicts
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
    lines += [verdict_line(v) for v in verdicts(measured)]
    return "\n".join(lines)


def verdict_line(verdict: Verdict) -> str:
    """One metric, its mark and its target, as every surface shows it."""
    target = "no target" if verdict.target == "no target" else f"target: {verdict.target}"
    return f"{MARK[verdict.met]} *{verdict.name}*: {verdict.shown} ({target})"

"""`/release help`: every command the bot understands."""

from __future__ import annotations

from commands.context import Context
from commands.parser import USAGE, Help

_WHAT = {
    "start": "start a release: branch, version bump, staging deploy (Release Manager)",
    "status": "where a release stands and its recent history; no version: every open release",
    "regression": "record the staging regression result with its report (QA)",
    "review": "open a fresh readiness review (Release Manager)",
    "cancel": "cancel a release before it deploys (Release Manager)",
    "promote": "promote the release that passed staging to production, if every gate passes "
    "(Release Manager)",
    "check": "run every promotion gate and report each, without acting",
    "unlock": "clear a stuck production deploy lock; `--force` while its deploy still runs "
    "(Release Manager; announced and audited)",
    "rollback": "restore the production deployment that came before a release; no version: "
    "the release production serves now (Release Manager; announced and audited)",
    "hotfix": "start a hotfix of what is in production; a Reliability Partner and a Client "
    "Success Lead approve it, then it may be promoted at any time (Release Manager)",
    "freeze": "schedule a freeze with two weeks' notice (Release Manager; a Reliability "
    "Partner may give shorter notice), list freezes, cancel one",
    "role": "grant or revoke a role (Admin); list who holds what (anyone)",
    "flag": "register a feature flag with its scope (a tenant: Admin or Agency; a role, "
    "`role:qa`; or a percentage, `10%`) and rollback plan, launch it for everyone (removal "
    "due two sprints later), remove it (Release Manager); list them, overdue ones marked "
    "(anyone)",
    "metrics": "deployment frequency, change failure rate, time to restore, lead time and flag "
    "lifetime over 30 or 90 days, each against its target (anyone)",
    "audit": "the release's whole audit trail and artefacts as CSV and JSON files (Release "
    "Manager, Security, Reliability Partner)",
    "incident": "open an incident against the release that caused it, resolve it when "
    "service is restored (Release Manager or Reliability Partner)",
    "help": "this list",
}


def help_text() -> str:
    lines = ["*/release commands*"]
    lines += [f"• `{USAGE[name]}`: {what}" for name, what in _WHAT.items()]
    lines.append(
        "Readiness reviews are signed with the Approve and Reject buttons on the review "
        "message (Technical Lead, QA, Client Success Lead, Security)."
    )
    return "\n".join(lines)


def show_help(ctx: Context, _command: Help) -> None:
    ctx.conversation.reply(help_text())

"""Turns the text after `/release` into a command, or a usage message. Never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from commands.text import MAX_TEXT, plain, too_long
from release.flags import FlagScope
from release.roles import Role
from release.versions import Version, parse_version

# Slack escapes a mention as <@U123|name> or <@U123> (older clients and bots).
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# Slack wraps links as <https://…> or <https://…|label>.
_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")
_BARE_URL = re.compile(r"https?://[^\s<>|]+")  # no `|` or `>`: it could disguise the link


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Start:
    version: Version


@dataclass(frozen=True)
class Status:
    version: Version | None


@dataclass(frozen=True)
class Regression:
    version: Version
    passed: bool
    report_url: str


@dataclass(frozen=True)
class OpenReview:
    version: Version


@dataclass(frozen=True)
class Cancel:
    version: Version
    reason: str


@dataclass(frozen=True)
class Promote:
    version: Version


@dataclass(frozen=True)
class RoleAdd:
    user_id: str
    role: Role


@dataclass(frozen=True)
class RoleRemove:
    user_id: str
    role: Role


@dataclass(frozen=True)
class RoleList:
    pass


@dataclass(frozen=True)
class Check:
    version: Version


@dataclass(frozen=True)
class Unlock:
    reason: str
    force: bool = False  # clear it even while its deploy is alive and renewing it


@dataclass(frozen=True)
class Rollback:
    version: Version | None  # None: the release production serves now


@dataclass(frozen=True)
class Hotfix:
    version: Version
    reason: str


@dataclass(frozen=True)
class FreezeAdd:
    first_day: date
    last_day: date
    reason: str


@dataclass(frozen=True)
class FreezeList:
    pass


@dataclass(frozen=True)
class FreezeCancel:
    freeze_id: int


@dataclass(frozen=True)
class FlagAdd:
    key: str
    scope: FlagScope
    rollback_plan: str


@dataclass(frozen=True)
class FlagLaunch:
    key: str


@dataclass(frozen=True)
class FlagRemove:
    key: str


@dataclass(frozen=True)
class FlagList:
    pass


@dataclass(frozen=True)
class IncidentOpen:
    version: Version
    summary: str


@dataclass(frozen=True)
class IncidentResolve:
    incident_id: int


@dataclass(frozen=True)
class Metrics:
    days: int = 30


@dataclass(frozen=True)
class AuditExport:
    version: Version


@dataclass(frozen=True)
class Usage:
    """The input was not a command; `message` says what would have been."""

    message: str


Command = (
    Help
    | Start
    | Status
    | Regression
    | OpenReview
    | Cancel
    | Promote
    | RoleAdd
    | RoleRemove
    | RoleList
    | Check
    | Unlock
    | Rollback
    | Hotfix
    | FreezeAdd
    | FreezeList
    | FreezeCancel
    | FlagAdd
    | FlagLaunch
    | FlagRemove
    | FlagList
    | IncidentOpen
    | IncidentResolve
    | Metrics
    | AuditExport
)

USAGE: dict[str, str] = {
    "start": "/release start v1.4.0",
    "status": "/release status [v1.4.0]",
    "regression": "/release regression v1.4.0 pass|fail <report-url>",
    "review": "/release review v1.4.0",
    "cancel": "/release cancel v1.4.0 <reason>",
    "promote": "/release promote v1.4.0",
    "check": "/release check v1.4.0",
    "unlock": "/release unlock [--force] <reason>",
    "rollback": "/release rollback [v1.4.0]",
    "hotfix": "/release hotfix v1.4.1 <reason>",
    "freeze": "/release freeze add <YYYY-MM-DD> <YYYY-MM-DD> <reason>   ·   "
    "/release freeze list   ·   /release freeze cancel <id>",
    "role": "/release role add|remove @user <role>   ·   /release role list",
    "flag": "/release flag add <key> <scope> <rollback plan>   ·   /release flag launch <key>"
    "   ·   /release flag remove <key>   ·   /release flag list",
    "incident": "/release incident open v1.4.0 <summary>   ·   /release incident resolve <id>",
    "metrics": "/release metrics [30d|90d]",
    "audit": "/release audit v1.4.0",
    "help": "/release help",
}

_ROLE_NAMES = ", ".join(r.value for r in Role)
C = TypeVar("C")


def _usage(name: str, problem: str) -> Usage:
    return Usage(f"{problem}\nUsage: `{USAGE[name]}`")


def _capped(command: C, text: str) -> C | Usage:
    """`command`, or a refusal when its free text is longer than anyone should type."""
    refusal = too_long(text)
    return command if refusal is None else Usage(refusal)


def _version(name: str, word: str | None) -> Version | Usage:
    if word is None:
        return _usage(name, "Which version?")
    version = parse_version(word)
    if version is None:
        shown = word if len(word) <= 40 else word[:40] + "…"
        return _usage(
            name,
            f"`{shown}` is not a release version: write vMAJOR.MINOR.PATCH, "
            "for example `v1.4.0`, with no leading zeros.",
        )
    return version


def mention(word: str) -> str | None:
    match = _MENTION.fullmatch(word)
    return match.group(1) if match else None


def parse(text: str) -> Command | Usage:
    words = text.split()
    if not words or words[0].lower() == "help":
        return Help()
    name, args = words[0].lower(), words[1:]
    if name == "role":
        return _parse_role(args)
    if name == "status":
        if not args:
            return Status(None)
        if len(args) > 1:
            return _usage(name, "`status` takes at most one version.")
        version = _version(name, args[0])
        return version if isinstance(version, Usage) else Status(version)
    if name == "freeze":
        return _parse_freeze(args)
    if name == "unlock":
        force = bool(args) and args[0] == "--force"
        reason = plain(" ".join(args[1:] if force else args)).strip()
        if not reason:
            return _usage(name, "Say why the lock is cleared.")
        return _capped(Unlock(reason, force=force), reason)
    if name == "rollback":
        if not args:
            return Rollback(None)
        if len(args) > 1:
            return _usage(name, "`rollback` takes at most one version.")
        version = _version(name, args[0])
        return version if isinstance(version, Usage) else Rollback(version)
    if name == "hotfix":
        version = _version(name, args[0] if args else None)
        if isinstance(version, Usage):
            return version
        reason = plain(" ".join(args[1:])).strip()
        if not reason:
            return _usage(name, "Say why it is a hotfix.")
        return _capped(Hotfix(version, reason), reason)
    if name in ("start", "review", "promote", "check"):
        version = _version(name, args[0] if args else None)
        if isinstance(version, Usage):
            return version
        if len(args) > 1:
            return _usage(name, f"`{name}` takes only a version.")
        kinds: dict[str, type[Start | OpenReview | Promote | Check]] = {
            "start": Start,
            "review": OpenReview,
            "promote": Promote,
            "check": Check,
        }
        return kinds[name](version)
    if name == "cancel":
        version = _version(name, args[0] if args else None)
        if isinstance(version, Usage):
            return version
        reason = plain(" ".join(args[1:])).strip()
        if not reason:
            return _usage(name, "Say why the release is cancelled.")
        return _capped(Cancel(version, reason), reason)
    if name == "regression":
        return _parse_regression(args)
    if name in ("flag", "incident", "metrics", "audit"):
        from commands.insight_parser import parse_insight

        return parse_insight(name, args)
    return Usage(
        f"`{words[0][:40]}` is not a `/release` command. Try `/release help` for the list."
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def _parse_freeze(args: list[str]) -> FreezeAdd | FreezeList | FreezeCancel | Usage:
    name = "freeze"
    verb = args[0].lower() if args else ""
    if verb == "list":
        return FreezeList() if len(args) == 1 else _usage(name, "`freeze list` takes nothing more.")
    if verb == "cancel":
        if len(args) != 2 or not args[1].lstrip("#").isdigit() or len(args[1]) > 9:
            return _usage(
                name, "Give the number of the freeze to cancel (see `/release freeze list`)."
            )
        return FreezeCancel(int(args[1].lstrip("#")))
    if verb != "add":
        return _usage(name, "Say `add`, `list` or `cancel`.")
    if len(args) < 3:
        return _usage(name, "Give the first and the last day of the freeze, then the reason.")
    first, last = _day(args[1]), _day(args[2])
    if first is None or last is None:
        bad = args[1] if first is None else args[2]
        return _usage(name, f"`{bad[:40]}` is not a date: write it as YYYY-MM-DD.")
    reason = plain(" ".join(args[3:])).strip()
    if not reason:
        return _usage(name, "Say why the freeze is needed.")
    return _capped(FreezeAdd(first, last, reason), reason)


def _parse_regression(args: list[str]) -> Regression | Usage:
    name = "regression"
    version = _version(name, args[0] if args else None)
    if isinstance(version, Usage):
        return version
    if len(args) < 2 or args[1].lower() not in ("pass", "fail"):
        return _usage(name, "Say whether the regression suite passed: `pass` or `fail`.")
    if len(args) != 3:
        return _usage(name, "Give the link to the regression report, and nothing after it.")
    link = _LINK.fullmatch(args[2])
    url = (link.group(1) if link else args[2]).replace("&amp;", "&")
    if not _BARE_URL.fullmatch(url):
        return _usage(name, "The report must be an http(s) link.")
    if len(url) > MAX_TEXT:
        return Usage(too_long(url, "The report link") or "")
    return Regression(version, args[1].lower() == "pass", url)


def _parse_role(args: list[str]) -> RoleAdd | RoleRemove | RoleList | Usage:
    name = "role"
    if args and args[0].lower() == "list":
        return RoleList() if len(args) == 1 else _usage(name, "`role list` takes nothing more.")
    if not args or args[0].lower() not in ("add", "remove"):
        return _usage(name, "Say `add`, `remove` or `list`.")
    if len(args) != 3:
        return _usage(name, "Name one person and one role.")
    user_id = mention(args[1])
    if user_id is None:
        return _usage(
            name, f"Mention the person with @ (so Slack links them), not `{args[1][:40]}`."
        )
    role = Role.parse(args[2])
    if role is None:
        return _usage(name, f"`{args[2][:40]}` is not a role. Roles: {_ROLE_NAMES}.")
    return RoleAdd(user_id, role) if args[0].lower() == "add" else RoleRemove(user_id, role)

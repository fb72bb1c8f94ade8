"""Turns the text after `/release` into a command, or a usage message. Never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass

from release.roles import Role
from release.versions import Version, parse_version

# Slack escapes a mention as <@U123|name> or <@U123> (older clients and bots).
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# Slack wraps links as <https://…> or <https://…|label>.
_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")
_BARE_URL = re.compile(r"https?://\S+")


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
)

USAGE: dict[str, str] = {
    "start": "/release start v1.4.0",
    "status": "/release status [v1.4.0]",
    "regression": "/release regression v1.4.0 pass|fail <report-url>",
    "review": "/release review v1.4.0",
    "cancel": "/release cancel v1.4.0 <reason>",
    "promote": "/release promote v1.4.0",
    "role": "/release role add|remove @user <role>   ·   /release role list",
    "help": "/release help",
}

_ROLE_NAMES = ", ".join(r.value for r in Role)


def _usage(name: str, problem: str) -> Usage:
    return Usage(f"{problem}\nUsage: `{USAGE[name]}`")


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
    if name in ("start", "review", "promote"):
        version = _version(name, args[0] if args else None)
        if isinstance(version, Usage):
            return version
        if len(args) > 1:
            return _usage(name, f"`{name}` takes only a version.")
        kinds: dict[str, type[Start | OpenReview | Promote]] = {
            "start": Start,
            "review": OpenReview,
            "promote": Promote,
        }
        return kinds[name](version)
    if name == "cancel":
        version = _version(name, args[0] if args else None)
        if isinstance(version, Usage):
            return version
        reason = " ".join(args[1:]).strip()
        if not reason:
            return _usage(name, "Say why the release is cancelled.")
        return Cancel(version, reason)
    if name == "regression":
        return _parse_regression(args)
    return Usage(
        f"`{words[0][:40]}` is not a `/release` command. Try `/release help` for the list."
    )


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
    url = link.group(1) if link else args[2]
    if not _BARE_URL.fullmatch(url):
        return _usage(name, "The report must be an http(s) link.")
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

"""Parsing `/release flag|incident|metrics|audit …`: the policy's insight commands."""

from __future__ import annotations

from commands.parser import (
    AuditExport,
    Command,
    FlagAdd,
    FlagLaunch,
    FlagList,
    FlagRemove,
    IncidentOpen,
    IncidentResolve,
    Metrics,
    Usage,
    _capped,
    _usage,
    _version,
)
from commands.text import plain
from release.flags import KEY, parse_scope


def parse_insight(name: str, args: list[str]) -> Command | Usage:
    if name == "flag":
        return _flag(args)
    if name == "incident":
        return _incident(args)
    if name == "metrics":
        if not args:
            return Metrics()
        if len(args) == 1 and args[0].lower() in ("30d", "90d"):
            return Metrics(int(args[0][:-1]))
        return _usage(name, "Say `30d` or `90d` (or nothing, for 30 days).")
    version = _version(name, args[0] if args else None)
    if isinstance(version, Usage):
        return version
    if len(args) > 1:
        return _usage(name, "`audit` takes only a version.")
    return AuditExport(version)


def _key(name: str, word: str | None) -> str | Usage:
    if word is None:
        return _usage(name, "Which flag? Give its key.")
    if not KEY.fullmatch(word):
        return _usage(
            name,
            f"`{word[:40]}` is not a flag key: lower-case letters, digits, `.`, `_` and `-`, "
            "at most 64 characters.",
        )
    return word


def _flag(args: list[str]) -> Command | Usage:
    name = "flag"
    verb = args[0].lower() if args else ""
    if verb == "list":
        return FlagList() if len(args) == 1 else _usage(name, "`flag list` takes nothing more.")
    if verb in ("launch", "remove"):
        key = _key(name, args[1] if len(args) > 1 else None)
        if isinstance(key, Usage):
            return key
        if len(args) > 2:
            return _usage(name, f"`flag {verb}` takes only the flag's key.")
        return FlagLaunch(key) if verb == "launch" else FlagRemove(key)
    if verb != "add":
        return _usage(name, "Say `add`, `launch`, `remove` or `list`.")
    key = _key(name, args[1] if len(args) > 1 else None)
    if isinstance(key, Usage):
        return key
    if len(args) < 3:
        return _usage(name, "Give the flag's scope: a tenant, a role or a percentage.")
    scope = parse_scope(args[2])
    if isinstance(scope, str):
        return _usage(name, scope)
    plan = plain(" ".join(args[3:])).strip()
    if not plan:
        return _usage(name, "Every flag needs a rollback plan: say how it is turned back.")
    return _capped(FlagAdd(key, scope, plan), plan)


def _incident(args: list[str]) -> Command | Usage:
    name = "incident"
    verb = args[0].lower() if args else ""
    if verb == "resolve":
        if len(args) != 2 or not args[1].lstrip("#").isdigit() or len(args[1]) > 9:
            return _usage(name, "Give the number of the incident to resolve.")
        return IncidentResolve(int(args[1].lstrip("#")))
    if verb != "open":
        return _usage(name, "Say `open` or `resolve`.")
    version = _version(name, args[1] if len(args) > 1 else None)
    if isinstance(version, Usage):
        return version
    summary = plain(" ".join(args[2:])).strip()
    if not summary:
        return _usage(name, "Say what is failing in production.")
    return _capped(IncidentOpen(version, summary), summary)

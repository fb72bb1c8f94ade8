"""A local stand-in for LaunchDarkly's REST API: the feature flags of one project.

It answers the calls the bot's LaunchDarkly client makes, with LaunchDarkly's shapes (copied,
trimmed, from its API reference and public docs): get a flag (GET
/api/v2/flags/{projectKey}/{flagKey}?env=…), create one (POST /api/v2/flags/{projectKey},
201, or 409 when the key is taken) and update one (PATCH /api/v2/flags/{projectKey}/{flagKey})
either by a semantic patch (`Content-Type: application/json; domain-model=launchdarkly.
semanticpatch`, `{"environmentKey", "instructions": [{"kind": …}], "comment"}`) or by a JSON
patch (`{"patch": [{"op", "path", "value"}]}`; only the flag's top-level settings such as
`/archived`). The token goes as it is in `Authorization`, without "Bearer".

Flags are kept as LaunchDarkly keeps them: variations with `_id`s, `archived`, and per
environment `on`, `rules` (clauses, and a variation index or a rollout) and `fallthrough`
(a variation index or a rollout, weights in thousandths of a percent). Tests read what a flag
serves with `served_to` (evaluated as LaunchDarkly's SDKs would, rollouts summed up as
"25% true"), seed flags with `add_flag`, and make the API fail every way HTTP can:
`fail_next`, `fail_always` / `heal`, `hang_next` and `reset_next`. Every request is recorded in
`calls`, failed or not; every patch that arrived (applied or not) in `patches`.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import unquote

from tests.fakes.loopback import LoopbackApi, Query, Reply, Request

SEMANTIC_PATCH = "domain-model=launchdarkly.semanticpatch"

UNAUTHORIZED = {"code": "unauthorized", "message": "Invalid access token"}
NO_PROJECT = {"code": "not_found", "message": "Unknown project"}
NO_FLAG = {"code": "not_found", "message": "Unknown feature flag"}
NO_ENVIRONMENT = {"code": "not_found", "message": "Unknown environment"}
NO_ROUTE = {"code": "not_found", "message": "Not Found"}

#: Instructions that change one environment's targeting: they need `environmentKey`.
ENVIRONMENT_KINDS = frozenset(
    {
        "turnFlagOn",
        "turnFlagOff",
        "replaceRules",
        "updateFallthroughVariationOrRollout",
        "updateOffVariation",
    }
)
#: Instructions about the flag in every environment.
FLAG_KINDS = frozenset({"archiveFlag", "restoreFlag", "updateDescription", "updateName"})
#: Clause operators (LaunchDarkly's; the fake evaluates only `in`).
OPERATORS = frozenset(
    {
        "in",
        "endsWith",
        "startsWith",
        "matches",
        "contains",
        "lessThan",
        "lessThanOrEqual",
        "greaterThan",
        "greaterThanOrEqual",
        "before",
        "after",
        "segmentMatch",
        "semVerEqual",
        "semVerLessThan",
        "semVerGreaterThan",
    }
)
#: Top-level settings a JSON patch may replace here (the rest is beyond this fake).
PATCHABLE = {
    "/archived": bool,
    "/deprecated": bool,
    "/temporary": bool,
    "/name": str,
    "/description": str,
}
WHOLE = 100_000  # a rollout's weights add up to 100%, in thousandths of a percent
MAINTAINER = "569f183514f4432160000007"


class _Invalid(Exception):
    """A request LaunchDarkly would refuse with 400; nothing of it is applied."""


@dataclass
class _Environment:
    on: bool = False
    rules: list[dict[str, Any]] = field(default_factory=list)
    fallthrough: dict[str, Any] = field(default_factory=lambda: {"variation": 0})
    off_variation: int = 1
    version: int = 1
    last_modified: int = 0


@dataclass
class _Flag:
    key: str
    name: str
    description: str
    variations: list[dict[str, Any]]
    environments: dict[str, _Environment]
    temporary: bool = True
    tags: list[str] = field(default_factory=list)
    archived: bool = False
    deprecated: bool = False
    version: int = 1
    created: int = 0
    client_side: dict[str, bool] = field(
        default_factory=lambda: {"usingEnvironmentId": False, "usingMobileKey": False}
    )
    defaults: dict[str, int] = field(default_factory=lambda: {"onVariation": 0, "offVariation": 1})


class FakeLaunchDarkly(LoopbackApi[Request]):
    def __init__(
        self,
        token: str = "api-2f7c1d4e-8b9a-4c3d-9e1f-0a1b2c3d4e5f",  # noqa: S107 (a stand-in)
        project_key: str = "portal",
        environments: tuple[str, ...] = ("production", "test"),
        *,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.token = token
        self.project_key = project_key
        self.environments = environments
        self._random = random.Random(seed)  # ids differ per flag and rule, not per run
        self._flags: dict[str, _Flag] = {}
        #: Every PATCH that reached the API (after auth): flag key, Content-Type, body.
        self.patches: list[tuple[str, str, Any]] = []

    # -- flags, as tests seed and read them ------------------------------------------------

    def add_flag(
        self,
        key: str,
        *,
        description: str = "",
        values: tuple[Any, ...] = (True, False),
        archived: bool = False,
    ) -> dict[str, Any]:
        """A flag made in LaunchDarkly's own UI (or by an earlier run): off everywhere."""
        with self._lock:
            self._flags[key] = self._new_flag(
                key, key, description, [{"value": v} for v in values], temporary=True
            )
            self._flags[key].archived = archived
            return self._view(self._flags[key], None)

    def flag(self, key: str, environment: str | None = None) -> dict[str, Any]:
        """The flag as GET shows it (every environment's targeting, or `environment`'s);
        KeyError when there is none."""
        with self._lock:
            return self._view(self._flags[key], environment)

    def has_flag(self, key: str) -> bool:
        with self._lock:
            return key in self._flags

    def served_to(
        self,
        key: str,
        *,
        tenant: str | None = None,
        role: str | None = None,
        environment: str | None = None,
    ) -> bool | str:
        """What the flag serves in `environment` (the first one by default) to a context with
        this tenant and role: a variation's value, or a rollout's share of `true` as
        "25% true". An archived flag serves nothing: "archived"."""
        with self._lock:
            flag = self._flags[key]
            if flag.archived:
                return "archived"
            env = flag.environments[environment or self.environments[0]]
            values = [v["value"] for v in flag.variations]
            if not env.on:
                return _value(values, {"variation": env.off_variation})
            attributes = {"tenant": tenant, "role": role}
            for rule in env.rules:
                if all(_matches(clause, attributes) for clause in rule["clauses"]):
                    return _value(values, rule)
            return _value(values, env.fallthrough)

    def count(self, method: str, path_part: str) -> int:
        """How many `method` requests whose path contains `path_part` arrived."""
        with self._lock:
            return sum(m == method and path_part in p for m, p, _ in self.calls)

    # -- the HTTP side ----------------------------------------------------------------

    content_type = "application/json"

    def _call(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Request:
        return method, path, query

    def _error(self, status: int) -> dict[str, Any]:
        if status == 429:
            return {
                "code": "rate_limited",
                "message": "You've exceeded the API rate limit. Try again later.",
            }
        if status >= 500:
            return {"code": "internal_server_error", "message": "An internal error occurred"}
        if status == 401:
            return UNAUTHORIZED
        if status == 403:
            return {"code": "forbidden", "message": "Access to the requested resource was denied"}
        if status == 404:
            return NO_ROUTE
        return {"code": "invalid_request", "message": "Bad request"}

    def _answer(self, method: str, path: str, query: Query, headers: Message, raw: bytes) -> Reply:
        content_type = headers.get("Content-Type") or ""
        # LaunchDarkly takes the token bare, no "Bearer".
        if headers.get("Authorization") != self.token:
            return Reply(401, UNAUTHORIZED)
        match = re.fullmatch(r"/api/v2/flags/([^/]+)(?:/([^/]+))?", path)
        if match is None:
            return Reply(404, NO_ROUTE)
        project, key = unquote(match[1]), match[2] and unquote(match[2])
        if project != self.project_key:
            return Reply(404, NO_PROJECT)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _invalid("the request body is not JSON")
        if key is None:
            if method == "POST":
                return self._create(body)
            return Reply(405, {"code": "method_not_allowed", "message": "Method Not Allowed"})
        flag = self._flags.get(key)
        if method == "GET":
            if flag is None:
                return Reply(404, NO_FLAG)
            return Reply(200, self._view(flag, query.get("env")))
        if method == "PATCH":
            self.patches.append((key, content_type, copy.deepcopy(body)))
            if flag is None:
                return Reply(404, NO_FLAG)
            return self._patch(flag, content_type, body)
        if method == "DELETE":
            if flag is None:
                return Reply(404, NO_FLAG)
            del self._flags[key]
            return Reply(204, None)
        return Reply(405, {"code": "method_not_allowed", "message": "Method Not Allowed"})

    def _create(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return _invalid("the request body must be a JSON object")
        key, name = body.get("key"), body.get("name")
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", key):
            return _invalid("key: a flag key is made of letters, digits, '.', '_' and '-'")
        if not isinstance(name, str) or not name:
            return _invalid("name: required")
        if key in self._flags:
            return Reply(409, {"code": "conflict", "message": "A flag with this key exists"})
        variations = body.get("variations") or [{"value": True}, {"value": False}]
        if not isinstance(variations, list) or len(variations) < 2:
            return _invalid("variations: a flag needs at least two")
        if any(not isinstance(v, dict) or "value" not in v for v in variations):
            return _invalid("variations: each needs a value")
        defaults = body.get("defaults") or {"onVariation": 0, "offVariation": len(variations) - 1}
        flag = self._new_flag(
            key,
            name,
            str(body.get("description") or ""),
            variations,
            temporary=body.get("temporary") is not False,
        )
        flag.tags = [str(t) for t in body.get("tags") or []]
        flag.client_side = dict(body.get("clientSideAvailability") or flag.client_side)
        flag.defaults = {
            "onVariation": int(defaults["onVariation"]),
            "offVariation": int(defaults["offVariation"]),
        }
        for env in flag.environments.values():
            env.fallthrough = {"variation": flag.defaults["onVariation"]}
            env.off_variation = flag.defaults["offVariation"]
        self._flags[key] = flag
        return Reply(201, self._view(flag, None))

    def _patch(self, flag: _Flag, content_type: str, body: Any) -> Reply:
        work = copy.deepcopy(flag)  # all of a patch or nothing of it
        try:
            if SEMANTIC_PATCH in content_type.replace(" ", ""):
                environment = self._semantic(work, body)
            else:
                environment = None
                _json_patch(work, body)
        except _Invalid as error:
            return _invalid(str(error))
        except LookupError:
            return Reply(404, NO_ENVIRONMENT)
        if work != flag:
            work.version += 1
        self._flags[flag.key] = work
        return Reply(200, self._view(work, environment))

    def _semantic(self, flag: _Flag, body: Any) -> str | None:
        if not isinstance(body, dict) or not isinstance(body.get("instructions"), list):
            raise _Invalid("instructions: required")
        env_key = body.get("environmentKey")
        env: _Environment | None = None
        if env_key is not None:
            if env_key not in flag.environments:
                raise LookupError(env_key)
            env = flag.environments[env_key]
        before = copy.deepcopy(env)
        for instruction in body["instructions"]:
            kind = instruction.get("kind") if isinstance(instruction, dict) else None
            if kind in FLAG_KINDS:
                _flag_instruction(flag, kind, instruction)
                continue
            if kind not in ENVIRONMENT_KINDS:
                raise _Invalid(f"unknown instruction kind {json.dumps(kind)}")
            if env is None:
                raise _Invalid(f"environmentKey is required for {kind}")
            if flag.archived:
                # A guess at LaunchDarkly's answer: an archived flag's targeting is frozen.
                raise _Invalid("cannot modify the targeting of an archived flag")
            self._environment_instruction(flag, env, kind, instruction)
        if env is not None and env != before:
            env.version += 1
            env.last_modified = _now_ms()
        return env_key if isinstance(env_key, str) else None

    def _environment_instruction(
        self, flag: _Flag, env: _Environment, kind: str, instruction: dict[str, Any]
    ) -> None:
        if kind == "turnFlagOn":
            env.on = True
        elif kind == "turnFlagOff":
            env.on = False
        elif kind == "updateOffVariation":
            env.off_variation = _variation_index(flag, instruction.get("variationId"))
        elif kind == "updateFallthroughVariationOrRollout":
            env.fallthrough = _serve(flag, instruction, "updateFallthroughVariationOrRollout")
        elif kind == "replaceRules":
            rules = instruction.get("rules")
            if not isinstance(rules, list):
                raise _Invalid("replaceRules: rules must be a list")
            env.rules = [self._rule(flag, rule) for rule in rules]

    def _rule(self, flag: _Flag, rule: Any) -> dict[str, Any]:
        if not isinstance(rule, dict):
            raise _Invalid("replaceRules: each rule must be an object")
        clauses = rule.get("clauses")
        if not isinstance(clauses, list) or not clauses:
            raise _Invalid("replaceRules: a rule needs at least one clause")
        made: dict[str, Any] = {
            "_id": self._uuid(),
            "clauses": [self._clause(c) for c in clauses],
            "trackEvents": rule.get("trackEvents") is True,
            **_serve(flag, rule, "replaceRules"),
        }
        if isinstance(rule.get("description"), str):
            made["description"] = rule["description"]
        return made

    def _clause(self, clause: Any) -> dict[str, Any]:
        if not isinstance(clause, dict):
            raise _Invalid("a clause must be an object")
        attribute, op, values = clause.get("attribute"), clause.get("op"), clause.get("values")
        if not isinstance(attribute, str) or not attribute:
            raise _Invalid("a clause needs an attribute")
        if op not in OPERATORS:
            raise _Invalid(f"unknown clause operator {json.dumps(op)}")
        if not isinstance(values, list):
            raise _Invalid("a clause needs a list of values")
        return {
            "_id": self._uuid(),
            "attribute": attribute,
            "op": op,
            "values": list(values),
            "negate": clause.get("negate") is True,
            "contextKind": clause.get("contextKind") or "user",
        }

    # -- LaunchDarkly's shapes ------------------------------------------------------------

    def _new_flag(
        self,
        key: str,
        name: str,
        description: str,
        variations: list[dict[str, Any]],
        *,
        temporary: bool,
    ) -> _Flag:
        kept = []
        for variation in variations:
            made = {"_id": self._uuid(), "value": variation["value"]}
            for extra in ("name", "description"):
                if isinstance(variation.get(extra), str):
                    made[extra] = variation[extra]
            kept.append(made)
        return _Flag(
            key=key,
            name=name,
            description=description,
            variations=kept,
            environments={
                env: _Environment(off_variation=len(kept) - 1, last_modified=_now_ms())
                for env in self.environments
            },
            temporary=temporary,
            created=_now_ms(),
        )

    def _view(self, flag: _Flag, env_filter: str | None) -> dict[str, Any]:
        kinds = {type(v["value"]) for v in flag.variations}
        environments = {
            name: self._environment_view(flag, name, env)
            for name, env in flag.environments.items()
            if env_filter is None or name == env_filter
        }
        return {
            "name": flag.name,
            "kind": "boolean" if kinds == {bool} else "multivariate",
            "description": flag.description,
            "key": flag.key,
            "_version": flag.version,
            "creationDate": flag.created,
            "includeInSnippet": False,
            "clientSide": False,
            "variations": copy.deepcopy(flag.variations),
            "temporary": flag.temporary,
            "tags": list(flag.tags),
            "_links": {
                "parent": {"href": f"/api/v2/flags/{self.project_key}", "type": "application/json"},
                "self": {
                    "href": f"/api/v2/flags/{self.project_key}/{flag.key}",
                    "type": "application/json",
                },
            },
            "maintainerId": MAINTAINER,
            "goalIds": [],
            "experiments": {"baselineIdx": 0, "items": []},
            "customProperties": {},
            "archived": flag.archived,
            "deprecated": flag.deprecated,
            "clientSideAvailability": dict(flag.client_side),
            "defaults": dict(flag.defaults),
            "environments": environments,
        }

    def _environment_view(self, flag: _Flag, name: str, env: _Environment) -> dict[str, Any]:
        return {
            "on": env.on,
            "archived": flag.archived,
            "salt": f"{flag.key}-{name}-salt",
            "sel": f"{flag.key}-{name}-sel",
            "lastModified": env.last_modified,
            "version": env.version,
            "targets": [],
            "contextTargets": [],
            "rules": copy.deepcopy(env.rules),
            "fallthrough": copy.deepcopy(env.fallthrough),
            "offVariation": env.off_variation,
            "prerequisites": [],
            "_site": {
                "href": f"/{self.project_key}/{name}/features/{flag.key}",
                "type": "text/html",
            },
            "_environmentName": name.capitalize(),
            "trackEvents": False,
            "trackEventsFallthrough": False,
        }

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


# -- applying patches ----------------------------------------------------------------------


def _flag_instruction(flag: _Flag, kind: str, instruction: dict[str, Any]) -> None:
    if kind == "archiveFlag":
        flag.archived = True
    elif kind == "restoreFlag":
        flag.archived = False
    elif kind in ("updateDescription", "updateName"):
        value = instruction.get("value")
        if not isinstance(value, str):
            raise _Invalid(f"{kind}: value must be a string")
        if kind == "updateName":
            flag.name = value
        else:
            flag.description = value


def _json_patch(flag: _Flag, body: Any) -> None:
    operations = body.get("patch") if isinstance(body, dict) else body
    if isinstance(body, dict) and "instructions" in body:
        # Without the semantic patch media type LaunchDarkly reads this as another kind of
        # patch; the fake refuses it, so a client that forgot the header is caught.
        raise _Invalid("instructions need Content-Type domain-model=launchdarkly.semanticpatch")
    if not isinstance(operations, list) or not operations:
        raise _Invalid("patch: a list of operations is required")
    for operation in operations:
        if not isinstance(operation, dict):
            raise _Invalid("patch: each operation must be an object")
        op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
        expected = PATCHABLE.get(path) if isinstance(path, str) else None
        if op not in ("replace", "add") or expected is None or not isinstance(path, str):
            raise _Invalid(f"patch: this fake cannot {op} {path}")
        if not isinstance(value, expected):
            raise _Invalid(f"patch: {path} takes a {expected.__name__}")
        setattr(flag, path.removeprefix("/"), value)


def _serve(flag: _Flag, part: dict[str, Any], kind: str) -> dict[str, Any]:
    """A semantic patch's `variationId` or `rolloutWeights` as LaunchDarkly stores it: a
    variation index, or a rollout of indexes and weights."""
    weights = part.get("rolloutWeights")
    if weights is not None:
        if not isinstance(weights, dict) or not weights:
            raise _Invalid(f"{kind}: rolloutWeights must map variation ids to weights")
        rolled = []
        for variation_id, weight in weights.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= WHOLE:
                raise _Invalid(f"{kind}: a weight is 0 to {WHOLE}")
            rolled.append({"variation": _variation_index(flag, variation_id), "weight": weight})
        if sum(w["weight"] for w in rolled) != WHOLE:
            raise _Invalid(f"{kind}: rollout weights must add up to {WHOLE}")
        rollout: dict[str, Any] = {
            "variations": sorted(rolled, key=lambda w: w["variation"]),
            "contextKind": part.get("rolloutContextKind") or "user",
        }
        if isinstance(part.get("rolloutBucketBy"), str):
            rollout["bucketBy"] = part["rolloutBucketBy"]
        return {"rollout": rollout}
    if "variationId" not in part:
        raise _Invalid(f"{kind}: variationId or rolloutWeights is required")
    return {"variation": _variation_index(flag, part["variationId"])}


def _variation_index(flag: _Flag, variation_id: Any) -> int:
    for index, variation in enumerate(flag.variations):
        if variation["_id"] == variation_id:
            return index
    raise _Invalid(f"unknown variation id {json.dumps(variation_id)}")


# -- evaluating --------------------------------------------------------------------------


def _matches(clause: dict[str, Any], attributes: dict[str, str | None]) -> bool:
    if clause["op"] != "in":
        raise NotImplementedError(f"the fake evaluates only `in`, not {clause['op']}")
    value = attributes.get(clause["attribute"])
    found = value is not None and value in clause["values"]
    return found is not (clause["negate"] is True)


def _value(values: list[Any], served: dict[str, Any]) -> bool | str:
    rollout = served.get("rollout")
    if rollout is None:
        value = values[served["variation"]]
        return value if isinstance(value, bool) else str(value)
    shares = {values[w["variation"]]: w["weight"] for w in rollout["variations"]}
    percent = shares.get(True, 0) / 1000
    return f"{percent:g}% true"


def _invalid(message: str) -> Reply:
    return Reply(400, {"code": "invalid_request", "message": message})


def _now_ms() -> int:
    return int(time.time() * 1000)

"""LaunchDarkly: where the bot's feature flags take effect.

Every flag the bot makes is a temporary boolean flag with the variations `true` and `false`,
off when it is created. Scoping it turns it on in one environment for a tenant or a role (one
targeting rule on the context's `tenant` or `role` attribute, serving `true`; everyone else
gets `false`) or for a percentage of contexts (a rollout of the default rule). Launching it
serves `true` to everyone; removing it archives it.

Targeting changes are semantic patches (LaunchDarkly's "instructions"): each one replaces the
environment's rules and default rule as a whole, so repeating it changes nothing; when the flag
serves what was asked already, no patch is sent at all (an environment that needs approvals
would otherwise ask for one again). Every request goes through `Api.call`, which applies the
time limit and sorts failures into `TransientError` (retry) and `IntegrationError` (a definite
refusal). Messages name flags, the project and the environment, never the token.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

import httpx

from integrations.http import Api, refusal
from integrations.ports import IntegrationError, TransientError

#: The semantic patch's media type; without it LaunchDarkly reads the body as a JSON patch
#: or a JSON merge patch.
SEMANTIC_PATCH = "application/json; domain-model=launchdarkly.semanticpatch"
#: Rollout weights are in thousandths of a percent: 100% is 100000.
WHOLE = 100_000
#: The context kind the `tenant` and `role` attributes belong to. LaunchDarkly's public docs:
#: a clause's `contextKind` (and a rollout's `rolloutContextKind`) defaults to `user`; the
#: portal's contexts are users that carry both attributes.
CONTEXT_KIND = "user"
#: Scope kinds that become a targeting rule on the attribute of the same name.
ATTRIBUTE_SCOPES = ("tenant", "role")


class LaunchDarkly:
    """The `FlagProvider` of one LaunchDarkly project and environment."""

    def __init__(
        self,
        token: str,
        project_key: str,
        environment_key: str,
        *,
        api_url: str = "https://app.launchdarkly.com",
        timeout: float = 15.0,
    ) -> None:
        self.project_key = project_key
        self.environment_key = environment_key
        # LaunchDarkly takes the access token as it is, with no "Bearer".
        self._api = Api("LaunchDarkly", api_url, headers={"Authorization": token}, timeout=timeout)

    def close(self) -> None:
        self._api.close()

    # -- FlagProvider -----------------------------------------------------------------

    def create(self, key: str, description: str) -> None:
        body = {
            "name": key,
            "key": key,
            "description": description,
            "temporary": True,
            "tags": ["release-bot"],
            "variations": [
                {"value": True, "name": "On"},
                {"value": False, "name": "Off"},
            ],
            # When on with no rules it serves `true`; when off, `false`.
            "defaults": {"onVariation": 0, "offVariation": 1},
            "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": False},
        }
        response = self._call(
            "POST",
            f"/api/v2/flags/{self.project_key}",
            doing=f"create flag {key}",
            ok=(201, 409),  # 409: a flag with this key exists already
            json=body,
            missing=self._no_project(),
        )
        if response.status_code == 409:
            # Ours (an earlier attempt), or somebody else's: never retarget theirs.
            existing = self._flag(key, doing=f"read flag {key}")
            if "release-bot" not in (existing.get("tags") or []):
                raise IntegrationError(
                    f"LaunchDarkly already has a flag {key} that the bot did not create: "
                    "pick another key, or tag that flag `release-bot` to hand it over"
                )

    def scope(self, key: str, kind: str, value: str) -> None:
        if kind not in (*ATTRIBUTE_SCOPES, "percentage"):
            raise IntegrationError(f"`{kind[:20]}` is not a scope of a flag in LaunchDarkly")
        percent = _percentage(value) if kind == "percentage" else 0
        doing = f"scope flag {key} to {_scope_words(kind, value)}"
        flag = self._flag(key, doing=doing)
        on, off = _boolean_variations(flag, key)
        if kind in ATTRIBUTE_SCOPES:
            rules: list[dict[str, Any]] = [
                {
                    "variationId": on,
                    "description": f"Released to {kind} {value}",
                    "clauses": [
                        {
                            "contextKind": CONTEXT_KIND,
                            "attribute": kind,
                            "op": "in",
                            "negate": False,
                            "values": [value],
                        }
                    ],
                }
            ]
            fallthrough: dict[str, Any] = {"variationId": off}
        else:
            rules = []
            fallthrough = {
                "rolloutContextKind": CONTEXT_KIND,
                "rolloutWeights": {on: percent * 1000, off: WHOLE - percent * 1000},
            }
        self._target(key, flag, rules, fallthrough, doing=doing)

    def launch(self, key: str) -> None:
        doing = f"launch flag {key} to everyone"
        flag = self._flag(key, doing=doing)
        on, _ = _boolean_variations(flag, key)
        self._target(key, flag, [], {"variationId": on}, doing=doing)

    def remove(self, key: str) -> None:
        doing = f"archive flag {key}"
        response = self._call(
            "GET",
            self._flag_path(key),
            doing=doing,
            ok=(200, 404),
        )
        if response.status_code == 404:
            # Gone already (deleted in LaunchDarkly): nothing reads it. LaunchDarkly answers
            # 404 for an unknown project too; a wrong project shows up at create and scope.
            return
        if _body(response, doing).get("archived") is True:
            return
        self._call(
            "PATCH",
            self._flag_path(key),
            doing=doing,
            ok=(200, 404),
            json={
                "patch": [{"op": "replace", "path": "/archived", "value": True}],
                "comment": "Removed by the release bot",
            },
        )

    # -- the calls --------------------------------------------------------------------

    def _flag(self, key: str, *, doing: str) -> dict[str, Any]:
        """The flag with this environment's targeting; refuses an archived flag."""
        response = self._call(
            "GET",
            self._flag_path(key),
            doing=doing,
            params={"env": self.environment_key},
            missing=self._no_flag(key),
        )
        flag = _body(response, doing)
        if flag.get("archived") is True:
            raise IntegrationError(
                f"flag {key} is archived in LaunchDarkly: restore it there to change it"
            )
        # Asked with ?env=, LaunchDarkly lists that environment's targeting only; an
        # environment the project lacks is not listed.
        environments = flag.get("environments")
        if isinstance(environments, dict) and self.environment_key not in environments:
            raise IntegrationError(self._no_environment())
        return flag

    def _target(
        self,
        key: str,
        flag: Mapping[str, Any],
        rules: list[dict[str, Any]],
        fallthrough: dict[str, Any],
        *,
        doing: str,
    ) -> None:
        """Turn the flag on with exactly these rules and this default rule, unless it
        serves so already."""
        environment = _dict(_dict(flag, "environments"), self.environment_key)
        if environment and _targets(environment, flag) == _wanted(rules, fallthrough, flag):
            return
        # The reference lists the semantic patch's shape but not its instructions: these
        # kinds and fields (`replaceRules` with `variationId` and `clauses`,
        # `updateFallthroughVariationOrRollout` with `variationId` or `rolloutWeights` keyed by
        # variation `_id`) are those of LaunchDarkly's public docs for "Update feature flag".
        instructions = [
            {"kind": "turnFlagOn"},
            {"kind": "replaceRules", "rules": rules},
            {"kind": "updateFallthroughVariationOrRollout", **fallthrough},
        ]
        self._call(
            "PATCH",
            self._flag_path(key),
            doing=doing,
            json={
                "environmentKey": self.environment_key,
                "instructions": instructions,
                "comment": f"Release bot: {doing}",
            },
            headers={"Content-Type": SEMANTIC_PATCH},
            missing=self._no_flag(key),
        )

    def _flag_path(self, key: str) -> str:
        return f"/api/v2/flags/{self.project_key}/{key}"

    def _no_project(self) -> str:
        return f"LaunchDarkly has no project {self.project_key} (check LAUNCHDARKLY_PROJECT_KEY)"

    def _no_flag(self, key: str) -> str:
        return (
            f"LaunchDarkly has no flag {key} in project {self.project_key} "
            "(check LAUNCHDARKLY_PROJECT_KEY and LAUNCHDARKLY_ENVIRONMENT_KEY, "
            "or create the flag first)"
        )

    def _no_environment(self) -> str:
        return (
            f"LaunchDarkly project {self.project_key} has no environment "
            f"{self.environment_key} (check LAUNCHDARKLY_ENVIRONMENT_KEY)"
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        ok: Collection[int] = (200,),
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        missing: str | None = None,
    ) -> httpx.Response:
        """One request. A refused token says which setting to check; so does a 404 when
        `missing` says what it means; a 429 waits as LaunchDarkly says."""
        response = self._api.call(
            method,
            path,
            doing=doing,
            ok=(*ok, 401, 403, 404, 405, 429),
            json=json,
            params=params,
            headers=headers,
        )
        status = response.status_code
        if status in ok:
            return response
        if status == 404 and missing is not None:
            raise IntegrationError(missing)
        error = refusal("LaunchDarkly", doing, response)
        if status == 429:
            raise TransientError(str(error), retry_after=_rate_limit_wait(response))
        if status in (401, 403) and not isinstance(error, TransientError):
            raise IntegrationError(f"{error} (check LAUNCHDARKLY_API_TOKEN)")
        if status == 405:
            # LaunchDarkly's answer when the environment requires approvals for changes.
            raise IntegrationError(
                f"{error} (changes to {self.environment_key} need an approval in LaunchDarkly)"
            )
        raise error


# -- reading a flag ----------------------------------------------------------------------


def _boolean_variations(flag: Mapping[str, Any], key: str) -> tuple[str, str]:
    """The `_id`s of the flag's `true` and `false` variations."""
    ids: dict[bool, str] = {}
    variations = flag.get("variations")
    for variation in variations if isinstance(variations, list) else []:
        value = variation.get("value") if isinstance(variation, dict) else None
        if isinstance(value, bool) and value not in ids and _str(variation, "_id"):
            ids[value] = _str(variation, "_id")
    if True not in ids or False not in ids:
        raise IntegrationError(
            f"flag {key} in LaunchDarkly is not a boolean flag (it needs the variations "
            "true and false)"
        )
    return ids[True], ids[False]


def _targets(environment: Mapping[str, Any], flag: Mapping[str, Any]) -> object:
    """What an environment serves, comparable with `_wanted`: on or off, each rule's
    clauses and what it serves, and the default rule, by variation id."""
    ids = _variation_ids(flag)
    rules = environment.get("rules")
    return (
        environment.get("on") is True,
        tuple(
            (_clauses(rule.get("clauses")), _serves(rule, ids))
            for rule in (rules if isinstance(rules, list) else [])
            if isinstance(rule, dict)
        ),
        _serves(_dict(environment, "fallthrough"), ids),
    )


def _wanted(
    rules: list[dict[str, Any]], fallthrough: Mapping[str, Any], flag: Mapping[str, Any]
) -> object:
    """What a semantic patch of these rules and default rule makes an environment serve,
    in `_targets`' terms."""

    def serves(part: Mapping[str, Any]) -> object:
        weights = part.get("rolloutWeights")
        if isinstance(weights, dict):
            kind = _str(part, "rolloutContextKind") or CONTEXT_KIND
            return ("rollout", kind, tuple(sorted((str(v), w) for v, w in weights.items() if w)))
        return ("variation", _str(part, "variationId"))

    return (
        True,
        tuple((_clauses(rule.get("clauses")), serves(rule)) for rule in rules),
        serves(fallthrough),
    )


def _variation_ids(flag: Mapping[str, Any]) -> list[str]:
    variations = flag.get("variations")
    return [_str(v, "_id") for v in (variations if isinstance(variations, list) else [])]


def _serves(part: Mapping[str, Any], ids: list[str]) -> object:
    """A rule's or the default rule's variation (by id) or rollout (ids and weights)."""

    def variation_id(index: object) -> str:
        ok = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(ids)
        return ids[index] if ok and isinstance(index, int) else f"#{index}"

    rollout = part.get("rollout")
    if isinstance(rollout, dict):
        weighted = rollout.get("variations")
        kind = _str(rollout, "contextKind") or CONTEXT_KIND
        return (
            "rollout",
            kind,
            tuple(
                sorted(
                    (variation_id(w.get("variation")), w.get("weight"))
                    for w in (weighted if isinstance(weighted, list) else [])
                    if isinstance(w, dict) and w.get("weight")
                )
            ),
        )
    return ("variation", variation_id(part.get("variation")))


def _clauses(clauses: object) -> tuple[object, ...]:
    return tuple(
        (
            _str(c, "contextKind") or CONTEXT_KIND,
            _str(c, "attribute"),
            _str(c, "op"),
            c.get("negate") is True,
            tuple(c.get("values") or ()),
        )
        for c in (clauses if isinstance(clauses, list) else [])
        if isinstance(c, dict)
    )


def _percentage(value: str) -> int:
    try:
        percent = int(value.strip().removesuffix("%"))
    except ValueError:
        percent = 0
    if not 1 <= percent <= 100:
        raise IntegrationError(f"`{value[:20]}` is not a percentage from 1 to 100")
    return percent


def _scope_words(kind: str, value: str) -> str:
    return f"{value}%" if kind == "percentage" else f"{kind} {value}"


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds until LaunchDarkly takes requests again: `Retry-After` (seconds), else its
    `X-Ratelimit-Reset`, which LaunchDarkly gives in milliseconds since the epoch."""
    after = response.headers.get("Retry-After", "").strip()
    if after.isdigit():
        return float(after)
    reset = response.headers.get("X-Ratelimit-Reset", "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) / 1000 - time.time())
    return None


def _body(response: httpx.Response, doing: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # A proxy's page in place of LaunchDarkly's answer: worth another try later.
        raise TransientError(
            f"LaunchDarkly sent an answer that is not its API's when asked to {doing}"
        )
    return body


def _dict(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, dict) else {}


def _str(parent: Any, key: str) -> str:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, str) else ""

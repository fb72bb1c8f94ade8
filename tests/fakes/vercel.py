"""A local stand-in for Vercel's REST API: one project, its Git-integration builds and
production's promotion and rollback.

It answers the calls the bot's Vercel client makes, with Vercel's shapes (copied, trimmed,
from Vercel's API reference): list deployments (GET /v7/deployments), get a deployment
(GET /v13/deployments/{idOrUrl}), get the project (GET /v9/projects/{idOrName}, whose
`targets.production` is what production serves and `lastAliasRequest` the last promotion or
rollback), promote (POST /v10/projects/{id}/promote/{deploymentId}), roll back
(POST /v1/projects/{id}/rollback/{deploymentId}) and the last promotion's domains
(GET /v1/projects/{id}/promote/aliases).

Tests drive the project as Vercel's Git integration would (`push`, `finish_build`), seed
production (`set_production`), make a promotion slow (`switch_after_polls`) or fail
(`fail_next_promotion`), and make the API fail every way HTTP can: an error status
(`fail_next`, `fail_always` / `heal`), a slow answer (`hang_next`) and a dropped connection
(`reset_next`). Every request is recorded in `calls`, failed or not.
"""

from __future__ import annotations

import random
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from tests.fakes.loopback import LoopbackApi, Query, Reply, Request

FORBIDDEN = {"error": {"code": "forbidden", "message": "Not authorized"}}
NO_TEAM_ACCESS = {
    "error": {"code": "forbidden", "message": "You don't have permission to access this team"}
}
NO_PROJECT = {"error": {"code": "not_found", "message": "Project not found"}}
NO_DEPLOYMENT = {"error": {"code": "not_found", "message": "Deployment not found"}}
NO_ROUTE = {"error": {"code": "not_found", "message": "The requested path was not found"}}

#: Vercel's defaults and sample values, from its API reference's examples.
LIST_LIMIT = 20
TEAM_SLUG = "acme"
GIT_ORG, GIT_REPO = "acme", "portal"
CREATOR = {"uid": "kr1PsOIzqEL5Xg6M4VZcZosf", "username": "release-bot"}


@dataclass
class _Deployment:
    uid: str
    url: str
    target: str | None
    state: str  # readyState
    created: int  # ms since the epoch, as Vercel counts
    branch: str
    sha: str
    ready_at: int | None = None
    error: str | None = None


@dataclass
class _Switch:
    """A promotion or rollback Vercel accepted and has not finished."""

    to: str
    polls_left: int


class FakeVercel(LoopbackApi[Request]):
    def __init__(
        self,
        token: str = "vercel-test-token",  # noqa: S107 (the fake's own stand-in token)
        project_id: str = "prj_4sQnT9wVbX2yLmKp7RdEfGh1Jc8a",
        *,
        project_name: str = "portal",
        team_id: str | None = None,
        domains: tuple[str, ...] | None = None,
        switch_after_polls: int = 0,
        seed: int = 0,
    ) -> None:
        """`domains`: the project's production domains, first the one people use (None:
        `<project_name>.vercel.app`, as Vercel gives every project). `switch_after_polls`:
        how many reads of the project still show the old production after a promotion or
        rollback was accepted (0: it switches at once)."""
        super().__init__()
        self.token = token
        self.project_id = project_id
        self.project_name = project_name
        self.team_id = team_id
        self.domains = (f"{project_name}.vercel.app",) if domains is None else domains
        self.switch_after_polls = switch_after_polls
        self._random = random.Random(seed)  # ids differ per deployment, not per test run
        self._deployments: dict[str, _Deployment] = {}
        self._production: str | None = None
        self._served: set[str] = set()  # every deployment production ever served
        self._pending: _Switch | None = None
        self._last_request: dict[str, Any] | None = None  # the project's lastAliasRequest
        self._alias_status = "completed"  # of the last request's domains
        self._fail_promotions = 0
        self._fail_rollbacks = 0
        self._last_created = 0
        self.promotions: list[str] = []  # deployment ids, as each promote arrived
        self.rollbacks: list[str] = []

    # -- the project, as tests drive it ---------------------------------------------------

    def push(self, branch: str, sha: str, *, ready: bool = True, target: str = "staging") -> str:
        """A push of `sha` to `branch`: Vercel's Git integration starts a build for `target`,
        READY at once or BUILDING until `finish_build`. Returns the deployment's uid."""
        with self._lock:
            uid = "dpl_" + "".join(self._random.choices(string.ascii_letters + string.digits, k=28))
            suffix = "".join(self._random.choices(string.ascii_lowercase + string.digits, k=9))
            self._last_created = max(int(time.time() * 1000), self._last_created + 1)
            deployment = _Deployment(
                uid=uid,
                url=f"{self.project_name}-{suffix}-{TEAM_SLUG}.vercel.app",
                target=target,
                state="READY" if ready else "BUILDING",
                created=self._last_created,
                branch=branch,
                sha=sha,
                ready_at=self._last_created + 60_000 if ready else None,
            )
            self._deployments[uid] = deployment
            return uid

    def finish_build(self, uid: str, state: str = "READY") -> None:
        """End a build: READY, or ERROR / CANCELED."""
        with self._lock:
            deployment = self._deployments[uid]
            deployment.state = state
            if state == "READY":
                deployment.ready_at = max(int(time.time() * 1000), deployment.created + 1)
            elif state == "ERROR":
                deployment.error = 'Command "npm run build" exited with 1'

    def set_production(self, uid: str) -> None:
        """Seed what production serves (as if promoted long ago)."""
        with self._lock:
            self._production = uid
            self._served.add(uid)

    def fail_next_promotion(self) -> None:
        """The next promotion fails: its domains report `failed` and production stays."""
        with self._lock:
            self._fail_promotions += 1

    def fail_next_rollback(self) -> None:
        """The next rollback fails as `fail_next_promotion`'s promotion does."""
        with self._lock:
            self._fail_rollbacks += 1

    @property
    def production_id(self) -> str | None:
        """What production serves now (reading it does not count as a poll)."""
        with self._lock:
            return self._production

    def deployment(self, uid: str) -> dict[str, Any]:
        """A deployment as GET /v13/deployments/{uid} shows it."""
        with self._lock:
            return self._deployment_view(self._deployments[uid])

    def count(self, method: str, path_part: str) -> int:
        """How many `method` requests whose path contains `path_part` arrived."""
        with self._lock:
            return sum(m == method and path_part in p for m, p, _ in self.calls)

    # -- the HTTP side ----------------------------------------------------------------

    def _call(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Request:
        return method, path, query

    def _error(self, status: int) -> dict[str, Any]:
        if status == 429:
            error = {"code": "rate_limited", "message": "Rate limit exceeded"}
        elif status >= 500:
            error = {"code": "internal_server_error", "message": "An unexpected error occurred"}
        elif status == 403:
            error = FORBIDDEN["error"]
        else:
            error = {"code": "bad_request", "message": "Bad request"}
        return {"error": error}

    def _answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(403, FORBIDDEN)
        team = query.get("teamId")
        if team is not None and team != self.team_id:
            return Reply(403, NO_TEAM_ACCESS)  # the token is no member of that team
        # Without teamId Vercel looks in the token owner's own account, which does not hold
        # a team's project: everything is "not found".
        in_scope = team == self.team_id
        if method == "GET" and path == "/v7/deployments":
            return self._list(query, in_scope)
        if method == "GET" and (match := re.fullmatch(r"/v13/deployments/([^/]+)", path)):
            found = self._find(match[1]) if in_scope else None
            if found is None:
                return Reply(404, NO_DEPLOYMENT)
            return Reply(200, self._deployment_view(found))
        routes: dict[tuple[str, str], Callable[..., Reply]] = {
            ("GET", r"/v9/projects/([^/]+)"): self._get_project,
            ("GET", r"/v1/projects/([^/]+)/promote/aliases"): self._promote_aliases,
            ("POST", r"/v10/projects/([^/]+)/promote/([^/]+)"): self._promote,
            ("POST", r"/v1/projects/([^/]+)/rollback/([^/]+)"): self._rollback,
        }
        for (verb, pattern), answer in routes.items():
            if method == verb and (match := re.fullmatch(pattern, path)):
                if not in_scope or match[1] not in (self.project_id, self.project_name):
                    return Reply(404, NO_PROJECT)
                return answer(query, *match.groups()[1:])
        return Reply(404, NO_ROUTE)

    def _list(self, query: dict[str, str], in_scope: bool) -> Reply:
        project = query.get("projectId")
        if project is not None and (not in_scope or project not in self._project_names()):
            return Reply(404, NO_PROJECT)
        states = set(query["state"].split(",")) if query.get("state") else None
        found = [
            d
            for d in (self._deployments.values() if in_scope else [])
            if ("target" not in query or d.target == query["target"])
            and ("sha" not in query or d.sha == query["sha"])
            and ("branch" not in query or d.branch == query["branch"])
            and (states is None or d.state in states)
            and ("until" not in query or d.created < float(query["until"]))
            and ("since" not in query or d.created > float(query["since"]))
        ]
        found.sort(key=lambda d: d.created, reverse=True)  # Vercel lists the newest first
        limit = int(float(query.get("limit") or LIST_LIMIT))
        page = found[:limit]
        return Reply(
            200,
            {
                "deployments": [self._list_item(d) for d in page],
                "pagination": {
                    "count": len(page),
                    "next": page[-1].created if len(found) > limit else None,
                    "prev": page[0].created if page else None,
                },
            },
        )

    def _get_project(self, _query: dict[str, str]) -> Reply:
        # Each read of the project is one poll of a promotion or rollback under way.
        if self._pending is not None:
            if self._pending.polls_left <= 0:
                self._switch(self._pending.to)
            else:
                self._pending.polls_left -= 1
        return Reply(200, self._project_view())

    def _promote_aliases(self, query: dict[str, str]) -> Reply:
        # The domains of the last promotion or rollback, with how far each got; a project
        # always has at least its own <name>.vercel.app.
        domains = self.domains or (f"{self.project_name}.vercel.app",)
        requested = str(self._last_request)
        aliases = [
            {
                "alias": domain,
                "id": "als_" + _digest(domain + requested),
                "status": self._alias_status,
            }
            for domain in (domains if self._last_request is not None else ())
        ]
        if query.get("failedOnly") == "true":
            aliases = [a for a in aliases if a["status"] == "failed"]
        return Reply(
            200,
            {"aliases": aliases, "pagination": {"count": len(aliases), "next": None, "prev": None}},
        )

    def _promote(self, _query: dict[str, str], uid: str) -> Reply:
        self.promotions.append(uid)
        deployment = self._deployments.get(uid)
        if deployment is None:
            return Reply(404, NO_DEPLOYMENT)
        if deployment.state != "READY":
            return Reply(
                400, {"error": {"code": "bad_request", "message": "Deployment is not ready"}}
            )
        fail = self._fail_promotions > 0
        self._fail_promotions -= fail
        return self._alias_request("promote", uid, fail)

    def _rollback(self, _query: dict[str, str], uid: str) -> Reply:
        self.rollbacks.append(uid)
        if uid not in self._deployments:
            return Reply(404, NO_DEPLOYMENT)
        if uid not in self._served:
            return Reply(
                400,
                {
                    "error": {
                        "code": "bad_request",
                        "message": "The deployment was never a production deployment",
                    }
                },
            )
        fail = self._fail_rollbacks > 0
        self._fail_rollbacks -= fail
        return self._alias_request("rollback", uid, fail)

    def _alias_request(self, kind: str, uid: str, fail: bool) -> Reply:
        self._last_request = {
            "fromDeploymentId": self._production,
            "toDeploymentId": uid,
            "jobStatus": "in-progress",
            "requestedAt": int(time.time() * 1000),
            "type": kind,
        }
        self._pending = None  # a newer request replaces one under way
        if fail:
            self._last_request["jobStatus"] = "failed"
            self._alias_status = "failed"
            return Reply(202, None)
        if self.switch_after_polls <= 0:
            self._switch(uid)
            return Reply(201, None)
        self._alias_status = "pending"
        self._pending = _Switch(uid, self.switch_after_polls)
        return Reply(202, None)

    def _switch(self, uid: str) -> None:
        self._production = uid
        self._served.add(uid)
        self._pending = None
        self._alias_status = "completed"
        if self._last_request is not None:
            self._last_request["jobStatus"] = "succeeded"

    # -- Vercel's shapes ----------------------------------------------------------------

    def _project_names(self) -> tuple[str, str]:
        return (self.project_id, self.project_name)

    def _find(self, id_or_url: str) -> _Deployment | None:
        host = id_or_url.removeprefix("https://")
        return self._deployments.get(id_or_url) or next(
            (d for d in self._deployments.values() if d.url == host), None
        )

    def _meta(self, d: _Deployment) -> dict[str, str]:
        return {
            "githubCommitRef": d.branch,
            "githubCommitSha": d.sha,
            "githubCommitMessage": f"Merge into {d.branch}",
            "githubCommitAuthorName": "release-bot",
            "githubOrg": GIT_ORG,
            "githubRepo": GIT_REPO,
            "githubDeployment": "1",
        }

    def _aliases_of(self, d: _Deployment) -> list[str]:
        git_alias = f"{self.project_name}-git-{_slug(d.branch)}-{TEAM_SLUG}.vercel.app"
        if d.uid == self._production:
            return [*self.domains, git_alias]
        return [git_alias] if d.state == "READY" else []

    def _list_item(self, d: _Deployment) -> dict[str, Any]:
        item: dict[str, Any] = {
            "aliasAssigned": d.state == "READY",
            "buildingAt": d.created + 2000,
            "created": d.created,
            "createdAt": d.created,
            "creator": {"uid": CREATOR["uid"]},
            "inspectorUrl": f"https://vercel.com/{TEAM_SLUG}/{self.project_name}/{d.uid[4:14]}",
            "isRollbackCandidate": d.uid in self._served and d.uid != self._production,
            "meta": self._meta(d),
            "name": self.project_name,
            "projectId": self.project_id,
            "readyState": d.state,
            "source": "git",
            "state": d.state,
            "target": d.target,
            "type": "LAMBDAS",
            "uid": d.uid,
            "url": d.url,
        }
        if d.ready_at is not None:
            item["ready"] = d.ready_at
        if d.error is not None:
            item["errorCode"], item["errorMessage"] = "BUILD_FAILED", d.error
        return item

    def _target_view(self, d: _Deployment) -> dict[str, Any]:
        """A deployment as the project shows it (`targets`, `latestDeployments`)."""
        return {
            "alias": self._aliases_of(d),
            "aliasAssigned": d.state == "READY",
            "buildingAt": d.created + 2000,
            "createdAt": d.created,
            "createdIn": "iad1",
            "creator": {"email": "release-bot@example.com", **CREATOR},
            "deploymentHostname": d.url.removesuffix(".vercel.app"),
            "id": d.uid,
            "meta": self._meta(d),
            "name": self.project_name,
            "plan": "pro",
            "private": True,
            "readyState": d.state,
            "target": d.target,
            "type": "LAMBDAS",
            "url": d.url,
        }

    def _deployment_view(self, d: _Deployment) -> dict[str, Any]:
        view: dict[str, Any] = {
            "alias": self._aliases_of(d),
            "aliasAssigned": d.state == "READY",
            "build": {"env": []},
            "buildingAt": d.created + 2000,
            "createdAt": d.created,
            "createdIn": "iad1",
            "creator": {"uid": CREATOR["uid"]},
            "env": [],
            "id": d.uid,
            "inspectorUrl": f"https://vercel.com/{TEAM_SLUG}/{self.project_name}/{d.uid[4:14]}",
            "meta": self._meta(d),
            "name": self.project_name,
            "ownerId": self.team_id or "kr1PsOIzqEL5Xg6M4VZcZosf",
            "plan": "pro",
            "projectId": self.project_id,
            "public": False,
            "readyState": d.state,
            "regions": ["iad1"],
            "routes": [],
            "source": "git",
            "status": d.state,
            "target": d.target,
            "type": "LAMBDAS",
            "url": d.url,
            "version": 2,
        }
        if d.state == "READY":
            view["readySubstate"] = "PROMOTED" if d.uid == self._production else "STAGED"
        if d.ready_at is not None:
            view["ready"] = d.ready_at
        if d.error is not None:
            view["errorCode"], view["errorMessage"] = "BUILD_FAILED", d.error
        return view

    def _project_view(self) -> dict[str, Any]:
        newest = sorted(self._deployments.values(), key=lambda d: d.created, reverse=True)
        production = self._deployments.get(self._production or "")
        return {
            "accountId": self.team_id or "kr1PsOIzqEL5Xg6M4VZcZosf",
            "alias": [
                {"domain": domain, "target": "PRODUCTION", "createdAt": 1718000000000}
                for domain in self.domains
            ],
            "createdAt": 1718000000000,
            "framework": "nextjs",
            "id": self.project_id,
            "lastAliasRequest": dict(self._last_request) if self._last_request else None,
            "latestDeployments": [self._target_view(d) for d in newest[:5]],
            "link": {
                "org": GIT_ORG,
                "repo": GIT_REPO,
                "productionBranch": "main",
                "type": "github",
                "deployHooks": [],
            },
            "name": self.project_name,
            "nodeVersion": "22.x",
            "targets": {"production": self._target_view(production)} if production else {},
            "updatedAt": max([d.created for d in newest], default=1718000000000),
        }


def _slug(branch: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", branch.lower()).strip("-")


def _digest(text: str) -> str:
    return "".join(random.Random(text).choices(string.ascii_letters + string.digits, k=28))

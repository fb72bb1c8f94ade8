"""Vercel: the staging builds of release branches, and production's promotion and rollback.

Release branches deploy to the `staging` target through Vercel's Git integration, so the
bot never creates a deployment: it finds the build of a commit, points production at it
(promote), points production back (rollback) and follows that until production serves it.

Every request goes through `Api.call`, which applies the time limit and sorts failures into
`TransientError` (retry) and `IntegrationError` (a definite refusal). Messages name
deployments and commits, never the token.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx

from integrations.http import Api, refusal
from integrations.ports import Deployment, IntegrationError, TransientError, Waiting

#: A build Vercel is still working on: its outcome is not known yet.
IN_PROGRESS = frozenset({"QUEUED", "INITIALIZING", "BUILDING"})
#: A build that will never be served; only a new push makes another.
FAILED = frozenset({"ERROR", "CANCELED", "DELETED"})
#: A promotion or rollback Vercel has accepted and not finished (`lastAliasRequest.jobStatus`).
ALIAS_JOB_UNDER_WAY = frozenset({"pending", "in-progress"})
#: How many deployments one list call asks for; the newest come first, which is all we read.
PAGE = 20


class Vercel:
    """The `Deployer` of a Vercel project whose release branches build to `staging`."""

    def __init__(
        self,
        token: str,
        project_id: str,
        *,
        team_id: str | None = None,
        api_url: str = "https://api.vercel.com",
        timeout: float = 15.0,
        poll_seconds: float = 10.0,
    ) -> None:
        self.project_id = project_id
        self.team_id = team_id
        self.poll_seconds = poll_seconds
        # teamId rides on every call as a client-wide parameter: a call without it would
        # look in the token owner's personal account and not find the team's project.
        self._api = Api(
            "Vercel",
            api_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            params={"teamId": team_id} if team_id else None,
        )

    def close(self) -> None:
        self._api.close()

    # -- Deployer ---------------------------------------------------------------------

    def staging_build(self, branch: str, sha: str) -> Deployment:
        short = sha[:7]
        builds = [
            d
            for d in self._deployments(
                {"target": "staging", "sha": sha},
                doing=f"find the staging build of {branch} at {short}",
            )
            # The query already asks for these; checking again keeps another branch's build
            # of the same commit (or an API that ignores a filter) from passing for ours.
            if _str(d, "target") == "staging"
            and _meta(d, "githubCommitSha") == sha
            and _meta(d, "githubCommitRef") == branch
        ]
        if not builds:
            raise Waiting(
                f"Vercel has not started the staging build of {short} yet",
                retry_after=self.poll_seconds,
            )
        # A commit can be built more than once (a redeploy): any ready build of it will do,
        # and one still building is worth waiting for even if an earlier attempt failed.
        states = {_str(d, "readyState") for d in builds}
        ready = _newest([d for d in builds if _str(d, "readyState") == "READY"])
        if ready is not None:
            return _from_list(ready)
        if states & IN_PROGRESS:
            raise Waiting(
                f"Vercel is still building the staging build of {short}",
                retry_after=self.poll_seconds,
            )
        if "BLOCKED" in states:
            # Held back by Vercel (e.g. the commit's author is not in the team) until
            # someone approves it there: not a failure, but nothing the bot can do.
            raise Waiting(
                f"Vercel is holding back the staging build of {short} (BLOCKED): "
                "approve it in Vercel",
                retry_after=self.poll_seconds,
            )
        newest = _newest(builds)
        state = _str(newest, "readyState") if newest else "unknown"
        raise IntegrationError(
            f"the staging build of {branch} at {short} failed on Vercel ({state})"
        )

    def current_staging(self, branch: str) -> Deployment:
        ready = _newest(
            [
                d
                for d in self._deployments(
                    {"target": "staging", "branch": branch, "state": "READY"},
                    doing=f"find the staging build of {branch}",
                )
                if _str(d, "target") == "staging"
                and _meta(d, "githubCommitRef") == branch
                and _str(d, "readyState") == "READY"
            ]
        )
        if ready is None:
            raise IntegrationError(f"Vercel has no ready staging build of {branch}")
        return _from_list(ready)

    def production(self) -> Deployment | None:
        return _production(self._project())

    def promote(self, staging: Deployment) -> None:
        project = self._project()
        if self._asked_already(project, staging.id):
            return
        self._call(
            "POST",
            f"/v10/projects/{self.project_id}/promote/{staging.id}",
            doing=f"promote {staging.id} to production",
            ok=(201, 202),
        )

    def rollback(self, to: Deployment) -> None:
        project = self._project()
        if self._asked_already(project, to.id):
            return
        self._call(
            "POST",
            f"/v1/projects/{self.project_id}/rollback/{to.id}",
            doing=f"roll production back to {to.id}",
            ok=(200, 201),
        )

    def await_production(self, deployment: Deployment) -> Deployment:
        project = self._project()
        serving = _production(project)
        if serving is not None and serving.id == deployment.id:
            return Deployment(
                deployment.id,
                production_url(project) or serving.url,
                serving.sha or deployment.sha,
            )
        last = _dict(project, "lastAliasRequest")
        ours = _str(last, "toDeploymentId") == deployment.id
        # The promote aliases describe the *last* alias request; when that request is for
        # another deployment, its failures are not ours to report.
        if not last or ours:
            failed = self._failed_aliases()
            if failed:
                raise IntegrationError(
                    f"Vercel could not promote {deployment.id}: "
                    f"{', '.join(failed)} did not switch to it"
                )
            if ours and _str(last, "jobStatus") == "failed":
                raise IntegrationError(
                    f"Vercel could not promote {deployment.id}: its "
                    f"{_str(last, 'type') or 'promotion'} failed"
                )
        raise Waiting(
            f"production does not serve {deployment.id} yet", retry_after=self.poll_seconds
        )

    # -- the calls --------------------------------------------------------------------

    def _asked_already(self, project: Mapping[str, Any], deployment_id: str) -> bool:
        """Production serves it, or a promotion or rollback to it is under way: asking
        again would start a second one (a retry after a lost answer must not)."""
        serving = _production(project)
        if serving is not None and serving.id == deployment_id:
            return True
        last = _dict(project, "lastAliasRequest")
        return (
            _str(last, "toDeploymentId") == deployment_id
            and _str(last, "jobStatus") in ALIAS_JOB_UNDER_WAY
        )

    def _project(self) -> dict[str, Any]:
        doing = f"read project {self.project_id}"
        response = self._call(
            "GET", f"/v9/projects/{self.project_id}", doing=doing, project_missing=True
        )
        return _body(response, doing)

    def _deployments(self, query: Mapping[str, str], *, doing: str) -> list[dict[str, Any]]:
        response = self._call(
            "GET",
            "/v7/deployments",
            doing=doing,
            params={"projectId": self.project_id, "limit": str(PAGE), **query},
            project_missing=True,
        )
        listed = _body(response, doing).get("deployments")
        return [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []

    def _failed_aliases(self) -> list[str]:
        doing = "check the promotion's domains"
        response = self._call(
            "GET",
            f"/v1/projects/{self.project_id}/promote/aliases",
            doing=doing,
            params={"failedOnly": "true"},
            project_missing=True,
        )
        aliases = _body(response, doing).get("aliases")
        if not isinstance(aliases, list):
            return []
        return [
            _str(a, "alias") or _str(a, "id")
            for a in aliases
            if isinstance(a, dict) and _str(a, "status") == "failed"
        ]

    def _call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        ok: Collection[int] = (200,),
        params: Mapping[str, str] | None = None,
        project_missing: bool = False,
    ) -> httpx.Response:
        """One request; a 404 of a call about the project says which settings to check,
        and so does a refused token."""
        response = self._api.call(method, path, doing=doing, ok=(*ok, 401, 403, 404), params=params)
        status = response.status_code
        if status in ok:
            return response
        if status == 404 and project_missing:
            raise IntegrationError(
                f"Vercel has no project {self.project_id} "
                "(check VERCEL_PROJECT_ID and VERCEL_TEAM_ID)"
            )
        error = refusal("Vercel", doing, response)
        if status in (401, 403) and not isinstance(error, TransientError):
            raise IntegrationError(f"{error} (check VERCEL_TOKEN and VERCEL_TEAM_ID)")
        raise error


def production_url(project: Mapping[str, Any]) -> str | None:
    """Production's address: the project's first domain (its aliases come as plain names or
    as objects with a `domain`); None when it lists none. The aliases of the deployment
    itself are no substitute: they include its branch's own preview address."""
    aliases = project.get("alias")
    for alias in aliases if isinstance(aliases, list) else []:
        domain = alias if isinstance(alias, str) else _str(alias, "domain")
        if domain:
            return "https://" + domain
    return None


def _production(project: Mapping[str, Any]) -> Deployment | None:
    target = _dict(_dict(project, "targets"), "production")
    deployment_id = _str(target, "id")
    if not deployment_id:
        return None
    return Deployment(deployment_id, _https(_str(target, "url")), _meta(target, "githubCommitSha"))


def _from_list(item: Mapping[str, Any]) -> Deployment:
    return Deployment(_str(item, "uid"), _https(_str(item, "url")), _meta(item, "githubCommitSha"))


def _newest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    def created(item: Mapping[str, Any]) -> float:
        value = item.get("createdAt", item.get("created"))
        return float(value) if isinstance(value, int | float) else 0.0

    return max(items, key=created, default=None)


def _body(response: httpx.Response, doing: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # A proxy's page in place of Vercel's answer: worth another try later.
        raise TransientError(f"Vercel sent an answer that is not its API's when asked to {doing}")
    return body


def _https(host: str) -> str:
    return host if host.startswith(("https://", "http://")) or not host else "https://" + host


def _dict(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, dict) else {}


def _str(parent: Any, key: str) -> str:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, str) else ""


def _meta(item: Mapping[str, Any], key: str) -> str:
    return _str(_dict(item, "meta"), key)

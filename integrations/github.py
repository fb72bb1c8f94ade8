"""The real GitHub client: the release branch, the version bump, the change log, merged pull
requests, deployment records and the regression workflow, over GitHub's REST API.

Every operation may be called again after it succeeded (a crash can come between the call
and the record of its result), so each one first looks at what is already there: an
existing branch, a version already set, a change-log entry already written, a deployment
status already posted, a workflow run already started. Every request goes through
`Api.call`, which applies the time limit and sorts failures into `TransientError` (worth
retrying) and `IntegrationError` (a definite refusal). Messages name the repository, the
branch or the workflow, never the token or a response body.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from integrations.http import Api, refusal
from integrations.ports import (
    IntegrationError,
    MergedPulls,
    PullRequest,
    RegressionRun,
    TransientError,
    Waiting,
)

#: The search API answers at most 1,000 results; release notes show far fewer, and
#: `full_list_url` lists the rest.
SEARCH_PAGE_SIZE = 100
SEARCH_PAGE_LIMIT = 5

#: GitHub cuts a deployment status's description at 140 characters.
STATUS_DESCRIPTION_LIMIT = 140

_VERSION_PAIR = re.compile(r'("version"\s*:\s*")((?:[^"\\]|\\.)*)(")')


class GitHub:
    """`SourceControl` and `RegressionSuite` for one repository ("owner/name")."""

    def __init__(
        self,
        token: str,
        repository: str,
        *,
        api_url: str = "https://api.github.com",
        workflow: str = "regression.yml",
        timeout: float = 15.0,
        poll_seconds: float = 15.0,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"a GitHub repository is named owner/name, not {repository!r}")
        self.repository = repository
        self.workflow = workflow
        self.poll_seconds = poll_seconds
        self.web_url = web_url(api_url)
        self._repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._api = Api(
            "GitHub",
            api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "release-bot",
            },
            timeout=timeout,
        )

    def __repr__(self) -> str:  # never the token
        return f"GitHub({self.repository!r})"

    def close(self) -> None:
        self._api.close()

    # -- SourceControl -------------------------------------------------------------

    def create_release_branch(self, branch: str, base: str = "main") -> str:
        # `base` is a branch, or a commit (a hotfix starts from what production serves).
        base_sha = base if re.fullmatch(r"[0-9a-f]{40}", base) else self.head(base)
        doing = f"create the branch {branch}"
        response = self._api.call(
            "POST",
            f"{self._repo_path}/git/refs",
            doing=doing,
            ok=(201, 422),
            json={"ref": f"refs/heads/{branch}", "sha": base_sha},
        )
        if response.status_code == 201:
            return _str(_json(response, doing), "object", "sha", doing=doing)
        if "already exists" not in _said(response).lower():
            raise refusal(self._api.name, doing, response)
        # Created by an earlier call whose answer was lost: its head is the answer. (After
        # the version bump that is the bump's commit; the caller records the first answer.)
        return self.head(branch)

    def bump_version(self, branch: str, version: str) -> str:
        if branch in ("main", "master"):
            raise IntegrationError(f"the version is bumped on the release branch, not {branch}")
        wanted = version.removeprefix("v")
        found = self._file("package.json", branch, doing=f"read package.json on {branch}")
        if found is None:
            raise IntegrationError(f"{branch} in {self.repository} has no package.json")
        text, blob_sha = found
        try:
            package = json.loads(text)
        except ValueError:
            raise IntegrationError(f"package.json on {branch} is not valid JSON") from None
        if not isinstance(package, dict):
            raise IntegrationError(f"package.json on {branch} is not a JSON object")
        if package.get("version") == wanted:
            return self.head(branch)  # bumped already: no second commit
        doing = f"bump the version on {branch}"
        response = self._api.call(
            "PUT",
            f"{self._repo_path}/contents/package.json",
            doing=doing,
            ok=(200, 201, 409),
            json={
                "message": f"chore(release): v{wanted}",
                "content": _b64(_with_version(text, package, wanted)),
                "sha": blob_sha,
                "branch": branch,
            },
        )
        if response.status_code == 409:  # someone pushed to the branch meanwhile
            raise TransientError(f"package.json on {branch} changed while bumping the version")
        return _str(_json(response, doing), "commit", "sha", doing=doing)

    def head(self, branch: str) -> str:
        doing = f"read the head of {branch}"
        response = self._call(
            "GET",
            f"/git/ref/heads/{quote(branch, safe='/')}",
            doing=doing,
            missing=f"GitHub has no branch {branch} in {self.repository}",
        )
        return _str(_json(response, doing), "object", "sha", doing=doing)

    def merged_pulls(self, since: str | None, until: str) -> MergedPulls:
        # The search API selects by merge time, so the two commits become two instants:
        # their committer dates (the moment each was merged onto main). Search times have
        # whole seconds, so "strictly after since" is "from one second after since".
        until_at = self._commit_date(until)
        span = f"<={_search_time(until_at)}"
        if since is not None:
            since_at = self._commit_date(since) + timedelta(seconds=1)
            if since_at > until_at:
                return MergedPulls((), self._pulls_page(f"{_search_time(since_at)}..*"))
            span = f"{_search_time(since_at)}..{_search_time(until_at)}"
        query = f"repo:{self.repository} is:pr is:merged base:main merged:{span}"
        doing = "list the pull requests merged since the last release"
        found: dict[int, tuple[str, PullRequest]] = {}
        for page in range(1, SEARCH_PAGE_LIMIT + 1):
            response = self._api.call(
                "GET",
                "/search/issues",
                doing=doing,
                params={"q": query, "per_page": SEARCH_PAGE_SIZE, "page": page},
            )
            body = _json(response, doing)
            if body.get("incomplete_results"):  # GitHub's search timed out part-way
                raise TransientError("GitHub's search answered only part of the merged pulls")
            items = body.get("items")
            if not isinstance(items, list):
                raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
            for item in items:
                merged_at, pull = _pull(item, doing)
                found[pull.number] = (merged_at, pull)
            total = body.get("total_count")
            if len(items) < SEARCH_PAGE_SIZE or (
                isinstance(total, int) and page * SEARCH_PAGE_SIZE >= total
            ):
                break
        ordered = sorted(found.values(), key=lambda pair: (pair[0], pair[1].number))
        return MergedPulls(tuple(pull for _, pull in ordered), self._pulls_page(span))

    def update_changelog(self, version: str, entry: str) -> None:
        tag = "v" + version.removeprefix("v")
        found = self._file("CHANGELOG.md", "main", doing="read CHANGELOG.md")
        text, blob_sha = found if found is not None else ("# Changelog\n", None)
        heading = re.compile(rf"^##\s+\[?v?{re.escape(tag[1:])}(?![\w.+-])", re.MULTILINE)
        if heading.search(text):
            return  # written by an earlier call
        updated = _insert_entry(text, entry)
        body: dict[str, Any] = {
            "message": f"docs(changelog): {tag}",
            "content": _b64(updated),
            "branch": "main",
        }
        if blob_sha is not None:
            body["sha"] = blob_sha
        doing = f"add {tag} to CHANGELOG.md"
        response = self._api.call(
            "PUT",
            f"{self._repo_path}/contents/CHANGELOG.md",
            doing=doing,
            ok=(200, 201, 409, 422),
            json=body,
        )
        said = _said(response)
        # 409: the file changed since it was read; 422 naming "sha": it was created
        # meanwhile. Either way someone else committed: read it again and retry.
        if response.status_code == 409 and not re.search("rule|protected", said, re.I):
            raise TransientError(f"CHANGELOG.md on main changed while adding {tag}")
        if response.status_code == 422 and "sha" in said:
            raise TransientError(f"CHANGELOG.md on main changed while adding {tag}")
        if response.status_code in (409, 422):
            raise refusal(self._api.name, doing, response)

    def record_deployment(
        self, environment: str, sha: str, state: str, url: str, description: str
    ) -> None:
        doing = f"record the {environment} deployment"
        listed = self._call(
            "GET",
            "/deployments",
            doing=doing,
            params={"sha": sha, "environment": environment, "per_page": 1},
        )
        existing = _json_list(listed, doing)
        if existing:  # newest first: a retry finds the one an earlier call made
            deployment_id = _int(existing[0], "id", doing=doing)
        else:
            created = self._call(
                "POST",
                "/deployments",
                doing=doing,
                ok=(201,),
                json={
                    "ref": sha,
                    "environment": environment,
                    "auto_merge": False,
                    "required_contexts": [],
                    "description": description[:STATUS_DESCRIPTION_LIMIT],
                    "transient_environment": False,
                    "production_environment": environment == "production",
                },
            )
            deployment_id = _int(_json(created, doing), "id", doing=doing)
        statuses = f"/deployments/{deployment_id}/statuses"
        newest = _json_list(self._call("GET", statuses, doing=doing, params={"per_page": 1}), doing)
        if newest and isinstance(newest[0], dict) and newest[0].get("state") == state:
            return  # posted by an earlier call
        self._call(
            "POST",
            statuses,
            doing=doing,
            ok=(201,),
            json={
                "state": state,
                "environment_url": url,
                "description": description[:STATUS_DESCRIPTION_LIMIT],
                "auto_inactive": True,
            },
        )

    # -- RegressionSuite -------------------------------------------------------------

    def dispatch(self, branch: str, sha: str) -> None:
        if self._runs(branch, sha):
            return  # started by an earlier call
        # A dispatch runs the branch's head: a branch that moved on would test another
        # commit, and `result` would wait for `sha` for ever.
        if (current := self.head(branch)) != sha:
            raise IntegrationError(
                f"{branch} has moved on from {sha[:7]} to {current[:7]}: "
                "the regression run would not test the commit asked for"
            )
        self._call(
            "POST",
            f"/actions/workflows/{quote(self.workflow, safe='')}/dispatches",
            doing=f"start the {self.workflow} workflow on {branch}",
            ok=(200, 204),
            json={"ref": branch},
            missing=self._no_workflow(),
        )

    def result(self, branch: str, sha: str) -> RegressionRun:
        runs = self._runs(branch, sha)
        if not runs:
            raise Waiting(
                "the regression workflow has not started yet", retry_after=self.poll_seconds
            )
        doing = f"read the {self.workflow} run for {sha[:7]}"
        run = max(runs, key=lambda r: (str(r.get("created_at") or ""), _int(r, "id", doing=doing)))
        status = run.get("status")
        if status != "completed":
            raise Waiting(f"the regression workflow is {status}", retry_after=self.poll_seconds)
        return RegressionRun(
            str(run.get("conclusion") or "unknown"),
            str(run.get("html_url") or ""),
            str(run.get("head_sha") or sha),
        )

    # -- helpers ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        ok: tuple[int, ...] = (200,),
        json: Any = None,
        params: dict[str, Any] | None = None,
        missing: str | None = None,
    ) -> httpx.Response:
        """A call on the repository; a 404 becomes `missing` (by default: no repository)."""
        response = self._api.call(
            method, self._repo_path + path, doing=doing, ok=(*ok, 404), json=json, params=params
        )
        if response.status_code == 404 and 404 not in ok:
            raise IntegrationError(
                missing
                or f"GitHub has no repository {self.repository} (or the token may not read it)"
            )
        return response

    def _no_workflow(self) -> str:
        return f"GitHub has no workflow {self.workflow} in {self.repository}"

    def _runs(self, branch: str, sha: str) -> list[dict[str, Any]]:
        doing = f"look for {self.workflow} runs on {branch}"
        response = self._call(
            "GET",
            f"/actions/workflows/{quote(self.workflow, safe='')}/runs",
            doing=doing,
            params={"branch": branch, "head_sha": sha, "per_page": 20},
            missing=self._no_workflow(),
        )
        runs = _json(response, doing).get("workflow_runs")
        if not isinstance(runs, list):
            raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
        return [r for r in runs if isinstance(r, dict) and r.get("head_sha") == sha]

    def _file(self, path: str, ref: str, *, doing: str) -> tuple[str, str] | None:
        """A file's text and blob sha on `ref`; None when there is no such file."""
        response = self._call(
            "GET", f"/contents/{quote(path)}", doing=doing, ok=(200, 404), params={"ref": ref}
        )
        if response.status_code == 404:
            # The same answer says "no file" and "no branch": tell them apart.
            self.head(ref)
            return None
        body = _json(response, doing)
        if body.get("type") != "file" or body.get("encoding") != "base64":
            # Over 1 MB GitHub sends no content ("encoding": "none"): writing the file back
            # from that would erase it.
            raise IntegrationError(f"{path} on {ref} is too large or not a file to edit here")
        try:
            text = base64.b64decode(str(body["content"])).decode("utf-8")
            return text, str(body["sha"])
        except (KeyError, ValueError):
            raise IntegrationError(
                f"GitHub sent an unexpected answer when asked to {doing}"
            ) from None

    def _commit_date(self, ref: str) -> datetime:
        doing = f"read the commit {ref[:12]}"
        response = self._call(
            "GET",
            f"/commits/{quote(ref, safe='/')}",
            doing=doing,
            ok=(200, 422),
            missing=f"GitHub has no commit {ref[:12]} in {self.repository}",
        )
        if response.status_code == 422:  # GitHub's answer to an unknown sha
            raise IntegrationError(f"GitHub has no commit {ref[:12]} in {self.repository}")
        date = _str(_json(response, doing), "commit", "committer", "date", doing=doing)
        try:
            return datetime.fromisoformat(date).astimezone(UTC)
        except ValueError:
            raise IntegrationError(
                f"GitHub sent an unreadable date when asked to {doing}"
            ) from None

    def _pulls_page(self, span: str) -> str:
        query = f"is:pr is:merged base:main merged:{span}"
        return f"{self.web_url}/{self.repository}/pulls?{urlencode({'q': query})}"


def web_url(api_url: str) -> str:
    """The web site of a GitHub API: github.com for api.github.com; for GitHub Enterprise
    Server (`https://ghe.example.com/api/v3`) and anything else, the API's scheme and host."""
    parts = urlsplit(api_url)
    if parts.hostname == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{parts.netloc}"


def _with_version(text: str, package: dict[str, Any], version: str) -> str:
    """`text` with its top-level version set, its formatting kept where a regex can."""
    wanted = dict(package, version=version)
    for match in _VERSION_PAIR.finditer(text):  # the first pair that is the top-level one
        candidate = text[: match.start(2)] + json.dumps(version)[1:-1] + text[match.end(2) :]
        try:
            if json.loads(candidate) == wanted:
                return candidate
        except ValueError:
            continue
    return json.dumps(wanted, indent=2, ensure_ascii=False) + "\n"


def _insert_entry(text: str, entry: str) -> str:
    """`entry` above the newest `## ` entry of a change log (at its end if it has none)."""
    block = entry.strip("\n") + "\n\n"
    first = re.search(r"^## ", text, re.MULTILINE)
    if first is None:
        return text.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    return text[: first.start()] + block + text[first.start() :]


def _search_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _pull(item: Any, doing: str) -> tuple[str, PullRequest]:
    """A search result as a pull request, with its merge time for ordering."""
    if not isinstance(item, dict):
        raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
    user = item.get("user") if isinstance(item.get("user"), dict) else {}
    labels = item.get("labels") if isinstance(item.get("labels"), list) else []
    details = item.get("pull_request") if isinstance(item.get("pull_request"), dict) else {}
    pull = PullRequest(
        number=_int(item, "number", doing=doing),
        title=str(item.get("title") or ""),
        url=str(item.get("html_url") or ""),
        author=str((user or {}).get("login") or ""),
        labels=tuple(
            str(label["name"])
            for label in labels or []
            if isinstance(label, dict) and label.get("name")
        ),
    )
    return str((details or {}).get("merged_at") or item.get("closed_at") or ""), pull


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _said(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message") or "") if isinstance(body, dict) else ""


def _json(response: httpx.Response, doing: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
    return body


def _json_list(response: httpx.Response, doing: str) -> list[Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, list):
        raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
    return body


def _str(body: dict[str, Any], *keys: str, doing: str) -> str:
    value: Any = body
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
    return value


def _int(body: Any, key: str, *, doing: str) -> int:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise IntegrationError(f"GitHub sent an unexpected answer when asked to {doing}")
    return value

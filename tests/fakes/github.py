"""A local stand-in for GitHub's REST API, holding one repository in memory.

It answers the calls the release bot's GitHub client makes, with GitHub's shapes (copied,
trimmed, from GitHub's REST description): refs, file contents, commits, the issue search
with its `merged:` ranges, deployments and their statuses, workflow runs and dispatches.
Its refusals are GitHub's too: 401 "Bad credentials" without the fake's token, 404 for an
unknown repository, branch, file or workflow, 422 for an existing ref or a missing blob
sha, 409 for a stale blob sha.

Tests make it fail every way GitHub does, as the fake Slack does: an HTTP error status
(`fail_next`, `fail_always` / `heal`), a slow answer (`hang_next`: the call takes effect,
only its answer is late) and a dropped connection (`reset_next`: no effect). A `route` is
"*" or a substring of "METHOD /path", e.g. "/git/refs", "POST /repos/acme/portal/deployments"
(which also matches its statuses) or "dispatches". Every call is recorded in `calls`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from tests.fakes.loopback import LoopbackApi, Query, Reply

PACKAGE_JSON = """{
  "name": "portal",
  "version": "1.3.0",
  "private": true,
  "scripts": {
    "build": "next build",
    "test": "vitest run"
  },
  "engines": {
    "node": ">=20"
  },
  "dependencies": {
    "next": "14.2.3",
    "react": "18.3.1"
  }
}
"""

CHANGELOG_MD = """# Changelog

All notable changes to the portal are listed here, newest first.

## v1.3.0 — 2024-04-22

- Faster sign-in page (#12)
"""

Answer = tuple[int, Any]  # status and JSON payload (None: no body)
Args = dict[str, str]  # a route's path parameters, or a request's query
Body = dict[str, Any]
Route = Callable[[Args, Args, Body], Answer]
Call = tuple[str, str, Query, Any]  # method, path, query and JSON body, as `calls` keeps them
WEB = "https://github.com"


@dataclass
class Commit:
    sha: str
    parent: str | None
    date: str  # the committer date, ISO 8601 in UTC
    message: str
    files: dict[str, str]


@dataclass(frozen=True)
class Pull:
    number: int
    title: str
    author: str
    labels: tuple[str, ...]
    merged_at: str
    merge_commit_sha: str
    base: str = "main"


@dataclass
class Run:
    id: int
    workflow: str
    branch: str
    head_sha: str
    created_at: str
    event: str = "workflow_dispatch"
    status: str = "queued"
    conclusion: str | None = None
    polls: int = 0  # times a listing or a read showed it (for `auto_finish`)


@dataclass(frozen=True)
class DeploymentView:
    id: int
    environment: str
    sha: str
    states: tuple[str, ...]  # oldest first
    production_environment: bool
    descriptions: tuple[str, ...] = ()


@dataclass
class _Deployment:
    id: int
    sha: str
    ref: str
    environment: str
    description: str
    production: bool
    transient: bool
    created_at: str
    statuses: list[dict[str, Any]] = field(default_factory=list)  # oldest first


def _git_sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


def _blob_sha(text: str) -> str:
    data = text.encode()  # git's own blob id, as GitHub reports it
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _when(text: str, *, end: bool) -> datetime:
    """A search bound: a date covers its whole day, a time is that second."""
    if len(text) == 10:
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1, seconds=-1) if end else day
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _merged_filter(value: str) -> tuple[datetime | None, bool, datetime | None, bool]:
    """GitHub's date qualifier syntax (A..B, either may be *; >A, >=A, <A, <=A; A) as
    (low, low included, high, high included)."""
    if ".." in value:
        low, high = value.split("..", 1)
        lo = None if low == "*" else _when(low, end=False)
        return lo, True, None if high == "*" else _when(high, end=True), True
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            bound = _when(value[len(op) :], end=op in ("<=", ">"))
            if op.startswith(">"):
                return bound, op == ">=", None, True
            return None, True, bound, op == "<="
    return _when(value, end=False), True, _when(value, end=True), True


def _within(span: tuple[datetime | None, bool, datetime | None, bool], when: datetime) -> bool:
    lo, lo_in, hi, hi_in = span
    above = lo is None or when > lo or (lo_in and when == lo)
    below = hi is None or when < hi or (hi_in and when == hi)
    return above and below


class FakeGitHub(LoopbackApi[Call]):
    def __init__(
        self,
        token: str = "ghp_fake_release_bot",  # noqa: S107 (the fake's own stand-in token)
        repository: str = "acme/portal",
        *,
        workflows: tuple[str, ...] = ("regression.yml",),
        auto_finish: str | None = None,
        auto_finish_after: int = 2,
    ) -> None:
        """`auto_finish`: complete every run with that conclusion once it has been shown
        `auto_finish_after` times (queued on the first, in progress after)."""
        super().__init__()
        self.token = token
        self.repository = repository
        self.workflows = set(workflows)
        self.auto_finish = auto_finish
        self.auto_finish_after = auto_finish_after
        self.headers: list[dict[str, str]] = []  # each call's request headers, as `calls`
        self._clock = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
        self._ids = itertools.count(1)
        self._numbers = itertools.count(20)
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        self._pulls: list[Pull] = []
        self._runs: list[Run] = []
        self._deployments: list[_Deployment] = []
        root = self._commit(None, "Initial commit", {"package.json": PACKAGE_JSON})
        self.branches["main"] = self._commit(
            root, "Add a change log", {"CHANGELOG.md": CHANGELOG_MD}
        )

    # -- what tests read and do ------------------------------------------------------

    def head(self, branch: str = "main") -> str:
        with self._lock:
            return self.branches[branch]

    def file(self, path: str, ref: str = "main") -> str | None:
        """A file's text on a branch or at a commit (None: no such file)."""
        with self._lock:
            return self.commits[self.branches.get(ref, ref)].files.get(path)

    def log(self, branch: str = "main") -> list[Commit]:
        """The commits of `branch`, newest first."""
        with self._lock:
            found, sha = [], self.branches.get(branch)
            while sha is not None:
                found.append(copy.deepcopy(self.commits[sha]))
                sha = self.commits[sha].parent
            return found

    def push(self, branch: str, path: str, text: str | None, message: str = "Edit") -> str:
        """Someone else commits `path` on `branch` (created from main if new); a `text` of
        None deletes the file."""
        with self._lock:
            parent = self.branches.get(branch, self.branches["main"])
            self.branches[branch] = self._commit(parent, message, {path: text})
            return self.branches[branch]

    def merge_pull(self, title: str, labels: tuple[str, ...] = (), author: str = "octocat") -> Pull:
        """A pull request merged into main now (a squash commit, one minute after the last)."""
        with self._lock:
            number = next(self._numbers)
            path = f"src/change-{number}.ts"
            sha = self._commit(self.branches["main"], f"{title} (#{number})", {path: title})
            self.branches["main"] = sha
            pull = Pull(number, title, author, tuple(labels), self.commits[sha].date, sha)
            self._pulls.append(pull)
            return pull

    def pulls(self) -> list[Pull]:
        with self._lock:
            return list(self._pulls)

    def runs(self) -> list[Run]:
        """Workflow runs, oldest first."""
        with self._lock:
            return [copy.copy(run) for run in self._runs]

    def finish_run(self, conclusion: str = "success", run_id: int | None = None) -> Run:
        """Complete a run (the newest when `run_id` is None) with `conclusion`."""
        with self._lock:
            run = next(r for r in reversed(self._runs) if run_id in (None, r.id))
            run.status, run.conclusion = "completed", conclusion
            return copy.copy(run)

    def deployments(self) -> list[DeploymentView]:
        """Deployments, oldest first, with their statuses' states oldest first."""
        with self._lock:
            return [
                DeploymentView(
                    d.id,
                    d.environment,
                    d.sha,
                    tuple(s["state"] for s in d.statuses),
                    d.production,
                    tuple(s["description"] for s in d.statuses),
                )
                for d in self._deployments
            ]

    def count(self, route: str) -> int:
        """How many calls matched `route` (a substring of "METHOD /path"), failed ones too."""
        with self._lock:
            return sum(route in f"{m} {p}" for m, p, _, _ in self.calls)

    # -- the HTTP side ---------------------------------------------------------------

    def _call(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Call:
        self.headers.append(dict(headers.items()))
        return method, path, query, _json(body)[0]

    def _answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        sent, readable = _json(body)
        if headers.get("Authorization") not in (f"Bearer {self.token}", f"token {self.token}"):
            status, payload = 401, _message("Bad credentials")
        elif not readable:
            status, payload = 400, _message("Problems parsing JSON")
        else:
            status, payload = self._route(method, path, query, sent)
        return Reply(status, payload, {"X-RateLimit-Remaining": "4999"})

    def _error(self, status: int) -> Any:
        return _message({429: "API rate limit exceeded"}.get(status, HTTPStatus(status).phrase))

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        if method == "GET" and path == "/search/issues":
            return self._search(query)
        prefix = f"/repos/{self.repository}/"
        if not path.startswith(prefix):
            return 404, _message("Not Found")
        rest = path.removeprefix(prefix)
        for verb, pattern, handler in self._routes():
            if verb == method and (match := re.fullmatch(pattern, rest)):
                args = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(args, query, body if isinstance(body, dict) else {})
        return 404, _message("Not Found")

    def _routes(self) -> list[tuple[str, str, Route]]:
        return [
            ("GET", r"git/ref/heads/(?P<branch>.+)", self._get_ref),
            ("POST", r"git/refs", self._create_ref),
            ("GET", r"contents/(?P<path>.+)", self._get_content),
            ("PUT", r"contents/(?P<path>.+)", self._put_content),
            ("GET", r"commits/(?P<ref>.+)", self._get_commit),
            ("GET", r"deployments", self._list_deployments),
            ("POST", r"deployments", self._create_deployment),
            ("GET", r"deployments/(?P<id>\d+)/statuses", self._list_statuses),
            ("POST", r"deployments/(?P<id>\d+)/statuses", self._create_status),
            ("GET", r"actions/workflows/(?P<workflow>[^/]+)/runs", self._list_runs),
            ("POST", r"actions/workflows/(?P<workflow>[^/]+)/dispatches", self._dispatch),
            ("GET", r"actions/runs/(?P<id>\d+)", self._get_run),
        ]

    # -- refs, contents and commits ----------------------------------------------------

    def _api(self, rest: str) -> str:
        return f"{self.base_url}/repos/{self.repository}/{rest}"

    def _ref(self, branch: str) -> dict[str, Any]:
        sha = self.branches[branch]
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": base64.b64encode(f"ref:{branch}".encode()).decode(),
            "url": self._api(f"git/refs/heads/{branch}"),
            "object": {"type": "commit", "sha": sha, "url": self._api(f"git/commits/{sha}")},
        }

    def _get_ref(self, args: Args, _q: Args, _b: Body) -> Answer:
        if args["branch"] not in self.branches:
            return 404, _message("Not Found")
        return 200, self._ref(args["branch"])

    def _create_ref(self, _a: Args, _q: Args, body: Body) -> Answer:
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not isinstance(sha, str):
            return 422, _message('Invalid request.\n\n"ref" and "sha" are required.')
        if not ref.startswith("refs/heads/") or ref == "refs/heads/":
            return 422, _message("Reference name invalid")
        if sha not in self.commits:
            return 422, _message("Object does not exist")
        branch = ref.removeprefix("refs/heads/")
        if branch in self.branches:
            return 422, _message("Reference already exists")
        self.branches[branch] = sha
        return 201, self._ref(branch)

    def _resolve(self, ref: str) -> str | None:
        """A branch name or a commit sha (7 characters or more) as a commit sha."""
        ref = ref.removeprefix("refs/heads/")
        if ref in self.branches:
            return self.branches[ref]
        found = [sha for sha in self.commits if len(ref) >= 7 and sha.startswith(ref)]
        return found[0] if len(found) == 1 else None

    def _get_content(self, args: Args, query: Args, _b: Body) -> Answer:
        ref = query.get("ref", "main")
        sha = self._resolve(ref)
        if sha is None:
            return 404, _message(f"No commit found for the ref {ref}")
        text = self.commits[sha].files.get(args["path"])
        if text is None:
            return 404, _message("Not Found")
        encoded = base64.encodebytes(text.encode()).decode()  # wrapped lines, as GitHub's
        meta = self._content_meta(args["path"], text, ref)
        return 200, {"type": "file", "encoding": "base64", "content": encoded, **meta}

    def _content_meta(self, path: str, text: str, ref: str) -> dict[str, Any]:
        blob = _blob_sha(text)
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob,
            "size": len(text.encode()),
            "url": self._api(f"contents/{path}?ref={ref}"),
            "html_url": f"{WEB}/{self.repository}/blob/{ref}/{path}",
            "git_url": self._api(f"git/blobs/{blob}"),
            "download_url": f"https://raw.githubusercontent.com/{self.repository}/{ref}/{path}",
        }

    def _put_content(self, args: Args, _q: Args, body: Body) -> Answer:
        path, branch = args["path"], str(body.get("branch") or "main")
        message, content = body.get("message"), body.get("content")
        if not isinstance(message, str) or not isinstance(content, str):
            return 422, _message('Invalid request.\n\n"message" and "content" are required.')
        if branch not in self.branches:
            return 404, _message(f"Branch {branch} not found")
        try:
            text = base64.b64decode("".join(content.split()), validate=True).decode()
        except ValueError:
            return 422, _message("content is not valid Base64")
        current = self.commits[self.branches[branch]].files.get(path)
        if current is not None and "sha" not in body:
            return 422, _message('Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and body["sha"] != _blob_sha(current):
            return 409, _message(f"{path} does not match {body['sha']}")
        sha = self._commit(self.branches[branch], message, {path: text})
        self.branches[branch] = sha
        return (201 if current is None else 200), {
            "content": {"type": "file", **self._content_meta(path, text, branch)},
            "commit": self._git_commit(self.commits[sha]),
        }

    def _commit(self, parent: str | None, message: str, changes: dict[str, str | None]) -> str:
        """A new commit a minute after the last one (dates strictly increase, so merge
        times order commits as on GitHub)."""
        self._clock += timedelta(minutes=1)
        date = self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        sha = _git_sha(parent or "", message, date, str(len(self.commits)))
        files = dict(self.commits[parent].files) if parent else {}
        for path, text in changes.items():
            if text is None:
                files.pop(path, None)
            else:
                files[path] = text
        self.commits[sha] = Commit(sha, parent, date, message, files)
        return sha

    def _git_commit(self, commit: Commit) -> dict[str, Any]:
        person = {"name": "Release Bot", "email": "release-bot@example.com", "date": commit.date}
        return {
            "sha": commit.sha,
            "url": self._api(f"git/commits/{commit.sha}"),
            "html_url": f"{WEB}/{self.repository}/commit/{commit.sha}",
            "author": person,
            "committer": person,
            "message": commit.message,
            "tree": {"sha": _git_sha("tree", commit.sha), "url": self._api("git/trees/x")},
            "parents": [{"sha": commit.parent}] if commit.parent else [],
            "verification": {"verified": False, "reason": "unsigned"},
        }

    def _get_commit(self, args: Args, _q: Args, _b: Body) -> Answer:
        sha = self._resolve(args["ref"])
        if sha is None:
            return 422, _message(f"No commit found for SHA: {args['ref']}")
        commit = self.commits[sha]
        git = self._git_commit(commit)
        return 200, {
            "sha": sha,
            "url": self._api(f"commits/{sha}"),
            "html_url": git["html_url"],
            "commit": {k: git[k] for k in ("url", "author", "committer", "message", "tree")},
            "parents": git["parents"],
            "files": [],
        }

    # -- search --------------------------------------------------------------------------

    def _search(self, query: Args) -> Answer:
        terms: list[tuple[str, str]] = []  # (qualifier, value); "" for a word of the title
        spans = []
        for term in query.get("q", "").split():
            key, colon, value = term.partition(":")
            if not colon:
                terms.append(("", term.lower()))
            elif key == "merged":
                try:
                    spans.append(_merged_filter(value))
                except ValueError:
                    return 422, _message("Validation Failed")
            elif key in ("repo", "base", "author", "label", "is"):
                terms.append((key, value))
            else:
                return 422, _message(f"Validation Failed: unknown qualifier {key}")
        found = [
            p
            for p in reversed(self._pulls)  # newest first, as "best match" often is
            if all(self._matches(p, key, value) for key, value in terms)
            and all(_within(span, _when(p.merged_at, end=False)) for span in spans)
        ]
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        if page * per_page > 1000:
            return 422, _message("Only the first 1000 search results are available")
        items = [self._issue(p) for p in found[(page - 1) * per_page : page * per_page]]
        return 200, {"total_count": len(found), "incomplete_results": False, "items": items}

    def _matches(self, pull: Pull, key: str, value: str) -> bool:
        """Whether a merged pull request meets one search term (all the fake holds are
        merged pull requests)."""
        if key == "is":
            return value in ("pr", "merged", "closed")
        own = {
            "": pull.title.lower(),
            "repo": self.repository,
            "base": pull.base,
            "author": pull.author,
        }
        if key == "label":
            return value in pull.labels
        return value in own[key] if key == "" else own[key] == value

    def _issue(self, pull: Pull) -> dict[str, Any]:
        html = f"{WEB}/{self.repository}/pull/{pull.number}"
        return {
            "url": self._api(f"issues/{pull.number}"),
            "repository_url": f"{self.base_url}/repos/{self.repository}",
            "html_url": html,
            "id": 5000 + pull.number,
            "number": pull.number,
            "title": pull.title,
            "user": {"login": pull.author, "id": 7, "type": "User", "html_url": f"{WEB}/x"},
            "labels": [
                {"id": n, "name": name, "color": "ededed", "default": False}
                for n, name in enumerate(pull.labels, 1)
            ],
            "state": "closed",
            "locked": False,
            "assignee": None,
            "comments": 0,
            "created_at": pull.merged_at,
            "updated_at": pull.merged_at,
            "closed_at": pull.merged_at,
            "author_association": "MEMBER",
            "pull_request": {
                "url": self._api(f"pulls/{pull.number}"),
                "html_url": html,
                "diff_url": html + ".diff",
                "patch_url": html + ".patch",
                "merged_at": pull.merged_at,
            },
            "body": None,
            "score": 1.0,
        }

    # -- deployments -----------------------------------------------------------------------

    def _deployment(self, d: _Deployment) -> dict[str, Any]:
        return {
            "url": self._api(f"deployments/{d.id}"),
            "id": d.id,
            "sha": d.sha,
            "ref": d.ref,
            "task": "deploy",
            "payload": {},
            "original_environment": d.environment,
            "environment": d.environment,
            "description": d.description,
            "creator": {"login": "release-bot", "id": 1, "type": "Bot"},
            "created_at": d.created_at,
            "updated_at": d.created_at,
            "statuses_url": self._api(f"deployments/{d.id}/statuses"),
            "repository_url": f"{self.base_url}/repos/{self.repository}",
            "transient_environment": d.transient,
            "production_environment": d.production,
        }

    def _list_deployments(self, _a: Args, q: Args, _b: Body) -> Answer:
        wanted = {k: q[k] for k in ("sha", "ref", "environment") if k in q}
        found = [
            self._deployment(d)
            for d in reversed(self._deployments)
            if all(getattr(d, k) == v for k, v in wanted.items())
        ]
        return 200, found[: min(int(q.get("per_page", "30")), 100)]

    def _create_deployment(self, _a: Args, _q: Args, body: Body) -> Answer:
        ref = body.get("ref")
        sha = self._resolve(ref) if isinstance(ref, str) else None
        if sha is None:
            return 422, _message(f"No ref found for: {ref}")
        environment = str(body.get("environment") or "production")
        deployment = _Deployment(
            next(self._ids),
            sha,
            str(ref),
            environment,
            str(body.get("description") or ""),
            bool(body.get("production_environment", environment == "production")),
            bool(body.get("transient_environment", False)),
            self._clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self._deployments.append(deployment)
        return 201, self._deployment(deployment)

    def _find_deployment(self, number: str) -> _Deployment | None:
        return next((d for d in self._deployments if d.id == int(number)), None)

    def _list_statuses(self, args: Args, q: Args, _b: Body) -> Answer:
        deployment = self._find_deployment(args["id"])
        if deployment is None:
            return 404, _message("Not Found")
        newest_first = list(reversed(deployment.statuses))
        return 200, newest_first[: min(int(q.get("per_page", "30")), 100)]

    def _create_status(self, args: Args, _q: Args, body: Body) -> Answer:
        deployment = self._find_deployment(args["id"])
        if deployment is None:
            return 404, _message("Not Found")
        states = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
        description = str(body.get("description") or "")
        if body.get("state") not in states or len(description) > 140:
            return 422, _message("Validation Failed")
        status = {
            "url": self._api(f"deployments/{deployment.id}/statuses/{len(deployment.statuses)}"),
            "id": next(self._ids),
            "state": body["state"],
            "description": description,
            "environment": deployment.environment,
            "environment_url": str(body.get("environment_url") or ""),
            "log_url": str(body.get("log_url") or ""),
            "target_url": str(body.get("target_url") or ""),
            "auto_inactive": bool(body.get("auto_inactive", True)),
            "created_at": self._clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "deployment_url": self._api(f"deployments/{deployment.id}"),
        }
        deployment.statuses.append(status)
        return 201, status

    # -- workflow runs -----------------------------------------------------------------------

    def _run(self, run: Run) -> dict[str, Any]:
        name = run.workflow.rsplit(".", 1)[0].capitalize()
        return {
            "id": run.id,
            "name": name,
            "head_branch": run.branch,
            "head_sha": run.head_sha,
            "path": f".github/workflows/{run.workflow}@{run.branch}",
            "run_number": run.id,
            "event": run.event,
            "display_title": name,
            "status": run.status,
            "conclusion": run.conclusion,
            "url": self._api(f"actions/runs/{run.id}"),
            "html_url": f"{WEB}/{self.repository}/actions/runs/{run.id}",
            "created_at": run.created_at,
            "updated_at": run.created_at,
            "run_attempt": 1,
            "run_started_at": run.created_at,
        }

    def _poll(self, run: Run) -> dict[str, Any]:
        """A run as shown now; each showing moves an `auto_finish` run along."""
        run.polls += 1
        if self.auto_finish is not None and run.status != "completed":
            if run.polls > self.auto_finish_after:
                run.status, run.conclusion = "completed", self.auto_finish
            elif run.polls > 1:
                run.status = "in_progress"
        return self._run(run)

    def _list_runs(self, args: Args, q: Args, _b: Body) -> Answer:
        if args["workflow"] not in self.workflows:
            return 404, _message("Not Found")
        found = [
            r
            for r in reversed(self._runs)
            if r.workflow == args["workflow"]
            and q.get("branch", r.branch) == r.branch
            and q.get("head_sha", r.head_sha) == r.head_sha
            and q.get("event", r.event) == r.event
        ]
        per_page, page = min(int(q.get("per_page", "30")), 100), int(q.get("page", "1"))
        shown = [self._poll(r) for r in found[(page - 1) * per_page : page * per_page]]
        return 200, {"total_count": len(found), "workflow_runs": shown}

    def _dispatch(self, args: Args, _q: Args, body: Body) -> Answer:
        if args["workflow"] not in self.workflows:
            return 404, _message("Not Found")
        ref = str(body.get("ref") or "").removeprefix("refs/heads/")
        if ref not in self.branches:
            return 422, _message(f"No ref found for: {ref}")
        run = Run(
            next(self._ids),
            args["workflow"],
            ref,
            self.branches[ref],
            self._clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self._runs.append(run)
        return 204, None

    def _get_run(self, args: Args, _q: Args, _b: Body) -> Answer:
        run = next((r for r in self._runs if r.id == int(args["id"])), None)
        return (200, self._poll(run)) if run else (404, _message("Not Found"))


def _json(body: bytes) -> tuple[Any, bool]:
    """A request's JSON body (None: none) and whether it was readable."""
    try:
        return (json.loads(body) if body else None), True
    except ValueError:
        return None, False


def _message(text: str) -> dict[str, Any]:
    return {"message": text, "documentation_url": "https://docs.github.com/rest"}

"""The interfaces the release process needs from GitHub, Vercel, the smoke tests and e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class IntegrationError(Exception):
    """An outside system refused or failed; the message is safe to show a user."""


class TransientError(IntegrationError):
    """A failure worth retrying (5xx, 429, a timeout, a reset): the step runs again later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Waiting(TransientError):
    """The outside system is still at work (a build, a workflow run, a promotion): ask again
    after `retry_after` seconds. Not a failure: it does not count as an attempt, but a step
    waits only so long (its `wait_limit`)."""


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str
    sha: str = ""  # the commit it was built from, when known


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str  # as its author typed it: escape before it reaches Slack or HTML
    url: str
    author: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergedPulls:
    pulls: tuple[PullRequest, ...]
    full_list_url: str  # a page listing every one of them (notes show only so many)


@dataclass(frozen=True)
class RegressionRun:
    conclusion: str  # GitHub's: success, failure, cancelled, timed_out, …
    url: str  # the run's page
    sha: str  # the commit it tested

    @property
    def passed(self) -> bool:
        return self.conclusion == "success"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    message_id: str  # stable per release, so a repeated send is recognisable as one message


# Every operation below may be called again after it succeeded (a crash can come between
# the call and the record of its result): it must then return the same result without
# doing the work twice. An operation raises `TransientError` for what may pass (5xx, 429,
# timeouts, resets), `Waiting` while the outside system is still at work, and
# `IntegrationError` for a definite refusal.


class SourceControl(Protocol):
    def create_release_branch(self, branch: str, base: str = "main") -> str:
        """Create `branch` from `base`'s head; returns the commit it points at."""
        ...

    def bump_version(self, branch: str, version: str) -> str:
        """Set `version` in package.json on `branch` (never on main); returns the branch's
        head commit afterwards."""
        ...

    def head(self, branch: str) -> str:
        """The commit `branch` points at now."""
        ...

    def merged_pulls(self, since: str | None, until: str) -> MergedPulls:
        """Pull requests merged into main after commit `since` (the previous release's
        branch point; None for the first release) up to commit `until`."""
        ...

    def update_changelog(self, version: str, entry: str) -> None:
        """Add `entry` (Markdown, headed by `version`) to CHANGELOG.md on main, keeping the
        older entries; nothing if the file already has an entry for `version`."""
        ...

    def record_deployment(
        self, environment: str, sha: str, state: str, url: str, description: str
    ) -> None:
        """Record a deploy of `sha` to `environment` (`staging` or `production`) as a GitHub
        deployment with a status (`in_progress`, `success`, `failure`, `inactive`)."""
        ...


class RegressionSuite(Protocol):
    def dispatch(self, branch: str, sha: str) -> None:
        """Start the regression workflow on `branch`, unless a run for `sha` exists."""
        ...

    def result(self, branch: str, sha: str) -> RegressionRun:
        """The finished run for `sha`; `Waiting` while it is queued or running."""
        ...


class Deployer(Protocol):
    def staging_build(self, branch: str, sha: str) -> Deployment:
        """The staging deployment built from exactly `sha` of `branch`, once it is ready;
        `Waiting` while it is not there yet or still building; `IntegrationError` when
        its build failed."""
        ...

    def current_staging(self, branch: str) -> Deployment:
        """The staging deployment of `branch` now: the build a regression run just tested."""
        ...

    def production(self) -> Deployment | None:
        """What production serves now (None before anything was ever promoted)."""
        ...

    def promote(self, staging: Deployment) -> None:
        """Ask for exactly this staging deployment to be promoted to production; nothing if
        production serves it already."""
        ...

    def rollback(self, to: Deployment) -> None:
        """Ask for production to go back to `to`, an earlier production deployment; nothing
        if production serves it already."""
        ...

    def await_production(self, deployment: Deployment) -> Deployment:
        """Production's view of `deployment` once production serves it; `Waiting` while a
        promotion or rollback is under way; `IntegrationError` if it failed."""
        ...


class SmokeTests(Protocol):
    def run(self, production: Deployment) -> list[CheckResult]: ...


class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Send `email` to the release notes' recipients."""
        ...


class FlagProvider(Protocol):
    """Where flags take effect (LaunchDarkly); the bot's registry works without one."""

    def create(self, key: str, description: str) -> None:
        """A boolean flag, off; nothing if it exists already."""
        ...

    def scope(self, key: str, kind: str, value: str) -> None:
        """On for its scope only: a tenant or a role (a targeting rule on the context's
        `tenant` or `role` attribute), or a percentage of contexts (a rollout)."""
        ...

    def launch(self, key: str) -> None:
        """On for everyone (the global launch)."""
        ...

    def remove(self, key: str) -> None:
        """Archived: the code no longer reads it; nothing if it is archived already."""
        ...

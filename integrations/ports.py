"""The interfaces the release process needs from GitHub, Vercel and the smoke tests."""

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


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


# Every operation below may be called again after it succeeded (a crash can come between
# the call and the record of its result): it must then return the same result without
# doing the work twice.


class SourceControl(Protocol):
    def create_release_branch(self, branch: str, base: str = "main") -> str:
        """Create `branch` from `base`; returns the commit it points at."""
        ...

    def bump_version(self, branch: str, version: str) -> str:
        """Commit the version metadata bump on `branch`; returns the commit."""
        ...

    def release_notes(self, version: str, branch: str) -> str:
        """Release notes for `version` as Slack mrkdwn."""
        ...

    def update_changelog(self, version: str, notes: str) -> None: ...


class Deployer(Protocol):
    def deploy_staging(self, branch: str) -> Deployment: ...

    def current_staging(self, branch: str) -> Deployment:
        """The staging deployment of `branch` now: the build a regression run just tested."""
        ...

    def promote(self, staging: Deployment) -> Deployment:
        """Promote exactly this staging deployment to production.

        If production already serves it (a promotion that was interrupted after it was
        made), return that production deployment without promoting again.
        """
        ...


class SmokeTests(Protocol):
    def run(self, production: Deployment) -> list[CheckResult]: ...

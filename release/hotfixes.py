"""Hotfixes: the next unused patch of production, always signed by two different people."""

from __future__ import annotations

from collections.abc import Iterable

from release.versions import Version, parse_version

__all__ = ["needs_four_eyes", "next_hotfix"]


def next_hotfix(live: str, taken: Iterable[str]) -> Version:
    """The first patch above `live` that no release, even a cancelled one, has used.

    A version names one release for good, so after a cancelled v1.4.1 the hotfix is v1.4.2.
    """
    current = parse_version(live)
    if current is None:
        raise ValueError(f"{live!r} is not a vMAJOR.MINOR.PATCH version")
    used = set(taken)
    candidate = Version(current.major, current.minor, current.patch + 1)
    while str(candidate) in used:
        candidate = Version(candidate.major, candidate.minor, candidate.patch + 1)
    return candidate


def needs_four_eyes(*, hotfix: bool, configured: bool) -> bool:
    """Whether one person may sign at most one role on a review.

    A hotfix always needs two people, whatever FOUR_EYES says: the policy names two roles
    (Reliability Partner and Client Success Lead) precisely so no one approves alone.
    """
    return configured or hotfix

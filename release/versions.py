"""Release versions as the policy writes them: vMAJOR.MINOR.PATCH."""

from __future__ import annotations

import re
from dataclasses import dataclass

# At most nine digits a part: enough for any real release, and never a huge int() to parse.
_PART = r"(0|[1-9][0-9]{0,8})"
_VERSION = re.compile(rf"v{_PART}\.{_PART}\.{_PART}")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    @property
    def is_major(self) -> bool:
        """A vX.0.0 release, which carries the policy's compliance items."""
        return self.minor == 0 and self.patch == 0

    @property
    def branch(self) -> str:
        return f"release/{self}"

    def is_patch_bump_of(self, other: Version) -> bool:
        return (self.major, self.minor) == (other.major, other.minor) and (
            self.patch == other.patch + 1
        )


def is_newer(version: str, than: str | None) -> bool:
    """Whether `version` is newer than `than` (anything is newer than nothing)."""
    mine, theirs = parse_version(version), parse_version(than or "")
    return theirs is None or (mine is not None and mine > theirs)


def parse_version(text: str) -> Version | None:
    """The version in `text`, or None unless it is exactly vMAJOR.MINOR.PATCH.

    Leading zeros are refused (v01.4.0) because v1.4.0 and v01.4.0 would otherwise
    name one release twice.
    """
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return Version(major, minor, patch)

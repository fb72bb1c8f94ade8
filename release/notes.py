"""Release notes as the policy asks for them: the merged changes, under the policy's headings.

Policy step 4 circulates notes "highlighting milestones, tasks, asset updates, share link
changes". Each merged pull request goes under the first heading one of its labels names,
in that order; anything unlabelled is under "Other changes".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Section(StrEnum):
    MILESTONES = "Milestones"
    TASKS = "Tasks"
    ASSET_UPDATES = "Asset updates"
    SHARE_LINK_CHANGES = "Share link changes"
    OTHER = "Other changes"


#: The words a pull-request label is matched on (after lower-casing and turning `-`, `_`,
#: `/` and `:` into spaces), per heading, in the policy's order.
LABEL_WORDS: dict[Section, tuple[str, ...]] = {
    Section.MILESTONES: ("milestone",),
    Section.TASKS: ("task",),
    Section.ASSET_UPDATES: ("asset",),
    Section.SHARE_LINK_CHANGES: ("share link", "sharelink"),
}


@dataclass(frozen=True)
class Change:
    """One merged pull request; its title is as typed, so every view escapes it."""

    number: int
    title: str
    url: str
    author: str


@dataclass(frozen=True)
class ReleaseNotes:
    version: str
    sections: tuple[tuple[Section, tuple[Change, ...]], ...] = ()
    full_list_url: str = ""
    #: Said instead of, or besides, the changes: a dry run, or why none could be read.
    remark: str = ""

    @property
    def changes(self) -> int:
        return sum(len(changes) for _, changes in self.sections)

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sections": [
                [section.value, [vars(change) for change in changes]]
                for section, changes in self.sections
            ],
            "full_list_url": self.full_list_url,
            "remark": self.remark,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ReleaseNotes:
        return cls(
            version=str(data["version"]),
            sections=tuple(
                (Section(name), tuple(Change(**change) for change in changes))
                for name, changes in data.get("sections", [])
            ),
            full_list_url=str(data.get("full_list_url", "")),
            remark=str(data.get("remark", "")),
        )


@dataclass(frozen=True)
class Labelled:
    change: Change
    labels: tuple[str, ...] = field(default=())


def section_of(labels: Iterable[str]) -> Section:
    """The first of the policy's headings any label names; Other when none does."""
    words = [re.sub(r"[-_/:]+", " ", label.lower()).strip() for label in labels]
    for section, keys in LABEL_WORDS.items():
        if any(key in word for word in words for key in keys):
            return section
    return Section.OTHER


def group(version: str, merged: Iterable[Labelled], full_list_url: str = "") -> ReleaseNotes:
    """The notes of `version`: each change under its heading, headings in the policy's order,
    changes in the order they were merged (lowest number first when that is all we know)."""
    by_section: dict[Section, list[Change]] = {section: [] for section in Section}
    for item in merged:
        by_section[section_of(item.labels)].append(item.change)
    return ReleaseNotes(
        version=version,
        sections=tuple(
            (section, tuple(sorted(changes, key=lambda c: c.number)))
            for section, changes in by_section.items()
            if changes
        ),
        full_list_url=full_list_url,
    )

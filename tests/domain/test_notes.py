"""Release notes under the policy's headings: milestones, tasks, asset updates, share links."""

from __future__ import annotations

from release.notes import Change, Labelled, ReleaseNotes, Section, group, section_of


def _change(number: int, title: str = "A change") -> Change:
    return Change(number, title, f"https://github.com/acme/portal/pull/{number}", "dev")


def test_each_change_goes_under_the_first_heading_its_labels_name() -> None:
    assert section_of(["Milestone"]) is Section.MILESTONES
    assert section_of(["type: task"]) is Section.TASKS
    assert section_of(["asset-updates"]) is Section.ASSET_UPDATES
    assert section_of(["share_link"]) is Section.SHARE_LINK_CHANGES
    assert section_of(["sharelink", "milestones"]) is Section.MILESTONES  # the policy's order
    assert section_of(["bug", "dependencies"]) is Section.OTHER
    assert section_of([]) is Section.OTHER


def test_notes_keep_the_policys_order_and_leave_out_empty_headings() -> None:
    notes = group(
        "v1.4.0",
        [
            Labelled(_change(9), ("share link",)),
            Labelled(_change(3)),
            Labelled(_change(7), ("milestone",)),
            Labelled(_change(5), ("milestone",)),
        ],
        "https://github.com/acme/portal/pulls?q=x",
    )
    assert [s for s, _ in notes.sections] == [
        Section.MILESTONES,
        Section.SHARE_LINK_CHANGES,
        Section.OTHER,
    ]
    assert [c.number for c in notes.sections[0][1]] == [5, 7]
    assert notes.changes == 4


def test_notes_survive_being_stored_as_data() -> None:
    notes = group("v1.4.0", [Labelled(_change(1, "<!here> hi"), ("task",))], "https://x")
    again = ReleaseNotes.from_data(notes.to_data())
    assert again == notes

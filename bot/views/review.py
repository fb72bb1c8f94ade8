"""The readiness review message and its sign-off modal."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from commands.outcome import fit
from commands.text import MAX_TEXT, escape
from release.records import ReleaseRecord, ReviewRecord
from release.review import Decision
from release.roles import Role


class ReviewAction(StrEnum):
    APPROVE = "review_approve"
    REJECT = "review_reject"
    COMPLIANCE = "review_compliance"


class SignOffModal(StrEnum):
    CALLBACK = "review_sign_off"
    ROLE_BLOCK = "sign_off_role"
    ROLE = "role"
    REASON_BLOCK = "sign_off_reason"
    REASON = "reason"


#: Slack's Block Kit limits: a section's text, one of its fields, a header.
SECTION_LIMIT, FIELD_LIMIT, HEADER_LIMIT = 3000, 2000, 150

_CLOSED = {
    "approved": ":white_check_mark: *Approved.* Every role signed off.",
    "rejected": ":x: *Rejected.* This review is closed.",
    "superseded": ":arrows_counterclockwise: *Superseded* by a fresh review below.",
    "voided": ":warning: *Voided*: a later regression run failed.",
    "cancelled": ":no_entry_sign: *Cancelled*: the release was cancelled.",
}


def _role_field(review: ReviewRecord, role: Role) -> MarkdownTextObject:
    signed = next((s for s in review.sign_offs if s.role == role), None)
    if signed is None:
        state = ":hourglass_flowing_sand: pending"
    elif signed.decision is Decision.APPROVE:
        state = f":white_check_mark: approved by <@{signed.user_id}>"
    else:
        state = f":x: rejected by <@{signed.user_id}>: {escape(signed.reason)}"
    return MarkdownTextObject(text=fit(f"*{role.label}*\n{state}", FIELD_LIMIT))


def review_message(
    review: ReviewRecord, release: ReleaseRecord, notes: str
) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of a review message, as it stands now."""
    version = release.version
    hotfix = review.kind == "hotfix"
    title = "Hotfix approval" if hotfix else "Readiness review"
    about = (
        f"*Hotfix* {version} · `{release.state}` · branch `{release.branch}`\n"
        f"*Why*: {escape(release.reason)}\nOnce a Reliability Partner and a Client Success "
        "Lead approve, it may be promoted at any time, in a freeze too, after its staging "
        "regression passes."
        if hotfix
        else f"*Release* {version} · `{release.state}` · branch `{release.branch}`\n"
        f"*Release notes*\n{notes}"
    )
    blocks: list[Block] = [
        HeaderBlock(text=fit(f"{title}: {version}", HEADER_LIMIT, "…")),
        SectionBlock(
            text=MarkdownTextObject(
                text=fit(about, SECTION_LIMIT, f"…\n_(cut: `/release status {version}`)_")
            )
        ),
        SectionBlock(fields=[_role_field(review, role) for role in review.required_roles]),
    ]
    if review.compliance_items:
        ticked = [f"{i}" for i, item in enumerate(review.compliance_items) if item in review.ticked]
        options = [
            Option(value=str(i), text=fit(item, 75, "…"))
            for i, item in enumerate(review.compliance_items)
        ]
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="*Compliance (major release)*: tick every item before the last approval."
                )
            )
        )
        if review.is_open:
            blocks.append(
                ActionsBlock(
                    elements=[
                        CheckboxesElement(
                            action_id=ReviewAction.COMPLIANCE.value,
                            options=options,
                            initial_options=[o for o in options if o.value in ticked] or None,
                        )
                    ]
                )
            )
        else:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=fit(
                            "\n".join(
                                (
                                    ":ballot_box_with_check: "
                                    if item in review.ticked
                                    else ":white_large_square: "
                                )
                                + item
                                for item in review.compliance_items
                            ),
                            SECTION_LIMIT,
                        )
                    )
                )
            )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Review #{review.id} · opened by <@{review.opened_by}> · "
                    "one person signs at most one role"
                )
            ]
        )
    )
    if review.is_open:
        blocks.append(
            ActionsBlock(
                block_id=f"review_{review.id}",
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=ReviewAction.APPROVE.value,
                        value=str(review.id),
                        style="primary",
                        confirm=ConfirmObject(
                            title="Approve this release?",
                            text=f"You are signing off {version} for production. "
                            "This is recorded under your name.",
                            confirm="Approve",
                            deny="Go back",
                        ),
                    ),
                    ButtonElement(
                        text="Reject",
                        action_id=ReviewAction.REJECT.value,
                        value=str(review.id),
                        style="danger",
                        confirm=ConfirmObject(
                            title="Reject this release?",
                            text=f"You will be asked why {version} is not ready. "
                            "A rejection stops the release until it is reviewed again.",
                            confirm="Reject",
                            deny="Go back",
                        ),
                    ),
                ],
            )
        )
    else:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_CLOSED[review.status])))
    status = "open" if review.is_open else review.status
    text = f"{title} of {version} ({status})"
    return text, [b.to_dict() for b in blocks]


def compliance_selection(review: ReviewRecord, selected_values: list[str]) -> set[str]:
    """The item texts behind the checkbox values Slack sent back."""
    items = review.compliance_items
    return {items[int(v)] for v in selected_values if v.isdigit() and int(v) < len(items)}


def sign_off_modal(
    review_id: int, version: str, decision: Decision, roles: tuple[Role, ...]
) -> dict[str, Any]:
    verb = "Approve" if decision is Decision.APPROVE else "Reject"
    blocks: list[Block] = []
    if len(roles) > 1:
        blocks.append(
            InputBlock(
                block_id=SignOffModal.ROLE_BLOCK.value,
                label="Sign off as",
                element=StaticSelectElement(
                    action_id=SignOffModal.ROLE.value,
                    placeholder="Choose one of your roles",
                    options=[Option(value=r.value, text=r.label) for r in roles],
                ),
            )
        )
    if decision is Decision.REJECT:
        blocks.append(
            InputBlock(
                block_id=SignOffModal.REASON_BLOCK.value,
                label=f"Why is {version} not ready?",
                element=PlainTextInputElement(
                    action_id=SignOffModal.REASON.value, multiline=True, max_length=MAX_TEXT
                ),
            )
        )
    title = f"{verb} {version}"
    view = View(
        type="modal",
        callback_id=SignOffModal.CALLBACK.value,
        private_metadata=json.dumps(
            {"review_id": review_id, "decision": decision.value, "roles": [r.value for r in roles]}
        ),
        title=title if len(title) <= 24 else f"{verb} release",
        submit=verb,
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()

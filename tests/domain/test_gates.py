"""Promotion gates: every failing gate is named, and a hotfix may bypass only time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from release.freezes import Freeze
from release.gates import PromotionFacts, bypassed, failing, promotion_gates
from release.lifecycle import State
from release.windows import ReleaseWindow

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tue 11:00 AEST
OPEN = ReleaseWindow(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
NEXT = ReleaseWindow(NOW + timedelta(days=2), NOW + timedelta(days=2, hours=2))
FREEZE = Freeze(
    id=3,
    starts=NOW - timedelta(days=1),
    ends=NOW + timedelta(days=6),
    reason="agency showcase",
    short_notice=False,
    created_by="URM",
    created_at=NOW - timedelta(days=30),
)


def when(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def facts(**changes: object) -> PromotionFacts:
    base: dict[str, object] = {
        "version": "v1.4.0",
        "state": State.APPROVED,
        "regression_passed": True,
        "window": OPEN,
        "next_window": NEXT,
    }
    base.update(changes)
    return PromotionFacts(**base)  # type: ignore[arg-type]


def test_an_approved_release_in_a_window_passes_every_gate() -> None:
    gates = promotion_gates(facts(), when)
    assert [g.name for g in gates] == [
        "approved",
        "regression",
        "newer",
        "window",
        "freeze",
        "deploy_lock",
    ]
    assert failing(gates) == []
    assert bypassed(gates) == []


def test_a_refusal_names_every_failing_gate_and_what_to_do_next() -> None:
    gates = promotion_gates(
        facts(
            state=State.IN_REVIEW,
            regression_passed=False,
            window=None,
            freeze=FREEZE,
            deploy_in_flight="v1.3.9, promoted by <@UOTHER>",
        ),
        when,
    )
    details = [g.detail for g in failing(gates)]
    assert details == [
        "not approved: v1.4.0 is `in_review` and needs all four readiness sign-offs",
        "regression not passed on staging: QA records it with "
        "`/release regression v1.4.0 pass <report-url>`",
        "outside the release window: the next window opens 2026-11-26 01:00 UTC",
        "freeze #3 (agency showcase) until 2026-11-30 01:00 UTC",
        "another production deploy is in flight (v1.3.9, promoted by <@UOTHER>); wait for it, "
        "or a release manager clears a stuck lock with `/release unlock <reason>`",
    ]


def test_a_hotfix_bypasses_the_window_and_the_freeze_and_says_so() -> None:
    gates = promotion_gates(facts(window=None, freeze=FREEZE, hotfix=True), when)
    assert failing(gates) == []
    assert [g.name for g in bypassed(gates)] == ["window", "freeze"]
    assert "allowed for a hotfix" in bypassed(gates)[1].detail


def test_a_hotfix_still_needs_its_approvals_its_regression_and_the_lock() -> None:
    gates = promotion_gates(
        facts(
            hotfix=True,
            state=State.STAGING,
            regression_passed=False,
            deploy_in_flight="v1.4.0, promoted by <@U1>",
        ),
        when,
    )
    assert [g.name for g in failing(gates)] == ["approved", "regression", "deploy_lock"]
    assert "needs both hotfix approvals" in failing(gates)[0].detail


def test_nothing_older_than_production_is_promoted() -> None:
    for live in ("v1.5.0", "v1.4.0"):
        refused = failing(promotion_gates(facts(version="v1.4.0", in_production=live), when))
        assert [g.name for g in refused] == ["newer"]
        assert f"{live} is in production, and v1.4.0 is not newer" in refused[0].detail
    assert failing(promotion_gates(facts(version="v1.4.1", in_production="v1.4.0"), when)) == []

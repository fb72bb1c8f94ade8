"""The production deploy itself: policy steps 6 to 8, under the lease of the deploy lock.

Whatever happens after a release moves to `deploying`, it does not stay in flight: an error
fails it (announced, with a log reference), and an instance that lost the lock stops
instead of reporting a success it no longer owns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from commands.context import Context
from commands.errors import incident_id
from commands.live import fail_in_flight
from commands.transitions import advance
from integrations.ports import CheckResult, Deployment, IntegrationError
from release.lifecycle import Event, IllegalTransition
from release.records import ReleaseRecord

log = logging.getLogger(__name__)
BOT = "release-bot"


class _Stopped(Exception):
    """This instance no longer owns the deploy (the lock was reclaimed); already announced."""


def run_deploy(
    ctx: Context, release: ReleaseRecord, staging: Deployment, token: str, preamble: list[str]
) -> None:
    """Deploy `release`, whose lock is held under `token` (one token per deploy)."""
    lost = threading.Event()
    try:
        with _lease_kept(ctx, token, lost):
            for text in preamble:
                ctx.conversation.announce(text)
            _deploy_and_verify(ctx, release.version, staging, token, lost)
    except _Stopped:
        pass
    except Exception as error:
        fail(ctx, release.version, token, f"the promotion stopped: {why(error)}")
    finally:
        # Normally released with the final transition already; this covers every other exit.
        with ctx.store.transaction() as uow:
            uow.release_deploy_lock(token)


@contextmanager
def _lease_kept(ctx: Context, token: str, lost: threading.Event) -> Iterator[None]:
    """Renew the deploy lock's lease while this instance is still deploying."""
    lease = ctx.policy.deploy_lock_lease
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease.total_seconds() / 3):
            try:
                with ctx.store.transaction() as uow:
                    if not uow.renew_deploy_lock(token, lease):
                        lost.set()
                        return
            except Exception:
                log.exception("could not renew the deploy lock")

    renewer = threading.Thread(target=renew, name="deploy-lock-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()


def _step(
    ctx: Context,
    version: str,
    event: Event,
    token: str,
    lost: threading.Event,
    *,
    artefact: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """Move the release on (and record its artefact) while this instance holds the lock."""
    with ctx.store.transaction() as uow:
        held = uow.deploy_lock(lock=True)
        current = uow.release(version, lock=True)
        assert current is not None
        owned = not lost.is_set() and held is not None and held.holder == token
        moved = advance(uow, current, event, BOT, **changes) if owned else None
        if owned and not isinstance(moved, IllegalTransition):
            if artefact is not None:
                uow.record_artefact(current.id, by=BOT, **artefact)
            if event is Event.VERIFIED:
                uow.release_deploy_lock(token)  # free before anyone reads "released"
            return
        # Whoever took the lock away (a reaper, an unlock) normally failed the release
        # already; make sure it is not left in flight either way.
        fail_in_flight(uow, version, BOT)
        current = uow.release(version) or current
    ctx.conversation.announce(
        f":warning: This instance lost the production deploy lock while promoting *{version}* "
        f"(it is now `{current.state}`), so it stopped before marking it `{event.value}`. "
        "Check production before promoting anything else."
    )
    raise _Stopped


def _deploy_and_verify(
    ctx: Context, version: str, staging: Deployment, token: str, lost: threading.Event
) -> None:
    try:
        production = ctx.integrations.deployer.promote(staging)
    except Exception as error:
        fail(ctx, version, token, f"the production deploy failed: {why(error)}")
        return
    _step(
        ctx,
        version,
        Event.DEPLOYED,
        token,
        lost,
        production_deployment_id=production.id,
        artefact={
            "kind": "production_deploy",
            "url": production.url,
            "details": {"deployment_id": production.id, "from_staging": staging.id},
        },
    )
    ctx.conversation.announce(
        f"*{version}* is live; running the post-deploy smoke tests.{ctx.integrations.note}"
    )
    try:
        results = ctx.integrations.smoke_tests.run(production)
    except Exception as error:
        fail(ctx, version, token, f"the smoke tests could not run: {why(error)}")
        return
    failed = [r for r in results if not r.passed]
    _record_smoke_tests(ctx, version, results)
    if failed:
        fail(
            ctx,
            version,
            token,
            "smoke tests failed: " + ", ".join(f"{r.name} ({r.detail})" for r in failed),
        )
        return
    with ctx.store.transaction() as uow:
        current = uow.release(version)
    notes = current.notes if current and current.notes else ""
    try:
        ctx.integrations.source.update_changelog(version, notes)
        changelog = "the change log and support bulletin are updated"
    except Exception as error:
        # The release is live and verified; a change-log failure must not undo that.
        changelog = f"*the change log was not updated* ({why(error)}): update it by hand"
    _step(ctx, version, Event.VERIFIED, token, lost)
    ctx.conversation.announce(
        f":tada: *{version}* is released. Smoke tests passed "
        f"({', '.join(r.name for r in results)}); {changelog}.{ctx.integrations.note}\n"
        f"*Release notes*\n{notes}"
    )


def _record_smoke_tests(ctx: Context, version: str, results: list[CheckResult]) -> None:
    with ctx.store.transaction() as uow:
        current = uow.release(version, lock=True)
        assert current is not None
        uow.record_artefact(
            current.id,
            "smoke_tests",
            by=BOT,
            outcome="pass" if all(r.passed for r in results) else "fail",
            details={
                "checks": [
                    {"name": r.name, "passed": r.passed, "detail": r.detail} for r in results
                ]
            },
        )


def why(error: Exception) -> str:
    """What a user may be told about a failure: never a trace or a secret."""
    if isinstance(error, IntegrationError):
        return str(error)
    ref = incident_id()
    log.error("deploy step failed (ref %s)", ref, exc_info=error)
    return f"an unexpected error (ref `{ref}` in the bot's log)"


def fail(ctx: Context, version: str, token: str, what: str) -> None:
    """Fail the release if it is still in flight, free this deploy's lock, say what failed."""
    with ctx.store.transaction() as uow:
        uow.deploy_lock(lock=True)  # lock order everywhere: the lock row, then release rows
        was = fail_in_flight(uow, version, BOT)
        uow.release_deploy_lock(token)
        if was is not None:
            current = uow.release(version)
            uow.audit(BOT, "release.failed", current.id if current else None, detail=what)
    if was is None:
        # Released already, or failed by whoever took the lock: nothing more to fail.
        log.warning("after %s left flight: %s", version, what)
        return
    log.warning("release %s failed: %s", version, what)
    ctx.conversation.announce(
        f":rotating_light: *{version}* failed: {what}. Production may need a rollback."
    )

"""What every command handler is handed: who acts, and the ports it may act through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from commands.outcome import Outcome
from commands.timefmt import when
from integrations import Integrations
from release.clock import Clock
from release.permissions import Action
from release.permissions import refusal as permission_refusal
from release.policy import Policy
from release.roles import Role
from storage.unit_of_work import Store, UnitOfWork


@dataclass(frozen=True)
class Context:
    actor: str
    store: Store
    conversation: Outcome
    integrations: Integrations
    policy: Policy
    clock: Clock
    instance: str = "local"  # this process, as named in the deploy lock and post claims

    @property
    def zone(self) -> ZoneInfo:
        return self.policy.schedule.windows.zone

    def when(self, instant: datetime) -> str:
        return when(instant, self.zone)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """One transaction; what the command says in it is recorded with its changes."""
        with self.conversation.recording() as uow:
            yield uow

    def refused(self, uow: UnitOfWork, action: Action) -> bool:
        """Refuse (and say why) when the actor may not take `action`: release.permissions."""
        refusal = permission_refusal(action, self.roles(uow))
        if refusal is not None:
            self.conversation.reply(refusal.reason)
        return refusal is not None

    def roles(self, uow: UnitOfWork) -> set[Role]:
        held = set(uow.cached(("roles", self.actor), _roles_of(self.actor)))
        if self.actor in self.policy.config_admins:
            held.add(Role.ADMIN)
        return held


def _roles_of(user_id: str) -> Callable[[UnitOfWork], frozenset[Role]]:
    return lambda uow: frozenset(uow.roles_of(user_id))

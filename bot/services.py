"""Everything a listener needs, built once per process and handed to register()."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.work import Worker
from commands.context import Context
from commands.outcome import Outcome
from integrations import Integrations
from release.clock import Clock
from release.policy import Policy
from storage.unit_of_work import Store


@dataclass(frozen=True)
class Services:
    channel_id: str
    policy: Policy
    store: Store
    integrations: Integrations
    clock: Clock
    worker: Worker
    web_client: WebClient  # sync, from worker threads only: views.open (never in a transaction)
    instance: str = "local"  # names this process in the deploy lock and post claims

    def context(self, user_id: str, response_url: str | None = None) -> Context:
        conversation = Outcome(self.store, self.channel_id, user_id, response_url)
        return Context(
            actor=user_id,
            store=self.store,
            conversation=conversation,
            integrations=self.integrations,
            policy=self.policy,
            clock=self.clock,
            instance=self.instance,
        )

"""Subscribers to events. Apps subscribe in their AppConfig.ready(); a handler is called with
each pending Event, inside the transaction that marks the event processed, in `order`
(case automations before notifications, so a case they open is itself an event).

A subscriber may say which kinds it has any use for right now (`wants`: the kinds of its
enabled automations or triggers), asked once per dispatched batch: an event no subscriber
wants is marked done with the rest of its batch in one statement, without a savepoint and a
handler call each. Most sightings and inferred objects have no automation or trigger."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cti.events.models import Event

Handler = Callable[[Event], None]
Wants = Callable[[], Iterable[str]]


@dataclass(frozen=True)
class Subscription:
    name: str
    handler: Handler
    kinds: frozenset[str] | None  # None: every kind
    order: int
    wants: Wants | None = None  # None: every kind of `kinds`, always

    def takes(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


_subscriptions: dict[str, Subscription] = {}


def subscribe(
    name: str, handler: Handler, kinds=None, order: int = 100, wants: Wants | None = None
) -> None:
    _subscriptions[name] = Subscription(
        name, handler, frozenset(kinds) if kinds else None, order, wants
    )


def handlers_for(kind: str) -> list[Subscription]:
    subs = [s for s in _subscriptions.values() if s.takes(kind)]
    return sorted(subs, key=lambda s: s.order)


def interested() -> Callable[[str], list[Subscription]]:
    """The subscribers of each kind that want it now (each `wants` asked once)."""
    wanted = {
        s.name: (None if s.wants is None else frozenset(s.wants())) for s in _subscriptions.values()
    }

    by_kind: dict[str, list[Subscription]] = {}

    def subscribers(kind: str) -> list[Subscription]:
        if kind not in by_kind:
            by_kind[kind] = [
                s for s in handlers_for(kind) if wanted[s.name] is None or kind in wanted[s.name]
            ]
        return by_kind[kind]

    return subscribers

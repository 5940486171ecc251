"""Subscribers to events. Apps subscribe in their AppConfig.ready(); a handler is called with
each pending Event, inside the transaction that marks the event processed, in `order`
(case automations before notifications, so a case they open is itself an event)."""

from collections.abc import Callable
from dataclasses import dataclass

from cti.events.models import Event

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Subscription:
    name: str
    handler: Handler
    kinds: frozenset[str] | None  # None: every kind
    order: int


_subscriptions: dict[str, Subscription] = {}


def subscribe(name: str, handler: Handler, kinds=None, order: int = 100) -> None:
    _subscriptions[name] = Subscription(name, handler, frozenset(kinds) if kinds else None, order)


def handlers_for(kind: str) -> list[Subscription]:
    subs = [s for s in _subscriptions.values() if s.kinds is None or kind in s.kinds]
    return sorted(subs, key=lambda s: s.order)

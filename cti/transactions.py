from collections.abc import Callable

from django.db import transaction


def on_commit_once(func: Callable[[], None]) -> None:
    """Run `func` when the current transaction commits, once however often it is asked for
    (one task per transaction, however many rows a write touched)."""
    pending = transaction.get_connection().run_on_commit
    if not any(queued is func for _, queued, _ in pending):
        transaction.on_commit(func)

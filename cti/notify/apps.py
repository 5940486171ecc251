from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "cti.notify"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from cti.events.registry import subscribe
        from cti.notify import tasks  # noqa: F401  (worker start-up resume hook)
        from cti.notify.selectors import wanted_event_kinds
        from cti.notify.services import handle_event

        subscribe("notifications", handle_event, order=50, wants=wanted_event_kinds)

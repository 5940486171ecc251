from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "cti.events"
    label = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        from cti.celery import app
        from cti.events import tasks  # noqa: F401  (worker start-up resume hook)
        from cti.events.bootsteps import ResumeOutboxesOnReconnect

        app.steps["consumer"].add(ResumeOutboxesOnReconnect)

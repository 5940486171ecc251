from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "cti.automation"
    label = "automation"
    verbose_name = "Case automation"

    def ready(self) -> None:
        from cti.automation.choices import TriggerKind
        from cti.automation.selectors import wanted_event_kinds
        from cti.automation.services import handle_event
        from cti.events.registry import subscribe

        subscribe(
            "automation", handle_event, kinds=TriggerKind.values, order=10, wants=wanted_event_kinds
        )

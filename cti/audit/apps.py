from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cti.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from cti.audit import signals

        signals.connect()

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "cti.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from cti.ops import signals  # noqa: F401  (request id into tasks, worker heartbeat)

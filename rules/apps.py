from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = "Inference rules"

    def ready(self) -> None:
        from rules import signals  # noqa: F401

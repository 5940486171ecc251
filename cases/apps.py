from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Case management"

    def ready(self) -> None:
        from cases import signals  # noqa: F401
        from cases.visibility import register_rules

        register_rules()

from django.apps import AppConfig


class IntelConfig(AppConfig):
    name = "cti.intel"
    label = "intel"
    verbose_name = "Knowledge graph"

    def ready(self) -> None:
        from cti.intel.visibility import register_rules

        register_rules()

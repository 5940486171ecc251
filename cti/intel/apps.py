from django.apps import AppConfig


class IntelConfig(AppConfig):
    name = "cti.intel"
    label = "intel"
    verbose_name = "Knowledge graph"

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "cti.reports"
    label = "reports"
    verbose_name = "Case reports and exports"

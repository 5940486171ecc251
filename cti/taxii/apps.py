from django.apps import AppConfig


class TaxiiConfig(AppConfig):
    name = "cti.taxii"
    label = "taxii"
    verbose_name = "TAXII 2.1 server"

from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "cti.ingest"
    label = "ingest"
    verbose_name = "Sighting ingestion"

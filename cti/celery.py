import os
from pathlib import Path

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")

app = Celery("cti")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_queue(sender: Celery, **kwargs) -> None:
    """kombu's filesystem transport needs its folders to exist."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@setup_logging.connect
def _use_django_logging(loglevel=None, **kwargs) -> None:
    """Workers and beat log through settings.LOGGING (text or JSON lines with the request id)
    instead of Celery's own handlers; the command line's --loglevel still applies."""
    import logging
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@app.task(name="cti.ping")
def ping() -> str:
    """Round trip used by readiness checks and the worker tests."""
    return "pong"

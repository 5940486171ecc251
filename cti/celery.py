import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")

app = Celery("cti")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="cti.ping")
def ping() -> str:
    """Round trip used by readiness checks and the worker tests."""
    return "pong"

"""gunicorn entry point of the benchmark: loaded once in the master (`--preload`), with the
minimal view's recordings, so no worker pays for them on its first request."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.api.settings")

from bench.api.views import recordings
from cti.wsgi import application

recordings()

__all__ = ["application"]

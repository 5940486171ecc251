"""gunicorn settings for the web process: `gunicorn -c python:cti.ops.gunicorn_conf
cti.wsgi:application`. Environment: CTI_BIND (default 0.0.0.0:8000), WEB_CONCURRENCY
(workers, read by gunicorn itself), PROMETHEUS_MULTIPROC_DIR (request metrics summed over
the workers; emptied here at start)."""

import os
import shutil
from pathlib import Path

from cti.ops.logs import logging_config

bind = os.environ.get("CTI_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# gunicorn's own lines in the app's format (CTI_LOG_FORMAT); no gunicorn access lines: the
# app writes its own (logger cti.access, with the request id)
logconfig_dict = {
    **logging_config(os.environ.get("CTI_LOG_FORMAT", "text"), "INFO"),
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}
# no gunicornc control socket: one fixed path per user would be shared by every gunicorn
# of that user on the host (tests, `make stack`)
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server) -> None:
    """Metrics files of a previous run would be added to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

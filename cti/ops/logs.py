"""Log records carry the request id (and, in a worker, the task); JSON or text lines."""

import logging
import re

from cti.ops.context import request_id_var, task_var

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}


class RequestIdFilter(logging.Filter):
    """On a handler: every record it writes gets `request_id`, and `task_name` / `task_id`
    inside a Celery task. Never drops a record. `missing` stands for no request id ("-" in
    text lines, null in JSON)."""

    def __init__(self, missing: str | None = None) -> None:
        super().__init__()
        self.missing = missing

    def filter(self, record: logging.LogRecord) -> bool:
        # set on every pass: another handler's filter may have set its own `missing`
        record.request_id = request_id_var.get() or self.missing
        task = task_var.get()
        if task is not None and not hasattr(record, "task_id"):
            record.task_name, record.task_id = task
        return True


SECRET_PARAMETER = re.compile(r"((?:^|[?&\s])(?:token|secret|password|key)=)[^&\s\"']+", re.I)


class RedactSecretsFilter(logging.Filter):
    """On loggers that write request lines (runserver's `django.server`): a secret in the query
    string (a webhook's `?token=`) becomes `[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET_PARAMETER.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING dict for settings: one console handler on the root logger."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {
                "()": "cti.ops.logs.RequestIdFilter",
                "missing": "-" if log_format == "text" else None,
            },
            "redact_secrets": {"()": "cti.ops.logs.RedactSecretsFilter"},
        },
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": JSON_FIELDS,
                "rename_fields": JSON_RENAMES,
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # runserver's request lines (`make run`) through the console handler, secrets redacted
        "loggers": {
            "django.server": {"filters": ["redact_secrets"], "propagate": True, "level": "INFO"}
        },
    }

"""Settings, all from the environment (django-environ); bad values fail at start-up."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from cti.ops.logs import logging_config
from cti.ops.rates import validate_rate

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CTI_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def strict_bool(name: str, default: bool) -> bool:
    """Like env.bool, but a value that is neither true nor false stops the start-up."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    if raw.strip().lower() not in _BOOLEANS:
        raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")
    return _BOOLEANS[raw.strip().lower()]


DEBUG = strict_bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not strict_bool("CTI_ALLOW_INSECURE_KEY", True):
        raise ImproperlyConfigured("SECRET_KEY must be set")
    SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "cti.security.admin_apps.CtiAdminConfig",  # django.contrib.admin; no playbook logins
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cti.security",
    "cti.intel",
    "cti.events",
    "cti.ingest",
    "cti.notify",
    "cti.automation",
    "cti.taxii",
    "cti.reports",
    "cti.ops",
    "cases",
    "rules",
    "cti.audit",
]

MIDDLEWARE = [
    "cti.ops.middleware.RequestIdMiddleware",  # outermost: every log line has the request id
    "cti.ops.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cti.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cti.urls"
WSGI_APPLICATION = "cti.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cti.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# with persistent connections (?conn_max_age=N in DATABASE_URL), one broken by a database
# restart is replaced at the next request instead of failing it
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "security.User"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))

AUTHENTICATION_BACKENDS = ["cti.security.backends.UnlockedModelBackend"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cti.api.authentication.TcHmacAuthentication",
        "cti.api.authentication.TcTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["cti.api.renderers.V3JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["cti.api.parsers.LenientJSONParser"],
    "EXCEPTION_HANDLER": "cti.api.exceptions.v3_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "cti.api.schema.V3AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "cti v3 API",
    "DESCRIPTION": "Case management compatible with ThreatConnect's v3 API.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# v3 API behaviour
CTI_HMAC_WINDOW_SECONDS = env.int("CTI_HMAC_WINDOW_SECONDS", default=300)
# "absolute": next/prev as absolute URLs; "relative": relative to the API base (tcex over plain
# http); "auto": absolute over https, relative over http.
CTI_PAGING_LINKS = env.str("CTI_PAGING_LINKS", default="auto")
if CTI_PAGING_LINKS not in {"absolute", "relative", "auto"}:
    raise ImproperlyConfigured("CTI_PAGING_LINKS must be absolute, relative or auto")
CTI_OWNER_NAME = env.str("CTI_OWNER_NAME", default="Default Organization")
CTI_SLA_DETECTION = timedelta(hours=env.float("CTI_SLA_DETECTION_HOURS", default=24))
CTI_SIGHTING_DEDUP_DAYS = env.int("CTI_SIGHTING_DEDUP_DAYS", default=30)
# 0: one incident per sighting (as OpenCTI); N: one per (indicator, target, N-day window)
CTI_INCIDENT_GROUPING_DAYS = env.int("CTI_INCIDENT_GROUPING_DAYS", default=0)
CTI_SLA_RESPONSE = timedelta(hours=env.float("CTI_SLA_RESPONSE_HOURS", default=72))

# Celery: Redis in production; the embedded default uses kombu's filesystem transport.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.split("://", 1)[0] not in {"redis", "rediss", "amqp", "pyamqp", "memory"}:
    raise ImproperlyConfigured(f"unsupported CELERY_BROKER_URL scheme: {CELERY_BROKER_URL!r}")
elif CELERY_BROKER_URL.startswith(("redis", "rediss")):
    # Redis redelivers a message whose worker died (kill -9, OOM) once it has been unacked for
    # this long; it must exceed the longest task (rule activation), else a running task is
    # delivered twice. kombu's default is one hour.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CTI_BROKER_VISIBILITY_TIMEOUT", default=3600)
    }
CELERY_TASK_ALWAYS_EAGER = strict_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None

# text (default) or json lines, each with the request id (cti.ops.logs); workers and beat
# use the same configuration (cti.celery)
CTI_LOG_FORMAT = env.str("CTI_LOG_FORMAT", default="text")
if CTI_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("CTI_LOG_FORMAT must be text or json")
LOGGING = logging_config(CTI_LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))

# ---- notifications (email) ----
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = strict_bool("EMAIL_USE_TLS", False)
# seconds; a slow mail server fails the attempt (retried later) instead of blocking a worker
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cti@localhost")
# links in notifications are CTI_BASE_URL + the object's API path
CTI_BASE_URL = env.str("CTI_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# ---- operations: readiness, metrics, rate limits, beat (docs/operations.md) ----
CTI_READY_CHECKS = env.list("CTI_READY_CHECKS", default=["database", "broker", "worker"])
if not set(CTI_READY_CHECKS) <= {"database", "broker", "worker", "beat"}:
    raise ImproperlyConfigured("CTI_READY_CHECKS: a list of database, broker, worker, beat")
CTI_READY_BROKER_TIMEOUT = env.float("CTI_READY_BROKER_TIMEOUT", default=2.0)
CTI_HEARTBEAT_INTERVAL = env.float("CTI_HEARTBEAT_INTERVAL", default=15.0)  # 0: no heartbeat
CTI_READY_HEARTBEAT_MAX_AGE = env.float("CTI_READY_HEARTBEAT_MAX_AGE", default=60.0)
# empty: /metrics is open (bind it to a private network); else "Authorization: Bearer <token>"
CTI_METRICS_TOKEN = env.str("CTI_METRICS_TOKEN", default="")
CTI_METRICS_BROKER = strict_bool("CTI_METRICS_BROKER", True)  # broker queue length per scrape

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env.str("CACHE_URL", default=""):
    if not env.str("CACHE_URL").startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("CACHE_URL must be a redis:// URL")
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL"),
    }
# Requests per API user / per anonymous address, like 600/minute; empty turns a limit off
# (the default, so tests and scripts are not limited; the Dockerfile, compose.yaml and
# `make stack` set the user rate). Counted in CTI_THROTTLE_CACHE: with several web processes,
# use a shared cache (CACHE_URL), else each process counts on its own.
CTI_THROTTLE_RATES = {
    "user": validate_rate("CTI_THROTTLE_USER_RATE", env.str("CTI_THROTTLE_USER_RATE", default="")),
    "anon": validate_rate("CTI_THROTTLE_ANON_RATE", env.str("CTI_THROTTLE_ANON_RATE", default="")),
}
CTI_THROTTLE_CACHE = "default"
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "cti.ops.throttling.ApiUserRateThrottle",
    "cti.ops.throttling.ApiAnonRateThrottle",
]

# `celery beat`: the worker heartbeat round trip and a sweep of the outboxes for rows whose
# message was lost while the broker was down
CELERY_BEAT_SCHEDULE = {
    "ops-heartbeat": {"task": "ops.heartbeat", "schedule": CTI_HEARTBEAT_INTERVAL or 15.0},
    "ops-sweep-outboxes": {"task": "ops.sweep_outboxes", "schedule": 60.0},
    "ops-prune": {"task": "ops.prune", "schedule": 3600.0},
}
# how long a webhook's Idempotency-Key is remembered, and handled events are kept (ops.prune)
CTI_IDEMPOTENCY_KEEP_HOURS = env.float("CTI_IDEMPOTENCY_KEEP_HOURS", default=24.0)
CTI_EVENTS_KEEP_DAYS = env.float("CTI_EVENTS_KEEP_DAYS", default=7.0)
# audit entries older than this many days are deleted by ops.prune; 0 keeps them for ever
CTI_AUDIT_KEEP_DAYS = env.float("CTI_AUDIT_KEEP_DAYS", default=0.0)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# syntax=docker/dockerfile:1
# One image for every process of compose.yaml: web (gunicorn, the default command), Celery
# worker, Celery beat and the one-shot migrate. Settings come from the environment
# (docs/operations.md).

# ---- build: a virtualenv with the locked dependencies and the project ----
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY cti cti
COPY cases cases
COPY rules rules
RUN python -m venv /venv && /venv/bin/pip install -c requirements.lock .

# ---- runtime: no build tools, an unprivileged user ----
FROM python:3.11-slim AS runtime
# WeasyPrint (PDF case reports) loads Pango and HarfBuzz at run time
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 cti \
    && useradd --uid 10001 --gid cti --create-home --shell /usr/sbin/nologin cti
COPY --from=build /venv /venv
WORKDIR /app
COPY manage.py ./
COPY cti cti
COPY cases cases
COPY rules rules
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CTI_VAR_DIR=/app/var \
    CTI_LOG_FORMAT=json \
    CTI_BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    CTI_THROTTLE_USER_RATE=1200/minute
# the volumes of compose.yaml mount on these and take their owner from them
RUN mkdir -p /app/var/media /app/var/beat \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R cti:cti /app/var
USER cti
EXPOSE 8000
# liveness only (/health); readiness (/ready) is for load balancers and compose's depends_on
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('CTI_BIND', ':8000').rsplit(':', 1)[1]; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status != 200)"]
CMD ["gunicorn", "-c", "python:cti.ops.gunicorn_conf", "cti.wsgi:application"]

# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml requirements.lock ./
COPY cti cti
COPY cases cases
COPY rules rules
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -c requirements.lock .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 cti
COPY --from=build /venv /venv
WORKDIR /app
COPY manage.py ./
COPY cti cti
COPY cases cases
COPY rules rules
ENV PATH=/venv/bin:$PATH CTI_VAR_DIR=/app/var PYTHONUNBUFFERED=1
RUN mkdir -p /app/var && python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R cti /app/var
USER cti
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["gunicorn", "cti.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]

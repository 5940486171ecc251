"""Benchmark settings: the project's settings plus the bench-only minimal views.

Only the benchmark runner uses this module (DJANGO_SETTINGS_MODULE=bench.api.settings); the
production URLs (cti.urls) never include the minimal views."""

from cti.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api.urls"

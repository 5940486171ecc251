"""The production URLs plus `/bench/minimal/<scenario>/<n>` (bench settings only)."""

from django.urls import path

from bench.api.views import minimal
from cti.urls import handler404, handler500
from cti.urls import urlpatterns as production

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [
    *production,
    path("bench/minimal/<str:scenario>/<int:index>", minimal),
]

from django.urls import path

from cti.ops.views import metrics_view, ready

urlpatterns = [
    path("ready", ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
]

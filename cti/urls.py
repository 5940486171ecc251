from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cti.api.exceptions import json_not_found, json_server_error
from cti.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health),
    path("", include("cti.ops.urls")),  # /ready, /metrics
    path("api/v3/", include("cases.api.urls")),
    path("api/v3/", include("cti.security.api.urls")),
    path("api/v3/", include("cti.intel.api.urls")),
    path("api/v3/", include("rules.api.urls")),
    path("api/v3/", include("cti.ingest.api.urls")),
    path("api/v3/", include("cti.notify.api.urls")),
    path("api/v3/", include("cti.automation.api.urls")),
    path("api/v3/", include("cti.reports.api.urls")),
    path("api/v3/", include("cti.audit.api.urls")),
    path("taxii2/", include("cti.taxii.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = json_not_found
handler500 = json_server_error

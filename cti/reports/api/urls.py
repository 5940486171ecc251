from django.urls import re_path

from cti.reports.api import views

# Ids are matched as any segment and checked by the views (after authentication), so that a
# bad id is a 404 in the v3 envelope and an anonymous request a 401, as on the case API.
CASE = r"^cases/(?P<case_id>[^/]+)"
REPORT = r"/reports/(?P<report_id>[^/]+)"

urlpatterns = [
    re_path(CASE + r"/reports$", views.CaseReportListView.as_view(), name="case-reports"),
    re_path(CASE + REPORT + "$", views.CaseReportView.as_view(), name="case-report"),
    re_path(
        CASE + REPORT + "/download$",
        views.CaseReportDownloadView.as_view(),
        name="case-report-download",
    ),
    re_path(CASE + r"/stix$", views.CaseStixView.as_view(), name="case-stix"),
    re_path(CASE + r"/timeline$", views.CaseTimelineView.as_view(), name="case-timeline"),
    re_path(CASE + r"/graph$", views.CaseGraphView.as_view(), name="case-graph"),
]

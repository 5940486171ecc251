from rest_framework.routers import SimpleRouter

from cti.automation.api.views import CaseAutomationViewSet

router = SimpleRouter(trailing_slash=False)
router.register("caseAutomations", CaseAutomationViewSet, basename="case-automations")
urlpatterns = router.urls

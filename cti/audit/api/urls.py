from cti.api.routers import V3Router
from cti.audit.api.views import AuditLogViewSet

router = V3Router()
router.register("auditLog", AuditLogViewSet, basename="audit-log")
urlpatterns = router.urls

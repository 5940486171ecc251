from cases.api import views
from cti.api.routers import V3Router

router = V3Router()
router.register("cases", views.CaseViewSet, basename="cases")
router.register("tasks", views.TaskViewSet, basename="tasks")
router.register("artifacts", views.ArtifactViewSet, basename="artifacts")
router.register("notes", views.NoteViewSet, basename="notes")
router.register("workflowEvents", views.WorkflowEventViewSet, basename="workflowEvents")
router.register("workflowTemplates", views.WorkflowTemplateViewSet, basename="workflowTemplates")
router.register("artifactTypes", views.ArtifactTypeViewSet, basename="artifactTypes")
router.register("tags", views.TagViewSet, basename="tags")
router.register("caseAttributes", views.CaseAttributeViewSet, basename="caseAttributes")
router.register("caseOpinions", views.CaseOpinionViewSet, basename="caseOpinions")
router.register(
    "caseStatusTemplates", views.CaseStatusTemplateViewSet, basename="caseStatusTemplates"
)

urlpatterns = router.urls

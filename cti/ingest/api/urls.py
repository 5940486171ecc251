from django.urls import path

from cti.api.routers import V3Router
from cti.ingest.api import views

router = V3Router()
router.register("deadLetters", views.DeadLetterViewSet, basename="dead-letters")

urlpatterns = [
    path("sightings", views.SightingsView.as_view(), name="sightings-ingest"),
    path("webhooks/<slug:slug>", views.WebhookView.as_view(), name="webhooks-ingest"),
]
urlpatterns += router.urls

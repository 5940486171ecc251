from django.urls import path

from cti.api.routers import V3Router
from cti.intel.api import views

router = V3Router()
router.register("intel/objects", views.IntelObjectViewSet, basename="intel-objects")
router.register("intel/relationships", views.IntelRelationshipViewSet, basename="intel-rels")
router.register("intel/sightings", views.IntelSightingViewSet, basename="intel-sightings")

urlpatterns = [path("intel/bundles", views.BundleView.as_view(), name="intel-bundles")]
urlpatterns += router.urls

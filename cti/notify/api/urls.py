from cti.api.routers import V3Router
from cti.notify.api import views

router = V3Router()
router.register("notifications/triggers", views.TriggerViewSet, basename="notify-triggers")
router.register("notifications/notifiers", views.NotifierViewSet, basename="notify-notifiers")
router.register("notifications/deliveries", views.DeliveryViewSet, basename="notify-deliveries")
urlpatterns = router.urls

from cti.api.routers import V3Router
from cti.security.api.credentials import ApiCredentialViewSet
from cti.security.api.views import OwnerViewSet, UserViewSet

router = V3Router()
router.register("security/users", UserViewSet, basename="users")
router.register("security/owners", OwnerViewSet, basename="owners")
router.register("security/credentials", ApiCredentialViewSet, basename="credentials")
urlpatterns = router.urls

from django.urls import path

from cti.taxii import views

COLLECTION = "api/collections/<str:collection_id>/"

urlpatterns = [
    path("", views.DiscoveryView.as_view(), name="taxii-discovery"),
    path("api/", views.ApiRootView.as_view(), name="taxii-api-root"),
    path("api/collections/", views.CollectionsView.as_view(), name="taxii-collections"),
    path(COLLECTION, views.CollectionView.as_view(), name="taxii-collection"),
    path(f"{COLLECTION}objects/", views.ObjectsView.as_view(), name="taxii-objects"),
    path(f"{COLLECTION}manifest/", views.ManifestView.as_view(), name="taxii-manifest"),
    path(f"{COLLECTION}objects/<str:object_id>/", views.ObjectView.as_view(), name="taxii-object"),
    path(
        f"{COLLECTION}objects/<str:object_id>/versions/",
        views.VersionsView.as_view(),
        name="taxii-object-versions",
    ),
    path("api/status/<str:status_id>/", views.StatusView.as_view(), name="taxii-status"),
]

"""Admin pages list and open only the rows the signed-in user may see (administrators see
all; staff with another role see their owners' data, as in the API)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from cti.security.visibility import visible


class VisibleRowsAdmin(admin.ModelAdmin):
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return visible(super().get_queryset(request), request.user)

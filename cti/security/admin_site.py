"""The Django admin site: Api User (playbook) accounts are API-only and never get in, even with
is_staff set."""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest

from cti.security.choices import SystemRoleChoices

API_ONLY_ROLES = {SystemRoleChoices.PLAYBOOK}


def api_only(user) -> bool:
    return getattr(user, "system_role", None) in API_ONLY_ROLES


class CtiAdminAuthenticationForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if api_only(user):
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class CtiAdminSite(admin.AdminSite):
    login_form = CtiAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and not api_only(request.user)

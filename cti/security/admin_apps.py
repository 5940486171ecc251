from django.contrib.admin.apps import AdminConfig


class CtiAdminConfig(AdminConfig):
    """django.contrib.admin with the site that keeps API-only users out."""

    default_site = "cti.security.admin_site.CtiAdminSite"

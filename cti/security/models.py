"""Users, user groups, owners (organisations) and API credentials."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from cti.fastload import FastLoad
from cti.security.choices import OwnerTypeChoices, SystemRoleChoices, UiThemeChoices


class Owner(FastLoad, models.Model):
    """An organisation, community or source that owns cases, templates and intelligence
    (ThreatConnect 'owner'). A user sees the data of their own organisation and of the owners
    they are a member of (what is shared with them)."""

    name = models.CharField(max_length=200, unique=True)
    type = models.CharField(
        max_length=20, choices=OwnerTypeChoices.choices, default=OwnerTypeChoices.ORGANIZATION
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_owners",
        help_text="Users outside the organisation that may see and work on this owner's data.",
    )

    def __str__(self) -> str:
        return self.name


class User(FastLoad, AbstractUser):
    pseudonym = models.CharField(max_length=100, blank=True, default="")
    owner = models.ForeignKey(Owner, null=True, blank=True, on_delete=models.PROTECT)
    system_role = models.CharField(
        max_length=30, choices=SystemRoleChoices.choices, default=SystemRoleChoices.ANALYST
    )
    ui_theme = models.CharField(
        max_length=10, choices=UiThemeChoices.choices, default=UiThemeChoices.LIGHT
    )
    terms_accepted = models.BooleanField(default=False)
    terms_accepted_date = models.DateTimeField(null=True, blank=True)
    logout_interval_minutes = models.PositiveIntegerField(default=30)
    locked = models.BooleanField(default=False)
    password_reset_required = models.BooleanField(default=False)
    two_factor_reset_required = models.BooleanField(default=False)
    custom_tql_timeout = models.PositiveIntegerField(null=True, blank=True)
    job_function = models.CharField(max_length=100, blank=True, default="")
    job_role = models.CharField(max_length=100, blank=True, default="")
    last_password_change = models.DateTimeField(null=True, blank=True)

    @property
    def disabled(self) -> bool:
        return not self.is_active

    @property
    def is_administrator(self) -> bool:
        return self.is_superuser or self.system_role == SystemRoleChoices.ADMINISTRATOR


class UserGroup(FastLoad, models.Model):
    """A group of users that cases and tasks can be assigned to."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="user_groups"
    )

    def __str__(self) -> str:
        return self.name


class ApiCredential(FastLoad, models.Model):
    """HMAC access id / secret key and a bearer token for one API user.

    The HMAC secret must be kept readable: the server recomputes the client's signature with it.
    The token is kept only as a SHA-256 digest. Rotation replaces both secrets (the old ones
    stop working at once); revocation disables the credential for good.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_credentials"
    )
    access_id = models.CharField(max_length=40, unique=True)
    secret_key = models.CharField(max_length=128)
    token_digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.access_id} ({self.user})"

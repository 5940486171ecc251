from django.db import models


class SystemRoleChoices(models.TextChoices):
    ADMINISTRATOR = "Administrator", "Administrator"
    ANALYST = "Analyst", "Analyst"
    READ_ONLY = "Read Only User", "Read Only User"
    PLAYBOOK = "Api User", "Api User (playbook)"


class UiThemeChoices(models.TextChoices):
    LIGHT = "Light", "Light"
    DARK = "Dark", "Dark"


class OwnerTypeChoices(models.TextChoices):
    ORGANIZATION = "Organization", "Organization"
    COMMUNITY = "Community", "Community"
    SOURCE = "Source", "Source"

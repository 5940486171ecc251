from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "cti.security"
    label = "security"
    verbose_name = "Security"

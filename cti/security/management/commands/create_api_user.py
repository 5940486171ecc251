from django.core.management.base import BaseCommand

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create


class Command(BaseCommand):
    help = "Create (or reuse) an API user and print a new access id, secret key and token."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--role",
            default=SystemRoleChoices.PLAYBOOK.value,
            choices=[c.value for c in SystemRoleChoices],
        )
        parser.add_argument("--password", default=None)
        parser.add_argument("--superuser", action="store_true")

    def handle(self, *args, name: str, role: str, password: str | None, superuser: bool, **kw):
        issued = api_user_create(name, role=role, password=password, superuser=superuser)
        self.stdout.write(f"user:       {issued.user.username} (id {issued.user.pk}, role {role})")
        self.stdout.write(f"access id:  {issued.access_id}")
        self.stdout.write(f"secret key: {issued.secret_key}")
        self.stdout.write(f"token:      {issued.token}")

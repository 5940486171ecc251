"""Creates the administrator on first run and prints its login and an API token.

The credentials are kept in $CTI_VAR_DIR/admin-credentials.json (mode 600) so later runs print
the same login; delete the file to issue new ones."""

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from cti.security.choices import SystemRoleChoices
from cti.security.models import User
from cti.security.services import api_user_create


class Command(BaseCommand):
    help = "Create the admin user (once) and print its login, API credentials and token."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        store = Path(settings.VAR_DIR) / "admin-credentials.json"
        saved = json.loads(store.read_text()) if store.exists() else None
        if not saved or not User.objects.filter(username=saved["username"]).exists():
            password = secrets.token_urlsafe(12)
            issued = api_user_create(
                username, role=SystemRoleChoices.ADMINISTRATOR, password=password, superuser=True
            )
            saved = {
                "username": username,
                "password": password,
                "access_id": issued.access_id,
                "secret_key": issued.secret_key,
                "token": issued.token,
            }
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(saved, indent=2))
            os.chmod(store, 0o600)
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Admin login   http://127.0.0.1:8000/admin/",
                    f"  username    {saved['username']}",
                    f"  password    {saved['password']}",
                    "API (TC-Token)  Authorization: TC-Token " + saved["token"],
                    f"API (HMAC)      access id {saved['access_id']}",
                    f"                secret key {saved['secret_key']}",
                    f"(stored in {store})",
                    "",
                ]
            )
        )

from django.core.management.base import CommandError

from cti.api.errors import V3Error
from cti.audit.context import audit_context
from cti.security.management.credential_command import CredentialCommand
from cti.security.services import api_credential_rotate


class Command(CredentialCommand):
    help = "Give a credential a new secret key and token (printed once); the old ones stop working."

    def handle(self, *args, credential: str, **kw):
        found = self.credential(credential)
        try:
            with audit_context(source="command:rotate_api_credential"):
                issued = api_credential_rotate(found)
        except V3Error as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"access id:  {issued.access_id}")
        self.stdout.write(f"secret key: {issued.secret_key}")
        self.stdout.write(f"token:      {issued.token}")

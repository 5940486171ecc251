from cti.audit.context import audit_context
from cti.security.management.credential_command import CredentialCommand
from cti.security.services import api_credential_revoke


class Command(CredentialCommand):
    help = "Revoke an API credential: its token and HMAC signatures are refused from now on."

    def handle(self, *args, credential: str, **kw):
        found = self.credential(credential)
        with audit_context(source="command:revoke_api_credential"):
            api_credential_revoke(found)
        self.stdout.write(f"revoked {found.access_id} ({found.user.username})")

from django.core.management.base import BaseCommand, CommandError

from cti.security.models import ApiCredential
from cti.security.services import api_credential_find


class CredentialCommand(BaseCommand):
    """A command acting on one API credential, named by access id or by its user's name."""

    def add_arguments(self, parser):
        parser.add_argument("credential", help="Access id, or the user name of one live credential")

    def credential(self, name: str) -> ApiCredential:
        found = api_credential_find(name)
        if found is None:
            raise CommandError(f"No credential {name!r} (or the user has several).")
        return found

"""TAXII clients authenticate with HTTP Basic (user name + API token as the password) or a bearer
header (`Authorization: Token <token>` or `Bearer <token>`); the v3 API's `TC-Token` and HMAC
schemes work too. Tokens are the ones `api_credential_issue` hands out, checked by digest."""

import base64
import binascii
import hmac

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from cti.api.authentication import active_user
from cti.security.models import ApiCredential
from cti.security.services import token_digest

REALM = "cti-taxii"


def credential_for_token(token: str) -> ApiCredential | None:
    return (
        ApiCredential.objects.select_related("user")
        .filter(token_digest=token_digest(token))
        .first()
    )


class TaxiiBasicAuthentication(authentication.BaseAuthentication):
    """`Authorization: Basic base64(<user name>:<API token>)`."""

    def authenticate(self, request: Request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:6].lower() != "basic ":
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from None
        username, sep, token = decoded.partition(":")
        if not sep or not token:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.")
        credential = credential_for_token(token)
        user = active_user(credential)
        if not hmac.compare_digest(user.get_username().encode(), username.encode()):
            raise exceptions.AuthenticationFailed("Invalid user name or API token.")
        return user, credential

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'


class TaxiiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <API token>` (or `Bearer <API token>`)."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() not in self.keywords:
            return None
        token = token.strip()
        if not token:
            raise exceptions.AuthenticationFailed("Empty token.")
        credential = credential_for_token(token)
        return active_user(credential), credential

    def authenticate_header(self, request: Request) -> str:
        return "Token"

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cti.security.choices import OwnerTypeChoices, SystemRoleChoices
from cti.security.models import ApiCredential, Owner, User


@dataclass(frozen=True)
class IssuedCredential:
    user: User
    access_id: str
    secret_key: str
    token: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def default_owner() -> Owner:
    owner, _ = Owner.objects.get_or_create(name=settings.CTI_OWNER_NAME)
    return owner


def owner_for_write(user, data: dict) -> Owner:
    """The owner a new object goes to: the one `?owner=` named (the view checked it is
    visible), else the writer's organisation, else the default owner."""
    return data.get("owner") or getattr(user, "owner", None) or default_owner()


@transaction.atomic
def api_credential_issue(user: User) -> IssuedCredential:
    access_id = "".join(secrets.choice("0123456789") for _ in range(20))
    secret_key, token = _new_secrets(user)
    ApiCredential.objects.create(
        user=user, access_id=access_id, secret_key=secret_key, token_digest=token_digest(token)
    )
    return IssuedCredential(user=user, access_id=access_id, secret_key=secret_key, token=token)


@transaction.atomic
def api_user_create(
    username: str,
    *,
    role: str = SystemRoleChoices.PLAYBOOK,
    password: str | None = None,
    superuser: bool = False,
) -> IssuedCredential:
    user, _ = User.objects.get_or_create(username=username)
    user.system_role = role
    user.owner = user.owner or default_owner()
    user.is_staff = user.is_staff or superuser
    user.is_superuser = user.is_superuser or superuser
    if password:
        user.set_password(password)
    elif not user.has_usable_password():
        user.set_unusable_password()
    user.save()
    return api_credential_issue(user)


def user_create(*, user: User, data: dict) -> User:
    from cti.api.errors import V3Error

    if User.objects.filter(username=data.get("username")).exists():
        raise V3Error(f"User {data.get('username')!r} already exists.")
    new = User(owner=owner_for_write(user, data))
    _set_user_fields(new, data)
    if data.get("password"):
        new.set_password(data["password"])
    else:
        new.set_unusable_password()
    new.save()
    return new


def owner_create(*, user: User, data: dict) -> Owner:
    owner = Owner(type=data.get("type") or OwnerTypeChoices.ORGANIZATION)
    return _save_owner(owner, data)


def owner_update(*, user: User, instance: Owner, data: dict) -> Owner:
    return _save_owner(Owner.objects.select_for_update().get(pk=instance.pk), data)


def _save_owner(owner: Owner, data: dict) -> Owner:
    from cti.api.errors import V3Error

    owner.name = (data.get("name") or owner.name).strip()
    owner.type = data.get("type") or owner.type
    if not owner.name:
        raise V3Error("name must not be empty.")
    if Owner.objects.filter(name=owner.name).exclude(pk=owner.pk).exists():
        raise V3Error(f"Owner {owner.name!r} already exists.")
    owner.save()
    return owner


def user_update(*, user: User, instance: User, data: dict) -> User:
    _set_user_fields(instance, data)
    instance.save()
    return instance


_USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "pseudonym",
    "system_role",
    "ui_theme",
    "terms_accepted",
    "logout_interval_minutes",
    "locked",
    "password_reset_required",
    "two_factor_reset_required",
    "custom_tql_timeout",
    "job_function",
    "job_role",
)


def _set_user_fields(target: User, data: dict) -> None:
    for name in _USER_FIELDS:
        if name in data and data[name] is not None:
            setattr(target, name, data[name])
    if data.get("disabled") is not None:
        target.is_active = not data["disabled"]


def _new_secrets(user: User) -> tuple[str, str]:
    return secrets.token_urlsafe(48), f"APIV2:{user.pk}:{secrets.token_urlsafe(32)}"


@transaction.atomic
def api_credential_rotate(credential: ApiCredential) -> IssuedCredential:
    """New secret key and token for the same access id; the old ones fail from now on."""
    from cti.api.errors import ErrCode, V3Error

    credential = (
        ApiCredential.objects.select_for_update().select_related("user").get(pk=credential.pk)
    )
    if credential.revoked:
        raise V3Error("A revoked credential cannot be rotated.", ErrCode.CONFLICT)
    secret_key, token = _new_secrets(credential.user)
    credential.secret_key = secret_key
    credential.token_digest = token_digest(token)
    credential.rotated_at = timezone.now()
    credential.save(update_fields=["secret_key", "token_digest", "rotated_at"])
    return IssuedCredential(
        user=credential.user, access_id=credential.access_id, secret_key=secret_key, token=token
    )


@transaction.atomic
def api_credential_revoke(credential: ApiCredential) -> ApiCredential:
    credential = ApiCredential.objects.select_for_update().get(pk=credential.pk)
    if not credential.revoked:
        credential.revoked = True
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked", "revoked_at"])
    return credential


def api_credential_find(key: str) -> ApiCredential | None:
    """By access id, or the only live credential of a user name."""
    found = ApiCredential.objects.select_related("user").filter(access_id=key).first()
    if found is not None:
        return found
    live = list(
        ApiCredential.objects.select_related("user").filter(user__username=key, revoked=False)[:2]
    )
    return live[0] if len(live) == 1 else None

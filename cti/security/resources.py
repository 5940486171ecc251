"""The /v3/security/users and /v3/security/owners resources, and the User output shape used
everywhere."""

from cti.api.rendering import register_formatter, register_resource
from cti.api.resources import Access, FieldSpec, Resource
from cti.security.choices import OwnerTypeChoices, SystemRoleChoices, UiThemeChoices
from cti.security.models import Owner, User
from cti.security.tql import OWNERS, USERS

RO, C, CU = Access.RO, Access.C, Access.CU


def user_summary(user: User) -> dict:
    data = {"id": user.pk, "userName": user.username}
    # unrolled: every joined user of every row passes here (about 900 per page of cases)
    if value := user.first_name:
        data["firstName"] = value
    if value := user.last_name:
        data["lastName"] = value
    if value := user.pseudonym:
        data["pseudonym"] = value
    return data


register_formatter("User", user_summary)

USER_SUMMARY_COLUMNS = frozenset({"id", "username", "first_name", "last_name", "pseudonym"})


def user_summary_defer(*paths: str) -> tuple[str, ...]:
    """`defer()` arguments for users joined at `paths` that are only shown by user_summary:
    every other column (password hash, settings, dates) stays in the database."""
    unused = [f.name for f in User._meta.concrete_fields if f.name not in USER_SUMMARY_COLUMNS]
    return tuple(f"{path}__{name}" for path in paths for name in unused)


USER_RESOURCE = register_resource(
    Resource(
        name="users",
        model=User,
        tql=USERS,
        select=("owner",),
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("userName", "String", C, attr="username", required=True, max_length=150),
            FieldSpec("firstName", "String", CU, attr="first_name", required=True, max_length=150),
            FieldSpec("lastName", "String", CU, attr="last_name", required=True, max_length=150),
            FieldSpec("pseudonym", "String", CU, attr="pseudonym", max_length=100),
            FieldSpec("owner", "String", RO, getter=lambda u: u.owner.name if u.owner else None),
            FieldSpec("password", "String", C, write_only=True, min_length=8),
            FieldSpec(
                "systemRole",
                "String",
                CU,
                attr="system_role",
                choices=tuple(SystemRoleChoices.values),
                default="Analyst",
            ),
            FieldSpec(
                "uiTheme",
                "String",
                CU,
                attr="ui_theme",
                choices=tuple(UiThemeChoices.values),
                default="Light",
            ),
            FieldSpec("termsAccepted", "Boolean", CU, attr="terms_accepted"),
            FieldSpec(
                "logoutIntervalMinutes",
                "Integer",
                CU,
                attr="logout_interval_minutes",
                default=30,
                min_value=1,
            ),
            FieldSpec("disabled", "Boolean", CU, getter=lambda u: not u.is_active),
            FieldSpec("locked", "Boolean", CU, attr="locked"),
            FieldSpec("passwordResetRequired", "Boolean", CU, attr="password_reset_required"),
            FieldSpec("twoFactorResetRequired", "Boolean", CU, attr="two_factor_reset_required"),
            FieldSpec("customTqlTimeout", "Integer", CU, attr="custom_tql_timeout"),
            FieldSpec("lastPasswordChange", "Date", RO, attr="last_password_change"),
            FieldSpec("lastLogin", "Date", RO, attr="last_login"),
            FieldSpec("jobFunction", "String", CU, attr="job_function"),
            FieldSpec("jobRole", "String", CU, attr="job_role"),
        ],
    )
)


OWNER_RESOURCE = register_resource(
    Resource(
        name="owners",
        model=Owner,
        tql=OWNERS,
        fields=[
            FieldSpec("id", "Integer", RO),
            FieldSpec("name", "String", CU, required=True, max_length=200),
            FieldSpec(
                "type",
                "String",
                CU,
                choices=tuple(OwnerTypeChoices.values),
                default=OwnerTypeChoices.ORGANIZATION.value,
            ),
        ],
    )
)

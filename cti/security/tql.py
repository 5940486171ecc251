"""TQL keywords of ``/v3/security/users`` (tcex ``UserFilter``)."""

from typing import Any

from django.db.models import Q

from cti.security.models import Owner, User
from cti.tql import ME, Keyword, TqlContext, TqlError, TqlSchema, registry
from cti.tql import KeywordType as T


def _disabled(op: str, value: Any, ctx: TqlContext) -> Q:
    """``disabled`` is the negation of ``is_active`` (never null)."""
    if op in ("is null", "is not null"):
        return Q(pk__in=[]) if op == "is null" else ~Q(pk__in=[])
    if value is ME:
        raise TqlError("'me' is not a valid value for keyword 'disabled'", "me")
    disabled = value if op == "=" else not value
    return Q(is_active=not disabled)


USERS = registry.register(
    TqlSchema(
        "users",
        User,
        [
            Keyword(
                "disabled",
                T.BOOLEAN,
                resolver=_disabled,
                description="Whether the user is disabled",
            ),
            Keyword("firstName", T.STRING, "first_name", "The first name"),
            Keyword(
                "groupId",
                T.INTEGER,
                "user_groups__id",
                "The id of a group the user is in",
                sortable=False,
            ),
            Keyword("id", T.INTEGER, "id", "The ID of the user"),
            Keyword("jobFunction", T.STRING, "job_function", "The job function"),
            Keyword("jobRole", T.STRING, "job_role", "The job role"),
            Keyword("lastLogin", T.DATE, "last_login", "The last login"),
            Keyword("lastName", T.STRING, "last_name", "The last name"),
            Keyword(
                "lastPasswordChange", T.DATE, "last_password_change", "The last password change"
            ),
            Keyword("locked", T.BOOLEAN, "locked", "Whether the user is locked"),
            Keyword(
                "passwordResetRequired",
                T.BOOLEAN,
                "password_reset_required",
                "Whether a password reset is required",
            ),
            Keyword("pseudonym", T.STRING, "pseudonym", "The pseudonym"),
            Keyword("systemRole", T.STRING, "system_role", "The system role"),
            Keyword(
                "termsAccepted", T.BOOLEAN, "terms_accepted", "Whether the terms were accepted"
            ),
            Keyword(
                "termsAcceptedDate", T.DATE, "terms_accepted_date", "When the terms were accepted"
            ),
            Keyword("tqlTimeout", T.INTEGER, "custom_tql_timeout", "The custom TQL timeout"),
            Keyword("userName", T.STRING, "username", "The user name"),
        ],
    )
)


OWNERS = registry.register(
    TqlSchema(
        "owners",
        Owner,
        [
            Keyword("id", T.INTEGER, "id", "The ID of the owner"),
            Keyword("name", T.STRING, "name", "The name of the owner"),
            Keyword("type", T.STRING, "type", "Organization, Community or Source"),
        ],
    )
)

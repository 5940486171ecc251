"""Test-only TQL schemas over the user model and ``auth.Group`` (independent of ``cases``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q

from cti.tql import ME, Keyword, KeywordType, Subquery, TqlContext, TqlSchema, registry

T = KeywordType
User = get_user_model()


def owner_resolver(op: str, value: Any, context: TqlContext) -> Q:
    """``owner = me`` / ``owner = "name"``: a User keyword whose ``me`` is the requesting user."""

    def one(v: Any) -> Any:
        return context.user.get_username() if v is ME else v

    if op in ("is null", "is not null"):
        return Q(pk__in=[]) if op == "is null" else Q()
    if op in ("in", "not in"):
        q = Q(username__in=[one(v) for v in value])
    else:
        q = Q(username=one(value))
    return ~q if op in ("!=", "not in") else q


USERS = TqlSchema(
    "tql_users",
    User,
    [
        Keyword("id", T.INTEGER, "id", "The ID of the user"),
        Keyword("idLong", T.LONG, "id"),
        Keyword("idDouble", T.DOUBLE, "id"),
        Keyword("username", T.STRING, "username", "The login"),
        Keyword("firstName", T.STRING, "first_name"),
        Keyword("email", T.STRING_LOWER, "email"),
        Keyword("isStaff", T.BOOLEAN, "is_staff"),
        Keyword("dateJoined", T.DATE, "date_joined"),
        Keyword("lastLogin", T.DATETIME, "last_login"),
        Keyword("groupName", T.STRING, "groups__name", "The name of one of the user's groups"),
        Keyword("role", T.ENUM, "first_name", choices=("Open", "Closed")),
        Keyword("nickname", T.ENUM, "last_name"),
        Keyword("login", T.USER, "username"),
        Keyword("createdById", T.INTEGER, "id"),
        Keyword("owner", T.USER, resolver=owner_resolver, sortable=False),
        Keyword("hasGroup", T.INTEGER, subquery=Subquery("tql_groups", inner="user")),
    ],
)

GROUPS = TqlSchema(
    "tql_groups",
    Group,
    [
        Keyword("id", T.INTEGER, "id"),
        Keyword("name", T.STRING, "name"),
        Keyword("userName", T.STRING, "user__username", "The login of one of the members"),
        Keyword("hasUser", T.INTEGER, subquery=Subquery("tql_users", inner="groups")),
    ],
)


def register() -> None:
    registry.register(USERS)
    registry.register(GROUPS)

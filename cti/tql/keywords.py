"""Declarations of what each resource can be filtered on: keywords and schemas.

A resource declares one :class:`TqlSchema` (its model plus a list of :class:`Keyword`) and
registers it in :data:`cti.tql.registry.registry`; ``OPTIONS /v3/<resource>/tql`` is
``schema.describe()``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q, QuerySet

if TYPE_CHECKING:
    from cti.tql.compiler import TqlContext

__all__ = ["Keyword", "KeywordType", "Subquery", "TqlSchema"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_ACRONYMS = {"id": "ID", "xid": "XID", "url": "URL", "cidr": "CIDR", "ip": "IP"}


class KeywordType(enum.StrEnum):
    """TQL value types; the value is the ThreatConnect type name shown by ``OPTIONS /tql``.

    A ``str`` enum (``StrEnum``: ``str(KeywordType.STRING) == "String"``).
    """

    STRING = "String"
    STRING_LOWER = "StringLower"
    INTEGER = "Integer"
    LONG = "Long"
    DOUBLE = "Double"
    BOOLEAN = "Boolean"
    DATE = "Date"
    DATETIME = "DateTime"
    ENUM = "Enum"
    ASSIGNEE = "Assignee"
    USER = "User"


@dataclass(frozen=True)
class Subquery:
    """A ``hasX(...)`` association: ``outer IN (SELECT inner FROM target WHERE <inner query>)``.

    ``target`` names another registered schema, ``inner`` is an ORM path on the target model and
    ``outer`` one on this model (e.g. cases ``hasTask``: ``Subquery("tasks", inner="case_id")``).
    """

    target: str
    inner: str
    outer: str = "pk"


Resolver = Callable[[str, Any, "TqlContext"], Q]


@dataclass(frozen=True)
class Keyword:
    """One filterable TQL keyword of a resource.

    ``lookup`` is the ORM path compared with the value (it may cross relations; a to-many
    path is compiled as a subquery, see :mod:`cti.tql.compiler`). ``subquery`` makes this a
    ``hasX(...)`` keyword. A ``resolver`` replaces the standard translation: it is called as
    ``resolver(operator, value, context)`` with the normalised operator (one of
    :data:`cti.tql.ast.OPERATORS`) and the value already converted to ``type`` (a list for
    ``in``/``not in``, ``None`` for ``is [not] null``; the bare word ``me`` arrives as
    :data:`cti.tql.values.ME`, a ``str`` equal to ``"me"``) and must return a ``Q``, negation
    included. ``choices`` restricts ``= != IN`` values (matched case-insensitively, replaced by
    the canonical spelling). ``label`` defaults to the name split into words ("Case ID").
    """

    name: str
    type: KeywordType
    lookup: str | None = None
    description: str = ""
    label: str = ""
    subquery: Subquery | None = None
    resolver: Resolver | None = None
    choices: tuple[str, ...] | None = None
    sortable: bool = True

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"TQL keyword name {self.name!r} is not an identifier")
        if self.lookup is None and self.resolver is None and self.subquery is None:
            raise ValueError(f"TQL keyword {self.name!r} needs a lookup, resolver or subquery")
        if not isinstance(self.type, KeywordType):
            object.__setattr__(self, "type", KeywordType(self.type))
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if not self.label:
            object.__setattr__(self, "label", label_for(self.name))

    def describe(self) -> dict[str, Any]:
        """The ``OPTIONS /v3/<resource>/tql`` entry for this keyword."""
        if self.subquery is not None:
            type_name = KeywordType.INTEGER.value
            description = self.description or (
                f"A nested query for association to other {self.subquery.target}"
            )
        else:
            type_name, description = self.type.value, self.description
        return {
            "keyword": self.name,
            "name": self.label,
            "type": type_name,
            "description": description,
            "groupable": False,
            "targetable": True,
        }


def label_for(name: str) -> str:
    """``caseOpenTime`` -> ``Case Open Time``, ``caseId`` -> ``Case ID``."""
    words = _CAMEL_WORD.findall(name) or [name]
    return " ".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


@dataclass
class TqlSchema:
    """The TQL keywords of one resource (``name`` is what ``hasX`` subqueries refer to).

    ``queryset``, if given, is called for the base rows (e.g. to hide soft-deleted objects);
    otherwise the model's default manager is used. Subqueries use the target's base rows too.
    """

    name: str
    model: type[models.Model]
    keywords: list[Keyword]
    queryset: Callable[[], QuerySet] | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for keyword in self.keywords:
            folded = keyword.name.casefold()
            if folded in seen:
                raise ValueError(f"duplicate TQL keyword {keyword.name!r} in schema {self.name!r}")
            seen.add(folded)

    def keyword(self, name: str) -> Keyword | None:
        """Case-insensitive keyword lookup (``caseid`` finds ``caseId``)."""
        folded = name.casefold()
        return next((k for k in self.keywords if k.name.casefold() == folded), None)

    def describe(self) -> list[dict[str, Any]]:
        """``OPTIONS /tql`` data, sorted by keyword."""
        return [k.describe() for k in sorted(self.keywords, key=lambda k: k.name.casefold())]

    def base_queryset(self) -> QuerySet:
        if self.queryset is not None:
            return self.queryset()
        return self.model._default_manager.all()

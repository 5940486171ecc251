"""Which rows a user may see: owners (organisations) and the per-model rules apps register.

A user sees the data of their own organisation and of the owners they are a member of;
administrators see everything. Apps register each owned model with the path to its owner and,
where a model has a finer rule (a case's userAccess list), a function giving that rule's ``Q``.
Every read path (lists, single gets, TQL subqueries, nested expansions, exports, TAXII,
notifications, admin) filters through :func:`visible_q`, so a hidden row is hidden everywhere
the same way: as if it did not exist.
"""

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from cti.api.errors import ErrCode, V3Error
from cti.security.models import Owner

_CACHE_ATTR = "_cti_viewer"


@dataclass(frozen=True)
class Viewer:
    """What one user may see. ``owner_ids`` is None when every owner is visible."""

    user: object
    owner_ids: frozenset[int] | None
    sees_all: bool  # administrators: no owner or per-object restriction at all


@dataclass(frozen=True)
class _Rule:
    owner_path: str  # lookup path to the Owner foreign key, e.g. "owner" or "case__owner"
    # which rows without an owner a viewer of some owners sees (None: no such rows exist)
    ownerless: Callable[[Viewer], Q] | None
    access: Callable[[Viewer], Q] | None  # a finer per-user rule, e.g. a case's userAccess


_RULES: dict[type[Model], _Rule] = {}


def register(
    model: type[Model],
    owner_path: str,
    *,
    ownerless: Callable[[Viewer], Q] | None = None,
    access: Callable[[Viewer], Q] | None = None,
) -> None:
    _RULES[model] = _Rule(owner_path, ownerless, access)


def is_scoped(model: type[Model]) -> bool:
    return model in _RULES


def viewer_for(user) -> Viewer:
    """The user's visibility, worked out once per user object (one query of the owners)."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if user is None or getattr(user, "is_administrator", False):  # None: the system itself
        viewer = Viewer(user, None, True)
    elif not getattr(user, "pk", None):
        viewer = Viewer(user, frozenset(), False)
    else:
        membership = Owner.members.through.objects.filter(owner_id=OuterRef("pk"), user_id=user.pk)
        rows = list(Owner.objects.annotate(member=Exists(membership)).values_list("pk", "member"))
        ids = frozenset(pk for pk, member in rows if member or pk == user.owner_id)
        viewer = Viewer(user, None if len(ids) == len(rows) else ids, False)
    with suppress(AttributeError):  # objects that take no attributes are not cached on
        setattr(user, _CACHE_ATTR, viewer)
    return viewer


def with_full_view(user):
    """A system account (the one automations run as when they name no user) acts for the
    administrators who configured the work: it sees every owner's rows while it does it."""
    with suppress(AttributeError):
        setattr(user, _CACHE_ATTR, Viewer(user, None, True))
    return user


def _as_viewer(who) -> Viewer:
    return who if isinstance(who, Viewer) else viewer_for(who)


def visible_q(model: type[Model], who, owner: Owner | None = None) -> Q:
    """The rows of ``model`` visible to ``who`` (a user or a Viewer), narrowed to ``owner``
    when one is named (``?owner=``). ``Q()`` for models that are not owned."""
    rule = _RULES.get(model)
    if rule is None:
        return Q()
    viewer = _as_viewer(who)
    q = Q()
    if viewer.owner_ids is not None:
        owned = Q(**{f"{rule.owner_path}_id__in": sorted(viewer.owner_ids)})
        if rule.ownerless is not None:
            owned |= Q(**{f"{rule.owner_path}__isnull": True}) & rule.ownerless(viewer)
        q &= owned
    if owner is not None:
        q &= Q(**{f"{rule.owner_path}_id": owner.pk})
    if rule.access is not None and not viewer.sees_all:
        q &= rule.access(viewer)
    return q


def visible(queryset: QuerySet, who, owner: Owner | None = None) -> QuerySet:
    q = visible_q(queryset.model, who, owner)
    return queryset.filter(q) if q else queryset


def scope_for(who) -> Callable[[QuerySet], QuerySet]:
    """`visible` bound to one user (or Viewer): the scope nested reads and TQL subqueries take."""
    return lambda queryset: visible(queryset, who)


def may_see_owner(who, owner: Owner) -> bool:
    viewer = _as_viewer(who)
    return viewer.owner_ids is None or owner.pk in viewer.owner_ids


def visible_owners(who) -> QuerySet:
    viewer = _as_viewer(who)
    owners = Owner.objects.order_by("name", "pk")
    return owners if viewer.owner_ids is None else owners.filter(pk__in=viewer.owner_ids)


def owner_named(who, name: str) -> Owner:
    """The owner a ``?owner=`` parameter names; 403 when it does not exist or is not visible
    (ThreatConnect answers both the same way)."""
    owner = Owner.objects.filter(name=name).first()
    if owner is None or not may_see_owner(who, owner):
        raise V3Error(f"Owner {name!r} does not exist or is not accessible.", ErrCode.FORBIDDEN)
    return owner

"""The collections: saved filters over the knowledge graph, read-only.

- `intel`: every STIX object the graph serves (what the v3 intel API lists: domain objects,
  observables, markings, relationships and sightings; case containers are not STIX);
- `indicators`: the indicators among them;
- one per owner: the objects that owner imported or wrote (`StixObject.owner`), listed for the
  users who may see that owner (cti.security.visibility) and for administrators.

Every collection serves only the objects the requesting user may see.

Ids are uuid5 in a fixed namespace, so they never change for a given collection.
"""

import uuid
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from cti.intel.choices import CASE
from cti.intel.models import StixObject
from cti.security.models import Owner, User
from cti.security.visibility import visible, visible_owners
from cti.taxii.errors import STIX_MEDIA_TYPE, not_found

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cti:taxii:collections")


def collection_id(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))


@dataclass(frozen=True)
class Collection:
    key: str
    title: str
    description: str
    alias: str
    scope: Q = field(compare=False)

    @property
    def id(self) -> str:
        return collection_id(self.key)

    def queryset(self, user) -> QuerySet:
        """The collection's objects that `user` may see."""
        return visible(StixObject.objects.exclude(type=CASE).filter(self.scope), user)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "alias": self.alias,
            "can_read": True,
            "can_write": False,
            "media_types": [STIX_MEDIA_TYPE],
        }


INTEL = Collection(
    key="intel",
    title="All intelligence",
    description="Every STIX object in the knowledge graph, inferred ones included "
    "(x_cti_is_inferred).",
    alias="intel",
    scope=Q(),
)
INDICATORS = Collection(
    key="indicators",
    title="Indicators",
    description="Every indicator in the knowledge graph.",
    alias="indicators",
    scope=Q(type="indicator"),
)


def owner_collection(owner: Owner) -> Collection:
    return Collection(
        key=f"owner:{owner.pk}",
        title=f"{owner.name}",
        description=f"The STIX objects owned by {owner.name}.",
        alias=f"owner-{owner.pk}",
        scope=Q(owner_id=owner.pk),
    )


def collections_for(user: User) -> list[Collection]:
    return [INTEL, INDICATORS, *(owner_collection(o) for o in visible_owners(user))]


def collection_for(user: User, cid: str) -> Collection:
    """The collection with this id if the user may see it (else 404, not 403: the ids of other
    owners' collections are not disclosed)."""
    for fixed in (INTEL, INDICATORS):
        if cid == fixed.id:
            return fixed
    for owner in visible_owners(user):
        candidate = owner_collection(owner)
        if candidate.id == cid:
            return candidate
    raise not_found(f"No collection {cid!r}.")

"""How knowledge-graph rows are scoped to a user (see cti.security.visibility).

An object written or imported by an owner is that owner's; an object without an owner (one a
rule inferred, or shared reference data) is visible to everyone. A relationship or sighting is
scoped by its own node."""

from cti.intel.models import Relationship, Sighting, StixObject
from cti.security import visibility


def register_rules() -> None:
    visibility.register(StixObject, "owner", ownerless_public=True)
    visibility.register(Relationship, "node__owner", ownerless_public=True)
    visibility.register(Sighting, "node__owner", ownerless_public=True)

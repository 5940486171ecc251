"""The knowledge graph, stored so that rules can query it as sets.

Every STIX thing is a `StixObject` row (a node): domain objects, observables, markings, and also
relationships and sightings, so that a relationship can point at a relationship. Relationships
and sightings add a row in their own edge table keyed by the node, indexed on (type, source) and
(type, target): a rule becomes a join, a chain a recursive query. Container membership
(report/observed-data/grouping object_refs and case contents) is the `ObjectRef` edge table.

A fact can be asserted (imported or written by a user), inferred (supported by at least one
rule explanation), or both; it is one row either way.
"""

from django.db import models

from cti.fastload import FastLoad


class StixObject(FastLoad, models.Model):
    stix_id = models.CharField(max_length=128, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    # identity_class of identities, kind of location (region, country, city...), else empty
    subtype = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=512, blank=True, default="")
    value = models.CharField(max_length=2048, blank=True, default="")
    properties = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    created = models.DateTimeField(null=True, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    marking_refs = models.JSONField(default=list, blank=True)
    asserted = models.BooleanField(default=True)
    inferred = models.BooleanField(default=False, db_index=True)
    owner = models.ForeignKey(
        "security.Owner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    date_added = models.DateTimeField(auto_now_add=True, db_index=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["type", "name"], name="stix_type_name"),
            models.Index(fields=["type", "value"], name="stix_type_value"),
            # TAXII pages on (date added, id)
            models.Index(fields=["last_updated", "id"], name="stix_last_updated"),
        ]

    def __str__(self) -> str:
        return self.name or self.value or self.stix_id

    @property
    def is_inferred(self) -> bool:
        return self.inferred and not self.asserted


class Relationship(FastLoad, models.Model):
    node = models.OneToOneField(
        StixObject, primary_key=True, on_delete=models.CASCADE, related_name="relationship"
    )
    relationship_type = models.CharField(max_length=64)
    source = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="edges_out")
    target = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="edges_in")
    start_time = models.DateTimeField(null=True, blank=True)
    stop_time = models.DateTimeField(null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    asserted = models.BooleanField(default=True)
    inferred = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["relationship_type", "source"], name="rel_type_source"),
            models.Index(fields=["relationship_type", "target"], name="rel_type_target"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -{self.relationship_type}-> {self.target_id}"


class Sighting(FastLoad, models.Model):
    """One row per (sighting_of, where_sighted) pair, as OpenCTI stores them."""

    node = models.OneToOneField(
        StixObject, primary_key=True, on_delete=models.CASCADE, related_name="sighting"
    )
    sighting_of = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="sightings")
    where_sighted = models.ForeignKey(
        StixObject, null=True, blank=True, on_delete=models.CASCADE, related_name="sighted_here"
    )
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    false_positive = models.BooleanField(default=False)
    observed_data_refs = models.JSONField(default=list, blank=True)
    asserted = models.BooleanField(default=True)
    inferred = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["sighting_of", "where_sighted"], name="sighting_pair"),
            models.Index(fields=["where_sighted"], name="sighting_where"),
        ]

    def __str__(self) -> str:
        return f"{self.sighting_of_id} sighted at {self.where_sighted_id}"


class SightingPart(models.Model):
    """What one sighting id merged into a row brought (count and dates); the row's count is
    the sum of its parts and its dates their span. A row holds parts only once a second id
    merged into it; until then its own id's part is the row itself."""

    sighting = models.ForeignKey(Sighting, on_delete=models.CASCADE, related_name="parts")
    stix_id = models.CharField(max_length=128, unique=True)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.stix_id} x{self.count} in {self.sighting_id}"


class StixAlias(FastLoad, models.Model):
    """Another id that names a node: an observable posted with a random id (re-keyed to its
    deterministic id) or a sighting merged into an existing one."""

    stix_id = models.CharField(max_length=128, unique=True)
    node = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="aliases")

    def __str__(self) -> str:
        return self.stix_id


class ObjectRef(FastLoad, models.Model):
    """A container (report, observed-data, grouping, note, opinion, case) holds an object."""

    container = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="refs_out")
    member = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="refs_in")
    asserted = models.BooleanField(default=True)
    inferred = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["container", "member"], name="object_ref_unique")
        ]
        indexes = [models.Index(fields=["member"], name="object_ref_member")]

    def __str__(self) -> str:
        return f"{self.container_id} contains {self.member_id}"


class Explanation(models.Model):
    """Why an inferred fact holds: the rule and the ids of the facts it was derived from.

    Written by the rules engine; read by the intel API (`x_cti_inferences`)."""

    rule = models.CharField(max_length=64)
    node = models.ForeignKey(
        StixObject, null=True, blank=True, on_delete=models.CASCADE, related_name="explanations"
    )
    object_ref = models.ForeignKey(
        ObjectRef, null=True, blank=True, on_delete=models.CASCADE, related_name="explanations"
    )
    sources = models.JSONField(default=list)
    digest = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "node", "digest"],
                condition=models.Q(node__isnull=False),
                name="explanation_unique_node",
            ),
            models.UniqueConstraint(
                fields=["rule", "object_ref", "digest"],
                condition=models.Q(object_ref__isnull=False),
                name="explanation_unique_ref",
            ),
        ]
        indexes = [models.Index(fields=["rule"], name="explanation_rule")]

    def __str__(self) -> str:
        return f"{self.rule}: {self.sources}"


class ExplanationSource(models.Model):
    """One fact an explanation depends on (a node: object, relationship or sighting, or a
    container reference), indexed so that deleting a fact finds what it supported."""

    explanation = models.ForeignKey(
        Explanation, on_delete=models.CASCADE, related_name="source_rows"
    )
    # No database constraint: when a source fact is deleted the row stays behind, so that the
    # rules engine can still find (and retract) what the fact supported.
    node = models.ForeignKey(
        StixObject,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    object_ref = models.ForeignKey(
        ObjectRef,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        indexes = [
            models.Index(fields=["node"], name="explanation_source_node"),
            models.Index(fields=["object_ref"], name="explanation_source_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.explanation_id} <- {self.node_id or self.object_ref_id}"

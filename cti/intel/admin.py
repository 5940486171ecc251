"""Django admin for the knowledge graph.

The graph is big (ATT&CK alone is 25k nodes and 20k relationships): every foreign key is a raw id
field, lists never count the whole table, and an object's page lists at most EDGE_LIMIT edges
each way, with links to the edge and to the node at its other end."""

from django.contrib import admin
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixAlias, StixObject
from cti.security.admin_scoping import VisibleRowsAdmin

EDGE_LIMIT = 100


def _change_url(model_name: str, pk: int) -> str:
    return reverse(f"admin:intel_{model_name}_change", args=[pk])


def node_link(node: StixObject | None) -> str:
    if node is None:
        return "-"
    label = f"{node.type}: {node.name or node.value or node.stix_id}"
    return format_html('<a href="{}">{}</a>', _change_url("stixobject", node.pk), label)


def _table(headers: tuple[str, ...], rows: list[tuple], total: int) -> str:
    if not total:
        return "-"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    more = format_html("<p>{} of {} shown</p>", len(rows), total) if total > len(rows) else ""
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, more
    )


def _relationship_rows(qs: QuerySet, other: str) -> tuple[list[tuple], int]:
    total = qs.count()
    rows = []
    for rel in qs.select_related("node", other).order_by("relationship_type", "pk")[:EDGE_LIMIT]:
        edge = format_html(
            '<a href="{}">{}</a>', _change_url("relationship", rel.pk), rel.relationship_type
        )
        inferred = "inferred" if rel.inferred and not rel.asserted else ""
        rows.append((edge, node_link(getattr(rel, other)), rel.confidence or "", inferred))
    return rows, total


def _rule_label(rule_id: str) -> str:
    from rules.definitions import RULES_BY_ID  # the rules app builds on this one

    rule = RULES_BY_ID.get(rule_id)
    return f"{rule_id} ({rule.name})" if rule else rule_id


def inferred_by(node: StixObject) -> str:
    """The rules that support an inferred fact, each with the facts it was derived from."""
    explanations = list(
        node.explanations.prefetch_related("source_rows__node").order_by("rule", "pk")
    )
    rows = [
        (
            _rule_label(e.rule),
            format_html_join(
                ", ", "{}", ((node_link(s.node),) for s in e.source_rows.all() if s.node)
            )
            or ", ".join(map(str, e.sources)),
        )
        for e in explanations[:EDGE_LIMIT]
    ]
    return _table(("rule", "derived from"), rows, len(explanations))


class StixAliasInline(admin.TabularInline):
    model = StixAlias
    extra = 0
    fields = ("stix_id",)


@admin.register(StixObject)
class StixObjectAdmin(VisibleRowsAdmin):
    list_display = (
        "stix_id",
        "type",
        "name",
        "value",
        "confidence",
        "asserted",
        "inferred",
        "last_updated",
    )
    list_filter = ("type", "inferred", "asserted", "revoked")
    search_fields = ("=stix_id", "name", "value")
    raw_id_fields = ("created_by", "owner")
    readonly_fields = (
        "date_added",
        "last_updated",
        "relationships_out",
        "relationships_in",
        "sightings",
        "containers",
        "members",
        "inferred_by",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "stix_id",
                    "type",
                    "subtype",
                    "name",
                    "value",
                    "confidence",
                    "revoked",
                    "created",
                    "modified",
                    "created_by",
                    "marking_refs",
                    "owner",
                    "asserted",
                    "inferred",
                    "inferred_by",
                    "date_added",
                    "last_updated",
                )
            },
        ),
        ("STIX", {"fields": ("properties",)}),
        (
            "Graph",
            {
                "fields": (
                    "relationships_out",
                    "relationships_in",
                    "sightings",
                    "containers",
                    "members",
                )
            },
        ),
    )
    inlines = (StixAliasInline,)
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description="Inferred by")
    def inferred_by(self, obj: StixObject) -> str:
        return inferred_by(obj)

    @admin.display(description="Relationships out")
    def relationships_out(self, obj: StixObject) -> str:
        rows, total = _relationship_rows(obj.edges_out.all(), "target")
        return _table(("relationship", "target", "confidence", ""), rows, total)

    @admin.display(description="Relationships in")
    def relationships_in(self, obj: StixObject) -> str:
        rows, total = _relationship_rows(obj.edges_in.all(), "source")
        return _table(("relationship", "source", "confidence", ""), rows, total)

    @admin.display(description="Sightings")
    def sightings(self, obj: StixObject) -> str:
        qs = Sighting.objects.filter(sighting_of=obj) | Sighting.objects.filter(where_sighted=obj)
        total = qs.count()
        rows = [
            (
                format_html('<a href="{}">{}</a>', _change_url("sighting", s.pk), s.count),
                node_link(s.sighting_of),
                node_link(s.where_sighted),
                s.first_seen or "",
                s.last_seen or "",
                "false positive" if s.false_positive else "",
            )
            for s in qs.select_related("sighting_of", "where_sighted").order_by("-last_seen")[
                :EDGE_LIMIT
            ]
        ]
        return _table(("count", "of", "where", "first seen", "last seen", ""), rows, total)

    @admin.display(description="In containers")
    def containers(self, obj: StixObject) -> str:
        qs = obj.refs_in.select_related("container").order_by("pk")
        rows = [(node_link(r.container),) for r in qs[:EDGE_LIMIT]]
        return _table(("container",), rows, qs.count())

    @admin.display(description="Contains")
    def members(self, obj: StixObject) -> str:
        qs = obj.refs_out.select_related("member").order_by("pk")
        rows = [
            (node_link(r.member), "inferred" if r.inferred and not r.asserted else "")
            for r in qs[:EDGE_LIMIT]
        ]
        return _table(("member", ""), rows, qs.count())


@admin.register(Relationship)
class RelationshipAdmin(VisibleRowsAdmin):
    list_display = (
        "node",
        "relationship_type",
        "source",
        "target",
        "start_time",
        "stop_time",
        "confidence",
        "asserted",
        "inferred",
    )
    list_select_related = ("node", "source", "target")
    list_filter = ("relationship_type", "inferred", "asserted")
    search_fields = (
        "=node__stix_id",
        "=source__stix_id",
        "=target__stix_id",
        "source__name",
        "target__name",
    )
    raw_id_fields = ("node", "source", "target")
    readonly_fields = ("source_link", "target_link", "inferred_by")
    show_full_result_count = False

    @admin.display(description="Inferred by")
    def inferred_by(self, obj: Relationship) -> str:
        return inferred_by(obj.node)

    @admin.display(description="Source node")
    def source_link(self, obj: Relationship) -> str:
        return node_link(obj.source)

    @admin.display(description="Target node")
    def target_link(self, obj: Relationship) -> str:
        return node_link(obj.target)


@admin.register(Sighting)
class SightingAdmin(VisibleRowsAdmin):
    list_display = (
        "node",
        "sighting_of",
        "where_sighted",
        "count",
        "first_seen",
        "last_seen",
        "false_positive",
        "inferred",
    )
    list_select_related = ("node", "sighting_of", "where_sighted")
    list_filter = ("false_positive", "inferred", "asserted")
    search_fields = (
        "=node__stix_id",
        "=sighting_of__stix_id",
        "sighting_of__name",
        "where_sighted__name",
    )
    raw_id_fields = ("node", "sighting_of", "where_sighted")
    readonly_fields = ("inferred_by",)
    show_full_result_count = False

    @admin.display(description="Inferred by")
    def inferred_by(self, obj: Sighting) -> str:
        return inferred_by(obj.node)


@admin.register(ObjectRef)
class ObjectRefAdmin(admin.ModelAdmin):
    list_display = ("container", "member", "asserted", "inferred")
    list_select_related = ("container", "member")
    list_filter = ("asserted", "inferred")
    search_fields = ("=container__stix_id", "=member__stix_id", "container__name", "member__name")
    raw_id_fields = ("container", "member")
    show_full_result_count = False


@admin.register(StixAlias)
class StixAliasAdmin(admin.ModelAdmin):
    list_display = ("stix_id", "node")
    list_select_related = ("node",)
    search_fields = ("=stix_id", "=node__stix_id")
    raw_id_fields = ("node",)
    show_full_result_count = False


@admin.register(Explanation)
class ExplanationAdmin(admin.ModelAdmin):
    list_display = ("rule", "node", "object_ref", "created")
    list_select_related = ("node",)
    list_filter = ("rule",)
    search_fields = ("=node__stix_id",)
    raw_id_fields = ("node", "object_ref")
    show_full_result_count = False

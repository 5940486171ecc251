"""Keyword and schema declarations, OPTIONS /tql descriptions and the registry."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db.models import Q

from cti.tql import (
    Keyword,
    KeywordType,
    Subquery,
    TqlRegistry,
    TqlSchema,
    compile_tql,
    registry,
)
from cti.tql.keywords import label_for
from tests.tql.schemas import USERS


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("caseOpenTime", "Case Open Time"),
        ("caseId", "Case ID"),
        ("id", "ID"),
        ("xid", "XID"),
        ("idAsString", "ID As String"),
        ("hasWorkflowTemplate", "Has Workflow Template"),
        ("name", "Name"),
        ("workflowPhase", "Workflow Phase"),
    ],
)
def test_label_derived_from_name(name: str, label: str) -> None:
    assert label_for(name) == label
    assert Keyword(name, KeywordType.STRING, "x").label == label


def test_keyword_type_values() -> None:
    assert [t.value for t in KeywordType] == [
        "String",
        "StringLower",
        "Integer",
        "Long",
        "Double",
        "Boolean",
        "Date",
        "DateTime",
        "Enum",
        "Assignee",
        "User",
    ]
    assert isinstance(KeywordType.STRING, str) and KeywordType.STRING == "String"


def test_describe_plain_keyword() -> None:
    keyword = Keyword("caseId", KeywordType.INTEGER, "case_id", "The ID of the case")
    assert keyword.describe() == {
        "keyword": "caseId",
        "name": "Case ID",
        "type": "Integer",
        "description": "The ID of the case",
        "groupable": False,
        "targetable": True,
    }
    assert (
        Keyword("n", KeywordType.STRING, "n", label="Nice Name").describe()["name"] == "Nice Name"
    )


def test_describe_subquery_keyword_is_integer() -> None:
    keyword = Keyword("hasTask", KeywordType.STRING, subquery=Subquery("tasks", "case_id"))
    described = keyword.describe()
    assert described["type"] == "Integer"
    assert described["description"] == "A nested query for association to other tasks"


def test_keyword_validation() -> None:
    with pytest.raises(ValueError, match="needs a lookup"):
        Keyword("x", KeywordType.STRING)
    with pytest.raises(ValueError, match="not an identifier"):
        Keyword("bad name", KeywordType.STRING, "x")
    assert Keyword("x", KeywordType.STRING, resolver=lambda op, v, c: Q()).lookup is None
    assert Keyword("x", "Integer", "x").type is KeywordType.INTEGER  # type: ignore[arg-type]
    assert Keyword("x", KeywordType.ENUM, "x", choices=["A", "B"]).choices == ("A", "B")  # type: ignore[arg-type]


def test_schema_keyword_lookup_is_case_insensitive() -> None:
    assert USERS.keyword("firstName") is USERS.keyword("FIRSTNAME") is USERS.keyword("firstname")
    assert USERS.keyword("nope") is None


def test_schema_rejects_duplicate_keywords() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        TqlSchema(
            "dup",
            Group,
            [Keyword("name", KeywordType.STRING, "name"), Keyword("NAME", KeywordType.STRING, "x")],
        )


def test_schema_describe_sorted() -> None:
    described = USERS.describe()
    names = [d["keyword"] for d in described]
    assert names == sorted(names, key=str.casefold)
    assert len(described) == len(USERS.keywords)


@pytest.mark.django_db
def test_base_queryset() -> None:
    Group.objects.create(name="visible")
    Group.objects.create(name="hidden")
    plain = TqlSchema("g", Group, [])
    assert plain.base_queryset().count() == 2
    filtered = TqlSchema("g", Group, [], queryset=lambda: Group.objects.exclude(name="hidden"))
    assert list(filtered.base_queryset().values_list("name", flat=True)) == ["visible"]


def test_registry() -> None:
    reg = TqlRegistry()
    schema = TqlSchema("things", Group, [])
    assert reg.register(schema) is schema
    assert reg.get("things") is schema
    replacement = TqlSchema("things", Group, [Keyword("id", KeywordType.INTEGER, "id")])
    reg.register(replacement)
    assert reg.get("things") is replacement
    assert "things" in reg and reg.names() == ["things"]
    with pytest.raises(KeyError):
        reg.get("missing")
    reg.unregister("things")
    assert "things" not in reg


def test_global_registry_holds_test_schemas() -> None:
    assert registry.get("tql_users") is USERS


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_tql_matches_everything(text: str | None) -> None:
    assert compile_tql(text, USERS) == Q()
    assert compile_tql(text, "tql_users") == Q()

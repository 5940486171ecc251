"""The shortcuts the read path takes for speed (issue #9) give what the long way gives:
FastLoad.from_db builds the instance Model.__init__ builds, the compiled row functions render
what walking the field specs renders, and dates format as strftime does."""

import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import combinations

import pytest
from django.db.models import Model
from django.db.models.signals import post_init

from cases.models import Case
from cases.resources import CASES
from cti.api import rendering
from cti.api.resources import Resource, format_datetime, get_resource
from cti.security.models import User

DATES = [
    datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
    datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(999, 12, 31, 1, 2, 3, tzinfo=UTC),  # strftime does not pad %Y below 1000
    datetime(5, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59),
    datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


@pytest.mark.parametrize("value", DATES, ids=str)
def test_format_datetime_is_strftime(value):
    assert format_datetime(value) == value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _django_from_db(model, db, names, values):
    return Model.from_db.__func__(model, db, names, values)


def _state(obj) -> dict:
    fields = {k: v for k, v in vars(obj).items() if k != "_state"}
    return {"fields": fields, "adding": obj._state.adding, "db": obj._state.db}


@pytest.mark.django_db
@pytest.mark.parametrize("only", [None, ("username", "first_name")])
def test_fastload_builds_what_init_builds(only):
    User.objects.create(username="fast", first_name="F", pseudonym="p", password="stored")
    qs = User.objects.filter(username="fast")
    if only:
        qs = qs.only(*only)
    fast = qs.get()
    names = [f.attname for f in User._meta.concrete_fields if f.attname in vars(fast)]
    slow = _django_from_db(User, fast._state.db, names, [getattr(fast, n) for n in names])
    assert _state(fast) == _state(slow)
    assert fast.get_deferred_fields() == slow.get_deferred_fields()
    if only:
        assert "password" not in vars(fast)
        assert fast.password == "stored"  # a deferred column still loads on access


@pytest.mark.django_db
def test_fastload_leaves_signals_to_django():
    User.objects.create(username="signalled")
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=User)
    try:
        user = User.objects.get(username="signalled")
    finally:
        post_init.disconnect(receiver, sender=User)
    assert seen == [user]


def _reference(obj, resource: Resource, expand: frozenset) -> dict:
    """The spec-walking renderer the compiled functions replace."""
    if resource.renderer is not None:
        return resource.renderer(obj, expand)
    out = {}
    for spec in resource.fields:
        if spec.write_only or (spec.expand and spec.expand not in expand):
            continue
        if spec.getter:
            value = spec.getter(obj)
        else:
            value = obj
            for part in spec.readable_attr.split("."):
                value = None if value is None else getattr(value, part)
        if value is None:
            continue
        if spec.resource:
            child = get_resource(spec.resource)
            if spec.many:
                items = value.all() if hasattr(value, "all") else value
                value = {"data": [_reference(i, child, frozenset()) for i in items]}
            else:
                value = _reference(value, child, frozenset())
        elif isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif spec.type in rendering._formatters:
            value = rendering._formatters[spec.type](value)
        out[spec.name] = value
    return out


@pytest.mark.django_db
def test_compiled_rows_render_what_the_specs_say(api, make_case):
    case = make_case(
        name="Rendered",
        tasks={"data": [{"name": "T1", "workflowPhase": 1}, {"name": "T2"}]},
        artifacts={"data": [{"summary": "evil.example.com", "type": "Host"}]},
        notes={"data": [{"text": "a note"}]},
        tags={"data": [{"name": "t1"}, {"name": "t2"}]},
    )
    expansions = [e for e in CASES.expansions if not e.attach]
    expand = frozenset(e.name for e in expansions)
    # with the expansions' prefetches (lists in prefetched_attr) and without (managers: the
    # reference reads them, so prefetch first to compare the same rows)
    loaded = CASES.queryset_for(expansions).get(pk=case["id"])
    plain = Case.objects.prefetch_related("tasks", "artifacts", "notes", "tags").get(pk=case["id"])
    for wanted in (expand, frozenset()):  # as JSON text: the key order counts too
        compiled = json.dumps(rendering.render(loaded, CASES, wanted))
        assert compiled == json.dumps(_reference(plain, CASES, wanted))
    rendered = rendering.render(loaded, CASES, expand)
    assert [t["name"] for t in rendered["tasks"]["data"]] == ["T2", "T1"]  # phase 0, then 1
    assert {t["name"] for t in rendered["tags"]["data"]} == {"t1", "t2"}


def test_compiled_functions_are_bounded():
    names = [e.name for e in CASES.expansions]
    sets = [frozenset(c) for c in combinations(names, 3)][: rendering.COMPILED_MAX + 20]
    assert len(sets) > rendering.COMPILED_MAX
    for expand in sets:
        rendering.compiled(CASES, expand)
    assert len(rendering._compiled) <= rendering.COMPILED_MAX

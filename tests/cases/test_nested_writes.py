"""Children written inside a case body, `mode` on PUT, tags and attribute limits (§5.1, §6)."""

import pytest

from cases.models import Artifact, Case, CaseAttribute, Note, Tag, Task
from tests.cases.helpers import error_of

FULL_CASE = {
    "name": "Case A",
    "severity": "Low",
    "status": "Open",
    "description": "d",
    "xid": "x-1",
    "resolution": "Not Specified",
    "tasks": {
        "data": [{"name": "T1", "description": "desc", "workflowPhase": 1, "workflowStep": 1}]
    },
    "artifacts": {"data": [{"summary": "bad.example.com", "type": "Host"}], "mode": "append"},
    "notes": {"data": [{"text": "hello"}]},
    "tags": {"data": [{"name": "Phishing"}], "mode": "append"},
    "attributes": {
        "data": [{"type": "Description", "value": "v", "source": "s"}],
        "mode": "append",
    },
}
ALL = "?fields=tasks&fields=artifacts&fields=notes&fields=tags&fields=attributes"


def _post_case(api, body, query=""):
    return api.post_json(f"/api/v3/cases{query}", body)


def _put_case(api, case_id, body, query=""):
    return api.put_json(f"/api/v3/cases/{case_id}{query}", body)


def _nothing_left():
    return (
        Case.objects.count(),
        Task.objects.count(),
        Artifact.objects.count(),
        Note.objects.count(),
        CaseAttribute.objects.count(),
    ) == (0, 0, 0, 0, 0)


def _bad(child_key, bad_item):
    body = {**FULL_CASE, child_key: {"data": [bad_item]}}
    return body


# ---- one POST creates the case with every child ------------------------------------------


def test_case_post_creates_all_inline_children(api):
    response = _post_case(api, FULL_CASE, ALL)

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert [t["name"] for t in data["tasks"]["data"]] == ["T1"]
    assert [(a["type"], a["summary"]) for a in data["artifacts"]["data"]] == [
        ("Host", "bad.example.com")
    ]
    assert [n["text"] for n in data["notes"]["data"]] == ["hello"]
    assert [t["name"] for t in data["tags"]["data"]] == ["Phishing"]
    assert [(a["type"], a["value"], a["source"]) for a in data["attributes"]["data"]] == [
        ("Description", "v", "s")
    ]


def test_inline_children_belong_to_the_new_case(api):
    case_id = _post_case(api, FULL_CASE).json()["data"]["id"]

    assert {t.case_id for t in Task.objects.all()} == {case_id}
    assert {a.case_id for a in Artifact.objects.all()} == {case_id}
    assert {n.case_id for n in Note.objects.all()} == {case_id}


def test_task_nested_artifacts_and_notes_belong_to_the_task(api):
    body = {
        **FULL_CASE,
        "tasks": {
            "data": [
                {
                    "name": "T1",
                    "artifacts": {"data": [{"summary": "10.0.0.1", "type": "IP Address"}]},
                    "notes": {"data": [{"text": "on the task"}]},
                }
            ]
        },
    }

    case_id = _post_case(api, body).json()["data"]["id"]

    task = Task.objects.get(case_id=case_id)
    assert list(task.artifacts.values_list("summary", flat=True)) == ["10.0.0.1"]
    assert list(task.notes.values_list("text", flat=True)) == ["on the task"]


def test_artifact_nested_notes_belong_to_the_artifact(api):
    body = {
        **FULL_CASE,
        "artifacts": {
            "data": [
                {"summary": "a.example.com", "type": "Host", "notes": {"data": [{"text": "n"}]}}
            ]
        },
    }

    _post_case(api, body)

    assert Note.objects.get(text="n").artifact.summary == "a.example.com"


@pytest.mark.parametrize("mode", ["replace", "delete", "append"])
def test_mode_is_accepted_and_ignored_on_post(api, mode):
    body = {
        **FULL_CASE,
        "tags": {"data": [{"name": "Phishing"}], "mode": mode},
        "artifacts": {"data": [{"summary": "bad.example.com", "type": "Host"}], "mode": mode},
        "attributes": {"data": [{"type": "Description", "value": "v"}], "mode": mode},
    }

    response = _post_case(api, body, ALL)

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert len(data["tags"]["data"]) == 1
    assert len(data["artifacts"]["data"]) == 1
    assert len(data["attributes"]["data"]) == 1


def test_bare_list_children_are_accepted(api):
    response = _post_case(api, {**FULL_CASE, "notes": [{"text": "bare"}]}, "?fields=notes")

    assert [n["text"] for n in response.json()["data"]["notes"]["data"]] == ["bare"]


# ---- a bad child rolls everything back ---------------------------------------------------


def test_invalid_host_artifact_names_the_child_and_leaves_nothing(api):
    body = _bad("artifacts", {"summary": "not a host!", "type": "Host"})

    message = error_of(_post_case(api, body))["message"]

    assert "artifacts[0]" in message
    assert "not a host!" in message
    assert _nothing_left()


def test_unknown_artifact_type_names_the_child_and_leaves_nothing(api):
    body = _bad("artifacts", {"summary": "x", "type": "Banana"})

    message = error_of(_post_case(api, body))["message"]

    assert "artifacts[0]" in message
    assert "Banana" in message
    assert _nothing_left()


def test_unknown_attribute_type_names_the_child_and_leaves_nothing(api):
    body = _bad("attributes", {"type": "No Such Type", "value": "v"})

    message = error_of(_post_case(api, body))["message"]

    assert "attributes[0]" in message
    assert "No Such Type" in message
    assert _nothing_left()


def test_second_bad_artifact_is_named_by_its_position(api):
    body = {
        **FULL_CASE,
        "artifacts": {
            "data": [
                {"summary": "good.example.com", "type": "Host"},
                {"summary": "nope", "type": "Email Address"},
            ]
        },
    }

    assert "artifacts[1]" in error_of(_post_case(api, body))["message"]
    assert _nothing_left()


def test_task_missing_its_name_names_the_child_and_leaves_nothing(api):
    body = _bad("tasks", {"description": "no name"})

    message = error_of(_post_case(api, body))["message"]

    assert "tasks[0]" in message
    assert _nothing_left()


def test_bad_artifact_nested_in_a_task_names_the_path(api):
    body = _bad(
        "tasks", {"name": "T1", "artifacts": {"data": [{"summary": "bad host", "type": "Host"}]}}
    )

    message = error_of(_post_case(api, body))["message"]

    assert "tasks[0].artifacts[0]" in message
    assert _nothing_left()


def test_empty_note_names_the_child_and_leaves_nothing(api):
    message = error_of(_post_case(api, _bad("notes", {"text": ""})))["message"]

    assert "notes[0]" in message
    assert _nothing_left()


def test_failed_nested_post_creates_no_tags(api):
    body = {**FULL_CASE, "tags": {"data": [{"name": "Brand new"}]}}
    body["artifacts"] = {"data": [{"summary": "bad host", "type": "Host"}]}

    error_of(_post_case(api, body))

    assert not Tag.objects.filter(name="Brand new").exists()


def test_bad_child_on_put_keeps_the_case_as_it_was(api, make_case):
    case = make_case()

    response = _put_case(
        api,
        case["id"],
        {
            "name": "Renamed",
            "tasks": {"data": [{"name": "New task"}]},
            "artifacts": {"data": [{"summary": "bad host", "type": "Host"}]},
        },
    )

    assert "artifacts[0]" in error_of(response)["message"]
    assert Case.objects.get(pk=case["id"]).name == "Case"
    assert Task.objects.count() == 0


def test_bad_child_after_existing_references_on_put_is_named_by_its_position(api, make_case):
    case = make_case(artifacts={"data": [{"summary": "a.example.com", "type": "Host"}]})
    existing = Artifact.objects.get().pk

    response = _put_case(
        api,
        case["id"],
        {
            "artifacts": {
                "data": [{"id": existing}, {"summary": "bad host", "type": "Host"}],
                "mode": "append",
            }
        },
    )

    assert "artifacts[1]" in error_of(response)["message"]


# ---- mode on PUT -------------------------------------------------------------------------


@pytest.fixture
def tagged_case(make_case):
    return make_case(tags={"data": [{"name": "Old"}, {"name": "Keep"}]})


def _tags(api, case_id):
    data = api.get(f"/api/v3/cases/{case_id}", {"fields": "tags"}).json()["data"]
    return sorted(t["name"] for t in data["tags"]["data"])


def test_tags_append_is_the_default_on_put(api, tagged_case):
    _put_case(api, tagged_case["id"], {"tags": {"data": [{"name": "New"}]}})

    assert _tags(api, tagged_case["id"]) == ["Keep", "New", "Old"]


def test_tags_append_with_resent_existing_ids_as_tcex_does(api, tagged_case):
    old = Tag.objects.get(name="Old")

    _put_case(
        api,
        tagged_case["id"],
        {"tags": {"data": [{"id": old.pk, "name": "Old"}, {"name": "New"}], "mode": "append"}},
    )

    assert _tags(api, tagged_case["id"]) == ["Keep", "New", "Old"]


def test_tags_replace_swaps_the_whole_set(api, tagged_case):
    _put_case(api, tagged_case["id"], {"tags": {"data": [{"name": "Only"}], "mode": "replace"}})

    assert _tags(api, tagged_case["id"]) == ["Only"]


def test_tags_delete_by_name(api, tagged_case):
    _put_case(api, tagged_case["id"], {"tags": {"data": [{"name": "Old"}], "mode": "delete"}})

    assert _tags(api, tagged_case["id"]) == ["Keep"]


def test_tags_delete_by_id(api, tagged_case):
    old = Tag.objects.get(name="Old")

    _put_case(api, tagged_case["id"], {"tags": {"data": [{"id": old.pk}], "mode": "delete"}})

    assert _tags(api, tagged_case["id"]) == ["Keep"]


def test_tags_delete_does_not_remove_the_tag_from_other_cases(api, tagged_case, make_case):
    other = make_case(tags={"data": [{"name": "Old"}]})

    _put_case(api, tagged_case["id"], {"tags": {"data": [{"name": "Old"}], "mode": "delete"}})

    assert _tags(api, other["id"]) == ["Old"]


def test_tags_mode_is_case_insensitive(api, tagged_case):
    _put_case(api, tagged_case["id"], {"tags": {"data": [{"name": "Old"}], "mode": "DELETE"}})

    assert _tags(api, tagged_case["id"]) == ["Keep"]


def test_existing_tag_name_is_reused_not_duplicated(api, tagged_case, make_case):
    make_case(tags={"data": [{"name": "Old"}]})

    assert Tag.objects.filter(name="Old").count() == 1


def test_new_tag_name_is_created(api, tagged_case):
    response = api.get("/api/v3/tags", {"tql": 'name = "Old"'})

    assert [t["name"] for t in response.json()["data"]] == ["Old"]


def test_unknown_tag_id_is_rejected(api, make_case):
    case = make_case()

    response = _put_case(api, case["id"], {"tags": {"data": [{"id": 987654}]}})

    error_of(response)


def test_invalid_mode_is_rejected(api, tagged_case):
    response = _put_case(api, tagged_case["id"], {"tags": {"data": [], "mode": "merge"}})

    assert "mode" in error_of(response)["message"]


def _attributes(api, case_id):
    data = api.get(f"/api/v3/cases/{case_id}", {"fields": "attributes"}).json()["data"]
    return sorted((a["type"], a["value"]) for a in data["attributes"]["data"])


@pytest.fixture
def attributed_case(make_case):
    return make_case(
        attributes={
            "data": [{"type": "Description", "value": "one"}, {"type": "Source", "value": "two"}]
        }
    )


def test_attributes_append_on_put(api, attributed_case):
    _put_case(
        api, attributed_case["id"], {"attributes": {"data": [{"type": "Source", "value": "3"}]}}
    )

    assert _attributes(api, attributed_case["id"]) == [
        ("Description", "one"),
        ("Source", "3"),
        ("Source", "two"),
    ]


def test_attributes_replace_on_put(api, attributed_case):
    _put_case(
        api,
        attributed_case["id"],
        {"attributes": {"data": [{"type": "Source", "value": "new"}], "mode": "replace"}},
    )

    assert _attributes(api, attributed_case["id"]) == [("Source", "new")]


def test_attributes_replace_keeps_referenced_ids(api, attributed_case):
    keep = CaseAttribute.objects.get(value="one").pk

    _put_case(
        api,
        attributed_case["id"],
        {"attributes": {"data": [{"id": keep}], "mode": "replace"}},
    )

    assert _attributes(api, attributed_case["id"]) == [("Description", "one")]


def test_attributes_delete_by_id_on_put(api, attributed_case):
    gone = CaseAttribute.objects.get(value="two").pk

    _put_case(
        api, attributed_case["id"], {"attributes": {"data": [{"id": gone}], "mode": "delete"}}
    )

    assert _attributes(api, attributed_case["id"]) == [("Description", "one")]


def test_attribute_delete_does_not_touch_another_cases_attribute(api, attributed_case, make_case):
    other = make_case(attributes={"data": [{"type": "Source", "value": "theirs"}]})
    theirs = CaseAttribute.objects.get(value="theirs").pk

    _put_case(
        api, attributed_case["id"], {"attributes": {"data": [{"id": theirs}], "mode": "delete"}}
    )

    assert _attributes(api, other["id"]) == [("Source", "theirs")]


def test_attributes_in_delete_mode_create_nothing(api, attributed_case):
    _put_case(
        api,
        attributed_case["id"],
        {"attributes": {"data": [{"type": "Source", "value": "x"}], "mode": "delete"}},
    )

    assert ("Source", "x") not in _attributes(api, attributed_case["id"])


def _case_artifacts(api, case_id):
    data = api.get(f"/api/v3/cases/{case_id}", {"fields": "artifacts"}).json()["data"]
    return sorted(a["summary"] for a in data["artifacts"]["data"])


@pytest.fixture
def artifact_case(make_case):
    return make_case(
        artifacts={
            "data": [
                {"summary": "a.example.com", "type": "Host"},
                {"summary": "b.example.com", "type": "Host"},
            ]
        }
    )


def test_artifacts_append_on_put(api, artifact_case):
    _put_case(
        api,
        artifact_case["id"],
        {"artifacts": {"data": [{"summary": "c.example.com", "type": "Host"}]}},
    )

    assert _case_artifacts(api, artifact_case["id"]) == [
        "a.example.com",
        "b.example.com",
        "c.example.com",
    ]


def test_artifacts_resent_with_id_are_not_duplicated(api, artifact_case):
    ids = list(Artifact.objects.values_list("pk", flat=True))

    _put_case(api, artifact_case["id"], {"artifacts": {"data": [{"id": i} for i in ids]}})

    assert Artifact.objects.count() == 2


def test_artifacts_replace_on_put(api, artifact_case):
    keep = Artifact.objects.get(summary="a.example.com").pk

    _put_case(
        api,
        artifact_case["id"],
        {
            "artifacts": {
                "data": [{"id": keep}, {"summary": "c.example.com", "type": "Host"}],
                "mode": "replace",
            }
        },
    )

    assert _case_artifacts(api, artifact_case["id"]) == ["a.example.com", "c.example.com"]


def test_artifacts_delete_on_put(api, artifact_case):
    gone = Artifact.objects.get(summary="a.example.com").pk

    _put_case(api, artifact_case["id"], {"artifacts": {"data": [{"id": gone}], "mode": "delete"}})

    assert _case_artifacts(api, artifact_case["id"]) == ["b.example.com"]


def test_artifacts_in_delete_mode_create_nothing(api, artifact_case):
    _put_case(
        api,
        artifact_case["id"],
        {"artifacts": {"data": [{"summary": "c.example.com", "type": "Host"}], "mode": "delete"}},
    )

    assert _case_artifacts(api, artifact_case["id"]) == ["a.example.com", "b.example.com"]


def test_artifact_delete_does_not_touch_another_cases_artifact(api, artifact_case, make_case):
    other = make_case(artifacts={"data": [{"summary": "z.example.com", "type": "Host"}]})
    theirs = Artifact.objects.get(summary="z.example.com").pk

    _put_case(api, artifact_case["id"], {"artifacts": {"data": [{"id": theirs}], "mode": "delete"}})

    assert _case_artifacts(api, other["id"]) == ["z.example.com"]


def _associated(api, case_id):
    data = api.get(f"/api/v3/cases/{case_id}", {"fields": "associatedCases"}).json()["data"]
    return sorted(c["id"] for c in data["associatedCases"]["data"])


def test_associated_cases_append_replace_and_delete(api, make_case):
    case, b, c, d = (make_case(name=n) for n in "ABCD")

    _put_case(api, case["id"], {"associatedCases": {"data": [{"id": b["id"]}, {"id": c["id"]}]}})
    assert _associated(api, case["id"]) == [b["id"], c["id"]]

    _put_case(api, case["id"], {"associatedCases": {"data": [{"id": d["id"]}], "mode": "replace"}})
    assert _associated(api, case["id"]) == [d["id"]]

    _put_case(api, case["id"], {"associatedCases": {"data": [{"id": d["id"]}], "mode": "delete"}})
    assert _associated(api, case["id"]) == []


def test_case_association_is_visible_from_both_sides(api, make_case):
    a, b = make_case(name="A"), make_case(name="B")

    _put_case(api, a["id"], {"associatedCases": {"data": [{"id": b["id"]}]}})

    assert _associated(api, b["id"]) == [a["id"]]


def test_associating_an_unknown_case_is_rejected(api, make_case):
    case = make_case()

    error_of(_put_case(api, case["id"], {"associatedCases": {"data": [{"id": 424242}]}}))


# ---- tasks across cases and attribute limits ---------------------------------------------


def test_task_depending_on_a_task_of_another_case_is_rejected(api, make_case):
    first, second = make_case(name="A"), make_case(name="B")
    foreign = api.post_json("/api/v3/tasks", {"caseId": first["id"], "name": "T"}).json()["data"]

    response = api.post_json(
        "/api/v3/tasks", {"caseId": second["id"], "name": "U", "dependentOnId": foreign["id"]}
    )

    assert "dependentOnId" in error_of(response)["message"]
    assert Task.objects.filter(case_id=second["id"]).count() == 0


def test_task_depending_on_an_open_task_of_the_same_case_is_pending(api, make_case):
    case = make_case()
    first = api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "T"}).json()["data"]

    data = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "U", "dependentOnId": first["id"]}
    ).json()["data"]

    assert (data["status"], data["dependentOnId"]) == ("Pending", first["id"])


def test_task_put_to_depend_on_another_case_is_rejected(api, make_case):
    first, second = make_case(name="A"), make_case(name="B")
    foreign = api.post_json("/api/v3/tasks", {"caseId": first["id"], "name": "T"}).json()["data"]
    own = api.post_json("/api/v3/tasks", {"caseId": second["id"], "name": "U"}).json()["data"]

    response = api.put_json(f"/api/v3/tasks/{own['id']}", {"dependentOnId": foreign["id"]})

    error_of(response)


def test_task_dependency_cycle_is_rejected(api, make_case):
    case = make_case()
    a = api.post_json("/api/v3/tasks", {"caseId": case["id"], "name": "A"}).json()["data"]
    b = api.post_json(
        "/api/v3/tasks", {"caseId": case["id"], "name": "B", "dependentOnId": a["id"]}
    ).json()["data"]

    response = api.put_json(f"/api/v3/tasks/{a['id']}", {"dependentOnId": b["id"]})

    assert "cycle" in error_of(response)["message"]


def test_attribute_past_max_allowed_is_rejected(api, make_case):
    case = make_case(attributes={"data": [{"type": "External ID", "value": "INC-1"}]})

    response = api.post_json(
        "/api/v3/caseAttributes", {"caseId": case["id"], "type": "External ID", "value": "INC-2"}
    )

    assert "External ID" in error_of(response)["message"]
    assert CaseAttribute.objects.filter(case_id=case["id"]).count() == 1


def test_attribute_up_to_max_allowed_is_accepted(api, make_case):
    case = make_case()

    response = api.post_json(
        "/api/v3/caseAttributes", {"caseId": case["id"], "type": "External ID", "value": "INC-1"}
    )

    assert response.status_code == 201, response.json()


def test_two_inline_attributes_past_max_allowed_reject_the_whole_case(api):
    body = {
        **FULL_CASE,
        "attributes": {
            "data": [
                {"type": "External ID", "value": "INC-1"},
                {"type": "External ID", "value": "INC-2"},
            ]
        },
    }

    message = error_of(_post_case(api, body))["message"]

    assert "attributes[1]" in message
    assert _nothing_left()


def test_attribute_past_max_allowed_on_case_put_is_rejected(api, make_case):
    case = make_case(attributes={"data": [{"type": "External ID", "value": "INC-1"}]})

    response = _put_case(
        api, case["id"], {"attributes": {"data": [{"type": "External ID", "value": "INC-2"}]}}
    )

    error_of(response)


def test_replace_mode_frees_room_under_max_allowed(api, make_case):
    case = make_case(attributes={"data": [{"type": "External ID", "value": "INC-1"}]})

    response = _put_case(
        api,
        case["id"],
        {"attributes": {"data": [{"type": "External ID", "value": "INC-2"}], "mode": "replace"}},
    )

    assert response.status_code == 200, response.json()
    assert _attributes(api, case["id"]) == [("External ID", "INC-2")]


def test_unlimited_attribute_type_takes_many_values(api, make_case):
    items = [{"type": "Source", "value": str(n)} for n in range(5)]

    case = make_case(attributes={"data": items})

    assert len(_attributes(api, case["id"])) == 5


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        ("tags", "append"),
        ("tags", "replace"),
        ("tags", "delete"),
        ("attributes", "replace"),
        ("attributes", "delete"),
        ("artifacts", "replace"),
        ("artifacts", "delete"),
        ("associatedCases", "append"),
        ("associatedCases", "delete"),
    ],
)
def test_non_integer_child_id_is_a_bad_request_not_a_server_error(api, make_case, key, mode):
    case = make_case()

    response = _put_case(api, case["id"], {key: {"data": [{"id": "abc"}], "mode": mode}})

    assert error_of(response)["errCode"] == "0x1001"


def test_empty_tag_name_names_the_tag(api):
    body = {**FULL_CASE, "tags": {"data": [{"name": "ok"}, {"name": "  "}]}}

    assert "tags[1]" in error_of(_post_case(api, body))["message"]
    assert _nothing_left()


def test_missing_field_in_a_task_artifact_names_the_full_path(api):
    body = _bad("tasks", {"name": "T1", "artifacts": {"data": [{"type": "Host"}]}})

    message = error_of(_post_case(api, body))["message"]

    assert message.startswith("tasks[0].artifacts[0]")
    assert "summary" in message

"""tcex's view of the other endpoints: its filter classes against the server's
`OPTIONS /v3/x/tql`, its models against `OPTIONS /v3/x?show=readOnly`, and the lists of tags,
case attributes, artifact types, workflow templates and users."""

import pytest
from tcex.api.tc.v3.tql.tql_operator import TqlOperator
from tcex.api.tc.v3.v3 import V3
from tcex.util.util import Util

from cases.models import ArtifactType, CaseAttribute, Tag
from cti.security.services import IssuedCredential
from tests.live.conftest import AUTH_KINDS, make_session

pytestmark = [pytest.mark.live, pytest.mark.parametrize("auth", AUTH_KINDS)]

# v3 collection factory -> single-object factory
ENDPOINTS = {
    "artifacts": "artifact",
    "artifact_types": "artifact_type",
    "cases": "case",
    "case_attributes": "case_attribute",
    "notes": "note",
    "tags": "tag",
    "tasks": "task",
    "workflow_events": "workflow_event",
    "workflow_templates": "workflow_template",
    "users": "user",
}
NOT_KEYWORDS = {"implemented_keywords", "list_types", "tql", "util"}

# Keywords tcex has filter methods for that the clone deliberately leaves out (no groups,
# indicators, victims, analytics or typed attribute values; see the cases.tql docstring).
KEYWORDS_NOT_SERVED = {
    "artifacts": {"analyticsScore", "hasGroup", "hasIndicator", "indicatorActive"},
    "cases": {"hasAllTags", "hasGroup", "hasIndicator", "missingArtifactCount"},
    "case_attributes": {"dateVal", "displayed", "intVal", "shortText"},
    "tags": {
        "associatedGroup",
        "associatedIndicator",
        "associatedVictim",
        "financialRisk",
        "financialRiskScore",
        "financialRiskValue",
        "hasGroup",
        "hasIndicator",
        "hasVictim",
        "securityCoverage",
    },
    "tasks": {"missingArtifactCount"},
}
# Model fields tcex knows that the clone's OPTIONS does not describe (threat-intel features).
FIELDS_NOT_SERVED = {
    "artifacts": {
        "analyticsPriority",
        "analyticsPriorityLevel",
        "analyticsScore",
        "analyticsStatus",
        "analyticsType",
        "associatedGroups",
        "associatedIndicators",
        "links",
    },
    "cases": {"associatedGroups", "associatedIndicators"},
    "case_attributes": {"securityLabels", "shardId"},
    "tags": {
        "financialImpact",
        "groups",
        "indicators",
        "normalized",
        "platforms",
        "securityCoverage",
        "synonymousTagNames",
        "tactics",
        "victims",
    },
}


def test_tcex_filter_keywords_are_served(make_v3, auth):
    v3, util = make_v3(auth), Util()
    for name in ENDPOINTS:
        collection = getattr(v3, name)()
        served = {keyword.lower() for keyword in collection.tql_keywords}
        assert served, name
        wanted = {
            util.snake_to_camel(keyword)
            for keyword in collection.filter.implemented_keywords
            if keyword not in NOT_KEYWORDS
        }
        unknown = {k for k in wanted if k.lower() not in served}
        assert unknown <= KEYWORDS_NOT_SERVED.get(name, set()), name


def test_tcex_model_fields_are_described(make_v3, auth):
    v3 = make_v3(auth)
    for name, single in ENDPOINTS.items():
        obj = getattr(v3, single)()
        described = set(obj.properties)  # OPTIONS /v3/x?show=readOnly, no envelope
        assert {"id"} <= described, name
        fields = {f.title or n for n, f in type(obj.model).model_fields.items()}
        assert fields - described <= FIELDS_NOT_SERVED.get(name, set()), name


def test_read_side_lists(make_v3, auth):
    v3 = make_v3(auth)
    case = v3.case(name=f"Lists {auth}", severity="Medium", status="Open")
    case.stage_tag({"name": f"List tag {auth}"})
    case.stage_attribute({"type": "External ID", "value": "INC-42", "source": "ticketing"})
    case.create()
    case_id = case.model.id

    tags = v3.tags()
    tags.filter.name(TqlOperator.EQ, f"List tag {auth}")
    tags.filter.has_case.id(TqlOperator.EQ, case_id)
    assert [t.model.id for t in tags] == [Tag.objects.get(name=f"List tag {auth}").pk]
    assert [t.model.name for t in case.tags] == [f"List tag {auth}"]

    attributes = v3.case_attributes()
    attributes.filter.case_id(TqlOperator.EQ, case_id)
    found = [(a.model.type, a.model.value, a.model.source) for a in attributes]
    assert found == [("External ID", "INC-42", "ticketing")]
    assert CaseAttribute.objects.get(case_id=case_id).value == "INC-42"
    assert [a.model.value for a in case.attributes] == ["INC-42"]

    artifact_types = v3.artifact_types()
    assert len(artifact_types) == ArtifactType.objects.count()
    hosts = v3.artifact_types()
    hosts.filter.name(TqlOperator.EQ, "Host")
    (host,) = list(hosts)
    assert host.model.intel_type == "indicator-Host"
    single = v3.artifact_type(id=host.model.id)
    single.get()
    assert single.model.name == "Host"

    template = v3.workflow_template(name=f"Malware triage {auth}", version=2)
    template.create()
    templates = v3.workflow_templates()
    templates.filter.name(TqlOperator.LIKE, "%triage%")
    templates.filter.version(TqlOperator.EQ, 2)
    assert [t.model.id for t in templates] == [template.model.id]

    users = v3.users()
    users.filter.user_name(TqlOperator.EQ, "tcex-admin@example.com")
    assert [u.model.user_name for u in users] == ["tcex-admin@example.com"]


def test_wrong_credentials_are_refused(tc_api_path, tc_credential, auth):
    forged = IssuedCredential(
        user=tc_credential.user,
        access_id=tc_credential.access_id,
        secret_key="not-the-secret",
        token=tc_credential.token + "x",
    )
    cases = V3(make_session(tc_api_path, forged, auth)).cases()
    with pytest.raises(RuntimeError) as refused:
        len(cases)
    assert refused.value.args[0] == 950 and "401" in refused.value.args[1]

"""Artifact values checked against their type, file artifacts and derived links (§5.3, §8)."""

import base64
import hashlib

import pytest

from tests.cases.helpers import error_of


def _artifact(api, case_id, type_, summary, **fields):
    return api.post_json(
        "/api/v3/artifacts", {"caseId": case_id, "type": type_, "summary": summary, **fields}
    )


@pytest.fixture
def case(make_case):
    return make_case()


@pytest.mark.parametrize(
    ("type_", "summary"),
    [
        ("Email Address", "phisher@evil.example"),
        ("Host", "bad.example.com"),
        ("URL", "https://bad.example.com/login?x=1"),
        ("IP Address", "203.0.113.7"),
        ("IP Address", "2001:db8::1"),
        ("ASN", "ASN64512"),
        ("ASN", "64512"),
        ("CIDR", "198.51.100.0/24"),
        ("File Hash", "d41d8cd98f00b204e9800998ecf8427e"),
        ("File Hash", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("File Hash", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("Source Port", "443"),
        ("Destination Port", "0"),
        ("Email Subject", "anything at all goes here"),
    ],
)
def test_valid_artifact_value_is_accepted(api, case, type_, summary):
    response = _artifact(api, case["id"], type_, summary)

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["summary"] == summary
    assert response.json()["data"]["type"] == type_


@pytest.mark.parametrize(
    ("type_", "summary", "reason"),
    [
        ("Email Address", "not-an-email", "email"),
        ("Host", "bad host!", "host"),
        ("Host", "localhost", "host"),
        ("URL", "bad.example.com/no-scheme", "URL"),
        ("IP Address", "999.1.1.1", "IP address"),
        ("ASN", "AS-banana", "ASN"),
        ("ASN", "ASN99999999999", "ASN"),
        ("CIDR", "10.0.0.0/33", "CIDR"),
        ("File Hash", "xyz", "hash"),
        ("File Hash", "d41d8cd98f00b204e9800998ecf8427", "hash"),
        ("Source Port", "65536", "port"),
        ("Destination Port", "http", "port"),
    ],
)
def test_invalid_artifact_value_is_rejected_with_a_clear_message(api, case, type_, summary, reason):
    body = error_of(_artifact(api, case["id"], type_, summary))

    assert reason.lower() in body["message"].lower()
    assert summary in body["message"]


def test_invalid_artifact_creates_nothing(api, case):
    _artifact(api, case["id"], "Host", "bad host!")

    assert api.get("/api/v3/artifacts", {"count": "true"}).json()["count"] == 0


def test_unknown_artifact_type_is_rejected(api, case):
    body = error_of(_artifact(api, case["id"], "Banana", "x"))

    assert "Banana" in body["message"]


def test_artifact_type_names_are_case_insensitive(api, case):
    response = _artifact(api, case["id"], "host", "bad.example.com")

    assert response.json()["data"]["type"] == "Host"


def test_empty_summary_is_rejected(api, case):
    error_of(_artifact(api, case["id"], "Email Subject", "   "))


def test_changing_summary_to_an_invalid_value_is_rejected(api, case):
    artifact = _artifact(api, case["id"], "Host", "bad.example.com").json()["data"]

    response = api.put_json(f"/api/v3/artifacts/{artifact['id']}", {"summary": "not a host"})

    assert "host" in error_of(response)["message"].lower()


def test_indicator_artifact_reports_intel_type(api, case):
    data = _artifact(api, case["id"], "Host", "bad.example.com").json()["data"]

    assert data["intelType"] == "indicator-Host"


def test_file_artifact_hash_code_is_sha256_of_decoded_content(api, case):
    content = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    response = _artifact(
        api,
        case["id"],
        "Certificate File",
        "server.pem",
        fileData=base64.b64encode(content).decode(),
    )

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["hashCode"] == hashlib.sha256(content).hexdigest()
    assert "intelType" not in data


def test_client_supplied_hash_code_is_replaced_by_the_computed_one(api, case):
    data = _artifact(
        api,
        case["id"],
        "Certificate File",
        "a.pem",
        fileData=base64.b64encode(b"abc").decode(),
        hashCode="0" * 64,
    ).json()["data"]

    assert data["hashCode"] == hashlib.sha256(b"abc").hexdigest()


def test_file_data_is_returned_when_requested(api, case):
    encoded = base64.b64encode(b"abc").decode()
    artifact = _artifact(api, case["id"], "Certificate File", "a.pem", fileData=encoded).json()

    response = api.get(f"/api/v3/artifacts/{artifact['data']['id']}", {"fields": "fileData"})

    assert response.json()["data"]["fileData"] == encoded


def test_file_data_is_not_returned_by_default(api, case):
    artifact = _artifact(
        api, case["id"], "Certificate File", "a.pem", fileData=base64.b64encode(b"a").decode()
    ).json()["data"]

    assert "fileData" not in artifact


def test_replacing_file_data_recomputes_the_hash(api, case):
    artifact = _artifact(
        api, case["id"], "Certificate File", "a.pem", fileData=base64.b64encode(b"one").decode()
    ).json()["data"]

    data = api.put_json(
        f"/api/v3/artifacts/{artifact['id']}", {"fileData": base64.b64encode(b"two").decode()}
    ).json()["data"]

    assert data["hashCode"] == hashlib.sha256(b"two").hexdigest()


def test_invalid_base64_file_data_is_rejected(api, case):
    body = error_of(_artifact(api, case["id"], "Certificate File", "a.pem", fileData="%%%not"))

    assert "base64" in body["message"]


def test_file_data_on_a_non_file_type_is_rejected(api, case):
    body = error_of(_artifact(api, case["id"], "Host", "bad.example.com", fileData="QUJD"))

    assert "fileData" in body["message"]


def test_derived_link_artifacts_relate_their_cases(api, make_case, get_case):
    first, second, third = make_case(name="A"), make_case(name="B"), make_case(name="C")
    _artifact(api, first["id"], "Host", "shared.example.com", derivedLink=True)
    _artifact(api, second["id"], "Host", "shared.example.com", derivedLink=True)
    _artifact(api, third["id"], "Host", "other.example.com", derivedLink=True)

    related_first = get_case(first["id"], "related")["related"]["data"]
    related_second = get_case(second["id"], "related")["related"]["data"]

    assert [c["id"] for c in related_first] == [second["id"]]
    assert [c["id"] for c in related_second] == [first["id"]]


def test_same_summary_with_a_different_type_does_not_relate(api, make_case, get_case):
    first, second = make_case(name="A"), make_case(name="B")
    _artifact(api, first["id"], "Email Subject", "hello", derivedLink=True)
    _artifact(api, second["id"], "User Name", "hello", derivedLink=True)

    assert get_case(first["id"], "related")["related"]["data"] == []


def test_artifact_without_derived_link_does_not_relate(api, make_case, get_case):
    first, second = make_case(name="A"), make_case(name="B")
    _artifact(api, first["id"], "Host", "shared.example.com", derivedLink=True)
    _artifact(api, second["id"], "Host", "shared.example.com", derivedLink=False)

    assert get_case(first["id"], "related")["related"]["data"] == []


def test_derived_link_defaults_to_the_artifact_type_setting(api, case):
    host = _artifact(api, case["id"], "Host", "bad.example.com").json()["data"]
    port = _artifact(api, case["id"], "Source Port", "22").json()["data"]

    assert host["derivedLink"] is True
    assert port["derivedLink"] is False


def test_related_is_listed_on_case_lists_too(api, make_case):
    first, second = make_case(name="A"), make_case(name="B")
    _artifact(api, first["id"], "Host", "shared.example.com")
    _artifact(api, second["id"], "Host", "shared.example.com")

    response = api.get("/api/v3/cases", {"fields": "related"})

    related = {c["id"]: [r["id"] for r in c["related"]["data"]] for c in response.json()["data"]}
    assert related == {first["id"]: [second["id"]], second["id"]: [first["id"]]}


def test_line_wrapped_base64_file_data_is_accepted(api, case):
    content = b"x" * 200
    wrapped = base64.encodebytes(content).decode()  # 76-character lines

    response = _artifact(api, case["id"], "Certificate File", "a.pem", fileData=wrapped)

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["hashCode"] == hashlib.sha256(content).hexdigest()


def test_hash_code_of_a_file_artifact_cannot_be_overwritten(api, case):
    artifact = _artifact(
        api, case["id"], "Certificate File", "a.pem", fileData=base64.b64encode(b"abc").decode()
    ).json()["data"]

    data = api.put_json(f"/api/v3/artifacts/{artifact['id']}", {"hashCode": "0" * 64}).json()[
        "data"
    ]

    assert data["hashCode"] == hashlib.sha256(b"abc").hexdigest()


def test_hash_code_of_a_non_file_artifact_is_client_data(api, case):
    artifact = _artifact(api, case["id"], "Host", "bad.example.com").json()["data"]

    data = api.put_json(f"/api/v3/artifacts/{artifact['id']}", {"hashCode": "abc"}).json()["data"]

    assert data["hashCode"] == "abc"

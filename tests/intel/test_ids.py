"""Deterministic observable ids are the ones the `stix2` library computes (STIX 2.1 §2.9), and an
observable posted several times, under whatever id, is one object."""

import json
import uuid

import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.intel.ids import observable_id
from cti.intel.models import StixAlias, StixObject
from cti.intel.validation import normalize

IP = "ipv4-addr--f295cac6-ad5f-5d0c-bbb7-c4e7b2f5e7d1"
EMAIL = "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3"
SHA256 = "3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed"
MD5 = "5d41402abc4b2a76b9719d911017c592"
SHA1 = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
SHA512 = "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7" * 2

OBSERVABLES = [
    stix2.DomainName(value="example.com"),
    stix2.DomainName(value="xn--80ak6aa92e.com"),
    stix2.IPv4Address(value="198.51.100.7"),
    stix2.IPv4Address(value="198.51.100.0/24"),
    stix2.IPv6Address(value="2001:db8::1"),
    stix2.URL(value="https://example.com/a?b=c&d=é"),
    stix2.EmailAddress(value="alice@example.com", display_name="Alice"),
    stix2.File(name="dropper.exe"),
    stix2.File(hashes={"SHA-256": SHA256}),
    stix2.File(hashes={"SHA-256": SHA256, "MD5": MD5}, name="a.exe"),  # MD5 is preferred
    stix2.File(hashes={"SHA-512": SHA512, "SHA-1": SHA1}),  # then SHA-1
    stix2.File(hashes={"SHA-512": SHA512}, name="b.exe", size=10),
    stix2.File(hashes={"SSDEEP": "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"}),
    stix2.File(name="c.exe", parent_directory_ref="directory--" + str(uuid.uuid4())),
    stix2.MACAddress(value="00:00:5e:00:53:af"),
    stix2.AutonomousSystem(number=15169, name="Google"),
    stix2.Mutex(name="Global\\evil"),
    stix2.Directory(path="C:\\Windows\\Temp"),
    stix2.Software(
        name="Word",
        vendor="Microsoft",
        version="2016",
        cpe="cpe:2.3:a:microsoft:word:2016:*:*:*:*:*:*:*",
    ),
    stix2.Software(name="curl"),
    stix2.UserAccount(user_id="1001", account_login="bob", account_type="unix", display_name="Bob"),
    stix2.UserAccount(account_login="bob"),
    stix2.WindowsRegistryKey(
        key="HKEY_LOCAL_MACHINE\\Software\\Run",
        values=[{"name": "evil", "data": "c:\\evil.exe", "data_type": "REG_SZ"}],
    ),
    stix2.WindowsRegistryKey(key="HKEY_CURRENT_USER\\Software"),
    stix2.X509Certificate(
        serial_number="36:f7:d4:32:f4:ab:70:ea", issuer="CN=Example CA", hashes={"SHA-256": SHA256}
    ),
    stix2.X509Certificate(serial_number="01:02:03"),
    stix2.EmailMessage(
        is_multipart=False, subject="Invoice", body="see attachment", from_ref=EMAIL
    ),
    stix2.EmailMessage(is_multipart=True, subject="Hello"),
    stix2.NetworkTraffic(
        protocols=["ipv4", "tcp"],
        src_ref=IP,
        dst_ref=IP,
        src_port=49152,
        dst_port=443,
        start="2024-03-01T10:00:00.123Z",
    ),
    stix2.NetworkTraffic(protocols=["udp"], dst_ref=IP, dst_port=53),
    stix2.Artifact(payload_bin="aGVsbG8gd29ybGQ="),
    stix2.Artifact(url="https://example.com/x.bin", hashes={"SHA-256": SHA256}),
]


def _dict(obj) -> dict:
    return json.loads(obj.serialize())


@pytest.mark.parametrize("obj", OBSERVABLES, ids=lambda o: o.type)
def test_observable_id_equals_stix2(obj):
    assert observable_id(obj.type, _dict(obj)) == obj.id


@pytest.mark.parametrize("obj", OBSERVABLES, ids=lambda o: o.type)
def test_normalize_gives_the_stix2_id_whatever_id_was_posted(obj):
    body = _dict(obj)
    for posted in (None, obj.id, f"{obj.type}--{uuid.uuid4()}"):
        raw = {k: v for k, v in body.items() if k != "id"}
        if posted:
            raw["id"] = posted
        normalized, alias = normalize(raw)
        assert normalized["id"] == obj.id
        assert alias == (posted if posted and posted != obj.id else None)


def test_spelling_of_hash_names_and_timestamps_does_not_change_the_id():
    """stix2 turns 'sha256' into 'SHA-256' and formats timestamps before hashing; so must we."""
    for raw in (
        {"type": "file", "hashes": {"sha256": SHA256}},
        {"type": "file", "hashes": {"SHA256": SHA256}},
        {"type": "file", "hashes": {"sha-1": SHA1, "sha-256": SHA256}},
        {
            "type": "network-traffic",
            "protocols": ["tcp"],
            "src_ref": IP,
            "start": "2024-03-01T10:00:00.000Z",
        },
        {
            "type": "network-traffic",
            "protocols": ["tcp"],
            "src_ref": IP,
            "start": "2024-03-01T10:00:00Z",
            "end": "2024-03-01T10:00:01.500Z",
            "is_active": False,
        },
    ):
        expected = stix2.parse({**raw, "spec_version": "2.1"}, version="2.1").id
        assert normalize(raw)[0]["id"] == expected, raw


def test_x509_without_contributing_properties_gets_a_random_id():
    raw = {"type": "x509-certificate", "issuer": "CN=Example"}
    first, second = normalize(raw)[0]["id"], normalize(raw)[0]["id"]
    assert first != second
    assert uuid.UUID(first.split("--")[1]).version == 4


# ---- property-based: random values ------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
_hex = st.text("0123456789abcdef", min_size=64, max_size=64)
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).map(str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=_text,
    ip4=_ipv4,
    ip6=_ipv6,
    sha=_hex,
    name=_text,
    number=st.integers(0, 2**32 - 1),
)
def test_random_values_give_stix2_ids(value, ip4, ip6, sha, name, number):
    objs = [
        stix2.DomainName(value=value),
        stix2.URL(value=value),
        stix2.EmailAddress(value=value),
        stix2.Mutex(name=value),
        stix2.IPv4Address(value=ip4),
        stix2.IPv6Address(value=ip6),
        stix2.File(hashes={"SHA-256": sha}, name=name),
        stix2.AutonomousSystem(number=number),
        stix2.Software(name=name, version=value),
        stix2.UserAccount(account_login=name, user_id=value),
    ]
    for obj in objs:
        assert observable_id(obj.type, _dict(obj)) == obj.id, _dict(obj)


# ---- the same observable posted twice is one object ------------------------------------------

OBJECTS = "/api/v3/intel/objects"


@pytest.mark.django_db
def test_same_domain_posted_twice_is_one_object(api, post_bundle):
    expected = stix2.DomainName(value="twice.example.com").id
    random_a = f"domain-name--{uuid.uuid4()}"
    random_b = f"domain-name--{uuid.uuid4()}"
    first = api.post_json(OBJECTS, {"type": "domain-name", "value": "twice.example.com"})
    assert first.status_code == 201, first.json()
    assert first.json()["data"]["id"] == expected
    second = api.post_json(
        OBJECTS, {"type": "domain-name", "value": "twice.example.com", "id": random_a}
    )
    assert second.status_code == 201, second.json()
    assert second.json()["data"]["id"] == expected
    summary = post_bundle(
        [
            {"type": "domain-name", "value": "twice.example.com", "id": random_b},
            {"type": "domain-name", "value": "twice.example.com", "id": expected},
            {"type": "domain-name", "value": "twice.example.com"},
        ]
    )
    assert summary["created"] == [] and summary["rejected"] == []
    assert StixObject.objects.filter(type="domain-name", value="twice.example.com").count() == 1
    assert set(StixAlias.objects.values_list("stix_id", flat=True)) == {random_a, random_b}
    got = api.get(f"{OBJECTS}/{expected}")
    assert got.status_code == 200 and got.json()["data"]["value"] == "twice.example.com"


@pytest.mark.django_db
def test_relationship_to_a_random_observable_id_lands_on_the_deterministic_node(post_bundle):
    random_id = f"ipv4-addr--{uuid.uuid4()}"
    summary = post_bundle(
        [
            {"type": "ipv4-addr", "id": random_id, "value": "203.0.113.9"},
            {"type": "malware", "id": f"malware--{uuid.uuid4()}", "name": "m", "is_family": True},
        ]
    )
    malware = StixObject.objects.get(type="malware").stix_id
    summary = post_bundle(
        [
            {
                "type": "relationship",
                "relationship_type": "communicates-with",
                "source_ref": malware,
                "target_ref": random_id,
            },
        ]
    )
    assert summary["rejected"] == [] and len(summary["created"]) == 1
    node = StixObject.objects.get(type="ipv4-addr")
    assert node.stix_id == stix2.IPv4Address(value="203.0.113.9").id
    assert node.edges_in.get().relationship_type == "communicates-with"

"""STIX 2.1 test data built with the `stix2` library (so that it is valid by construction) and
helpers to compare objects after a round trip."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stix2
from dateutil import parser as dateparser

ROOT = Path(__file__).resolve().parents[2]
ATTACK = ROOT.parent / "shared" / "data" / "attack" / "enterprise-attack-18.1.json.gz"

T0 = "2024-03-01T10:00:00.000Z"
T1 = "2024-03-02T10:00:00.000Z"
R_ON_R = "relationship--00000003-0000-4000-8000-000000000003"
TLP_AMBER = json.loads(stix2.TLP_AMBER.serialize())
TLP_GREEN = json.loads(stix2.TLP_GREEN.serialize())
TIMESTAMP_KEYS = (
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "published",
    "start_time",
    "stop_time",
)


def as_dict(obj: Any) -> dict:
    return json.loads(obj.serialize()) if not isinstance(obj, dict) else obj


def sid(stix_type: str, n: int) -> str:
    """A fixed id: type--0000000n-0000-4000-8000-00000000000n."""
    return f"{stix_type}--{n:08x}-0000-4000-8000-{n:012x}"


def domain(value: str, **kw) -> dict:
    return as_dict(stix2.DomainName(value=value, **kw))


def sample_objects() -> list[dict]:
    """A small bundle's objects: every STIX 2.1 domain-object type, observables, relationships
    (one pointing at a relationship), sightings, containers with object_refs, a TLP marking and
    created_by on most objects."""
    common = {"created": T0, "modified": T0}
    author = stix2.Identity(
        id=sid("identity", 1), name="ACME CERT", identity_class="organization", **common
    )
    by = {
        **common,
        "created_by_ref": author.id,
        "object_marking_refs": [stix2.TLP_AMBER.id],
    }
    victim = stix2.Identity(
        id=sid("identity", 2),
        name="Victim Bank",
        identity_class="organization",
        sectors=["financial-services"],
        **by,
    )
    soc = stix2.Identity(
        id=sid("identity", 3), name="SIEM perimeter A", identity_class="system", **by
    )
    france = stix2.Location(id=sid("location", 1), name="France", country="FR", **by)
    ip = stix2.IPv4Address(value="198.51.100.7")
    dom = stix2.DomainName(value="evil.example.com", resolves_to_refs=[ip.id])
    url = stix2.URL(value="https://evil.example.com/login")
    email = stix2.EmailAddress(value="phisher@evil.example.com", display_name="Phisher")
    file = stix2.File(
        name="dropper.exe",
        hashes={
            "SHA-256": "3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed",
            "MD5": "5d41402abc4b2a76b9719d911017c592",
        },
    )
    apt = stix2.IntrusionSet(
        id=sid("intrusion-set", 1),
        name="APT Example",
        aliases=["Example Panda"],
        confidence=80,
        labels=["state-sponsored"],
        external_references=[{"source_name": "acme", "url": "https://acme.example/apt"}],
        **by,
    )
    actor = stix2.ThreatActor(
        id=sid("threat-actor", 1), name="Example Actor", threat_actor_types=["nation-state"], **by
    )
    campaign = stix2.Campaign(id=sid("campaign", 1), name="Operation Example", **by)
    technique = stix2.AttackPattern(
        id=sid("attack-pattern", 1),
        name="Phishing",
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
        external_references=[{"source_name": "mitre-attack", "external_id": "T1566"}],
        **by,
    )
    mitigation = stix2.CourseOfAction(id=sid("course-of-action", 1), name="User training", **by)
    malware = stix2.Malware(
        id=sid("malware", 1),
        name="ExampleRAT",
        is_family=True,
        malware_types=["remote-access-trojan"],
        **by,
    )
    tool = stix2.Tool(id=sid("tool", 1), name="Cobalt Example", **by)
    vuln = stix2.Vulnerability(
        id=sid("vulnerability", 1),
        name="CVE-2024-0001",
        external_references=[{"source_name": "cve", "external_id": "CVE-2024-0001"}],
        **by,
    )
    infra = stix2.Infrastructure(
        id=sid("infrastructure", 1),
        name="C2 servers",
        infrastructure_types=["command-and-control"],
        **by,
    )
    incident = stix2.Incident(id=sid("incident", 1), name="Bank intrusion", **by)
    indicator = stix2.Indicator(
        id=sid("indicator", 1),
        name="evil domain",
        pattern="[domain-name:value = 'evil.example.com']",
        pattern_type="stix",
        valid_from=T0,
        indicator_types=["malicious-activity"],
        confidence=90,
        **by,
    )
    analysis = stix2.MalwareAnalysis(
        id=sid("malware-analysis", 1),
        product="sandbox",
        result="malicious",
        sample_ref=file.id,
        **by,
    )
    observed = stix2.ObservedData(
        id=sid("observed-data", 1),
        first_observed=T0,
        last_observed=T1,
        number_observed=4,
        object_refs=[dom.id, ip.id],
        **by,
    )
    rels = [
        stix2.Relationship(
            id=sid("relationship", 1),
            relationship_type="uses",
            source_ref=apt.id,
            target_ref=malware.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 2),
            relationship_type="targets",
            source_ref=apt.id,
            target_ref=victim.id,
            start_time=T0,
            stop_time=T1,
            confidence=70,
            **by,
        ),
        # a relationship pointing at a relationship: where the targeting happened
        # a relationship pointing at a relationship (where the targeting happened): OpenCTI
        # allows it, STIX 2.1 does not (stix2 refuses to build it), so it is written by hand
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": R_ON_R,
            "relationship_type": "located-at",
            "source_ref": sid("relationship", 2),
            "target_ref": france.id,
            **by,
        },
        stix2.Relationship(
            id=sid("relationship", 4),
            relationship_type="indicates",
            source_ref=indicator.id,
            target_ref=malware.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 5),
            relationship_type="based-on",
            source_ref=indicator.id,
            target_ref=dom.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 6),
            relationship_type="attributed-to",
            source_ref=campaign.id,
            target_ref=apt.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 7),
            relationship_type="mitigates",
            source_ref=mitigation.id,
            target_ref=technique.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 8),
            relationship_type="uses",
            source_ref=actor.id,
            target_ref=tool.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 9),
            relationship_type="exploits",
            source_ref=malware.id,
            target_ref=vuln.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 10),
            relationship_type="uses",
            source_ref=malware.id,
            target_ref=infra.id,
            **by,
        ),
        stix2.Relationship(
            id=sid("relationship", 11),
            relationship_type="related-to",
            source_ref=incident.id,
            target_ref=campaign.id,
            **by,
        ),
    ]
    sightings = [
        stix2.Sighting(
            id=sid("sighting", 1),
            sighting_of_ref=indicator.id,
            where_sighted_refs=[soc.id],
            observed_data_refs=[observed.id],
            count=7,
            first_seen=T0,
            last_seen=T1,
            **by,
        ),
        stix2.Sighting(
            id=sid("sighting", 2),
            sighting_of_ref=malware.id,
            where_sighted_refs=[victim.id],
            count=1,
            first_seen=T0,
            last_seen=T0,
            allow_custom=True,
            x_opencti_negative=True,
            **by,
        ),
    ]
    report = stix2.Report(
        id=sid("report", 1),
        name="APT Example targets banks",
        published=T1,
        report_types=["threat-report"],
        confidence=75,
        labels=["apt"],
        object_refs=[
            apt.id,
            malware.id,
            victim.id,
            rels[0].id,
            rels[1].id,
            R_ON_R,
            indicator.id,
            dom.id,
        ],
        external_references=[{"source_name": "acme", "url": "https://acme.example/r/1"}],
        **by,
    )
    grouping = stix2.Grouping(
        id=sid("grouping", 1),
        name="To triage",
        context="suspicious-activity",
        object_refs=[url.id, email.id],
        **by,
    )
    note = stix2.Note(
        id=sid("note", 1), content="Seen again this week.", object_refs=[apt.id], **by
    )
    opinion = stix2.Opinion(id=sid("opinion", 1), opinion="agree", object_refs=[report.id], **by)
    objects = [
        stix2.TLP_AMBER,
        author,
        victim,
        soc,
        france,
        ip,
        dom,
        url,
        email,
        file,
        apt,
        actor,
        campaign,
        technique,
        mitigation,
        malware,
        tool,
        vuln,
        infra,
        incident,
        indicator,
        analysis,
        observed,
        *rels,
        *sightings,
        report,
        grouping,
        note,
        opinion,
    ]
    return [as_dict(o) for o in objects]


def bundle_of(objects: list[dict]) -> dict:
    return {"type": "bundle", "id": "bundle--" + sid("x", 1).split("--")[1], "objects": objects}


def _instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = dateparser.isoparse(value)
        except ValueError:
            return value
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def comparable(obj: dict, generated: dict | None = None) -> dict:
    """The object with timestamps as instants (so 10:00Z equals 10:00:00.000Z), with the
    fields the service generates when absent added from `generated`."""
    out = {**(generated or {}), **obj}
    for key in TIMESTAMP_KEYS:
        if key in out:
            out[key] = _instant(out[key])
    return out


def generated_fields(obj: dict) -> dict:
    """What the service fills in on import (STIX 2.0-era producers omit these)."""
    gen: dict[str, Any] = {"spec_version": "2.1"}
    if obj["type"] == "malware":
        gen["is_family"] = True
    if obj["type"] == "sighting":
        gen["count"] = 1
    return gen


def assert_round_trip(original: list[dict], exported: list[dict]) -> None:
    by_id = {o["id"]: o for o in exported}
    missing = [o["id"] for o in original if o["id"] not in by_id]
    assert not missing, f"{len(missing)} objects missing from the export, e.g. {missing[:5]}"
    diffs = []
    for obj in original:
        got = comparable(by_id[obj["id"]])
        want = comparable(obj, generated_fields(obj))
        if got != want:
            keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            diffs.append((obj["id"], {k: (want.get(k), got.get(k)) for k in keys}))
    assert not diffs, f"{len(diffs)} objects differ after the round trip, e.g. {diffs[:3]}"


def now_iso() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

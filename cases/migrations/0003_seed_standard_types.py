"""ThreatConnect's standard artifact types (with their intel types) and case attribute types."""

from django.db import migrations

# name, data type, intel type, derived link, validator
ARTIFACT_TYPES = [
    ("Email Address", "String", "indicator-EmailAddress", True, "email"),
    ("Host", "String", "indicator-Host", True, "host"),
    ("URL", "String", "indicator-URL", True, "url"),
    ("IP Address", "String", "indicator-Address", True, "ip"),
    ("ASN", "String", "indicator-ASN", True, "asn"),
    ("CIDR", "String", "indicator-CIDR", True, "cidr"),
    ("File Hash", "String", "indicator-File", True, "hash"),
    ("Email Subject", "String", "indicator-Email Subject", True, ""),
    ("Mutex", "String", "indicator-Mutex", True, ""),
    ("Registry Key", "String", "indicator-Registry Key", True, ""),
    ("User Agent", "String", "indicator-User Agent", True, ""),
    ("Hashtag", "String", "indicator-Hashtag", False, ""),
    ("Protocol Number", "String", None, False, ""),
    ("Source Port", "String", None, False, "port"),
    ("Destination Port", "String", None, False, "port"),
    ("User Name", "String", None, True, ""),
    ("Certificate File", "File", None, False, ""),
    ("Email File", "File", None, False, ""),
    ("Log File", "File", None, False, ""),
    ("PCAP File", "File", None, False, ""),
    ("Document File", "File", None, False, ""),
    ("Image File", "File", None, False, ""),
    ("Malware Sample", "File", None, False, ""),
]

ATTRIBUTE_TYPES = [
    ("Description", "A description of the case", 0),
    ("Source", "Where the information came from", 0),
    ("Additional Analysis and Context", "Analyst commentary", 0),
    ("External ID", "The identifier in another system", 1),
    ("Impact", "Business impact statement", 1),
]


def seed(apps, schema_editor):
    ArtifactType = apps.get_model("cases", "ArtifactType")
    AttributeType = apps.get_model("cases", "AttributeType")
    for name, data_type, intel_type, derived_link, validator in ARTIFACT_TYPES:
        ArtifactType.objects.update_or_create(
            name=name,
            defaults={
                "description": f"Standard {name} artifact",
                "data_type": data_type,
                "intel_type": intel_type,
                "derived_link": derived_link,
                "validator": validator,
                "managed": True,
                "active": True,
            },
        )
    for name, description, max_allowed in ATTRIBUTE_TYPES:
        AttributeType.objects.update_or_create(
            name=name, defaults={"description": description, "max_allowed": max_allowed}
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

"""The STIX 2.1 TLP marking definitions are built in."""

from datetime import UTC, datetime

from django.db import migrations

TLP = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


def seed(apps, schema_editor):
    StixObject = apps.get_model("intel", "StixObject")
    for colour, stix_id in TLP.items():
        name = f"TLP:{colour.upper()}"
        StixObject.objects.update_or_create(
            stix_id=stix_id,
            defaults={
                "type": "marking-definition",
                "name": name,
                "created": datetime(2017, 1, 20, tzinfo=UTC),
                "properties": {
                    "type": "marking-definition",
                    "spec_version": "2.1",
                    "id": stix_id,
                    "created": "2017-01-20T00:00:00.000Z",
                    "definition_type": "tlp",
                    "name": name,
                    "definition": {"tlp": colour},
                },
            },
        )


class Migration(migrations.Migration):
    dependencies = [("intel", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

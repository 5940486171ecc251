"""Indexes for the TQL keywords users filter and sort on (issue #9).

The trigram indexes (name and artifact summary LIKE / CONTAINS / STARTSWITH, which Django
compiles to `UPPER(col::text) LIKE UPPER(...)` or, for other patterns, `col::text ~* ...`)
exist on PostgreSQL only: they are created with RunPython, outside the model state, so SQLite
and `makemigrations` never see them.
"""

from django.db import migrations, models

TRIGRAM_INDEXES = {
    "case_name_upper_trgm": "cases_case USING gin (UPPER(name) gin_trgm_ops)",
    "case_name_trgm": "cases_case USING gin (name gin_trgm_ops)",
    "artifact_summary_upper_trgm": "cases_artifact USING gin (UPPER(summary) gin_trgm_ops)",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in TRIGRAM_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_opinions_status_templates"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="artifact",
            name="artifact_type_summary",
        ),
        migrations.AlterField(
            model_name="case",
            name="date_added",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AddIndex(
            model_name="artifact",
            index=models.Index(fields=["summary", "artifact_type"], name="artifact_summary_type"),
        ),
        migrations.AddIndex(
            model_name="artifact",
            index=models.Index(fields=["date_added"], name="artifact_date_added"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["date_added", "id"], name="case_date_added_id"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["last_updated"], name="case_last_updated"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["case_open_time"], name="case_open_time"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["case_close_time"], name="case_close_time"),
        ),
        migrations.AddIndex(
            model_name="note",
            index=models.Index(fields=["date_added"], name="note_date_added"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["workflow_phase", "workflow_step", "id"], name="task_order"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["due_date"], name="task_due_date"),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]

import hashlib

from django.core.exceptions import ValidationError

from cases.models import Artifact, ArtifactType, Task
from cases.services.cases import case_from_ids
from cases.services.common import bad_request, get_or_bad, set_fields
from cases.services.events import system_event
from cases.services.graph import link_artifact_observable
from cases.validators import decode_file_data, validate_artifact_value


def _artifact_type(name: str) -> ArtifactType:
    found = ArtifactType.objects.filter(name__iexact=(name or "").strip(), active=True).first()
    if found is None:
        raise bad_request(f"Unknown artifact type {name!r}; see /v3/artifactTypes.")
    return found


def _check_value(artifact_type: ArtifactType, summary: str) -> None:
    if not summary or not summary.strip():
        raise bad_request("summary must not be empty.")
    problem = validate_artifact_value(artifact_type.validator, summary)
    if problem:
        raise bad_request(f"summary {summary!r} is {problem} (type {artifact_type.name}).")


def _file(artifact: Artifact, file_data: str | None) -> None:
    if file_data is None:
        return
    if not artifact.artifact_type.is_file:
        raise bad_request(
            f"fileData is only accepted for file artifact types, not {artifact.artifact_type.name}."
        )
    try:
        content = decode_file_data(file_data)
    except ValidationError as exc:
        raise bad_request(exc.messages[0]) from None
    artifact.file_data = file_data
    artifact.hash_code = hashlib.sha256(content).hexdigest()


def _task_for(data: dict, user) -> Task | None:
    if data.get("task_id") is not None:
        return get_or_bad(Task, "Task", seen_by=user, pk=data["task_id"])
    if data.get("taskXid"):
        return get_or_bad(Task, "Task", seen_by=user, xid=data["taskXid"])
    return None


def artifact_create(*, user, data: dict) -> Artifact:
    from cases.services.notes import create_nested_notes

    task = _task_for(data, user)
    case = (
        task.case
        if task and not (data.get("case_id") or data.get("caseXid"))
        else (case_from_ids(data, user))
    )
    if task and task.case_id != case.pk:
        raise bad_request("The task does not belong to the given case.")
    artifact_type = _artifact_type(data.get("type"))
    _check_value(artifact_type, data.get("summary", ""))
    artifact = Artifact(
        case=case, task=task, artifact_type=artifact_type, derived_link=artifact_type.derived_link
    )
    set_fields(artifact, data, ("summary", "source", "field_name", "hash_code", "derived_link"))
    if artifact.source in (None, "") and user and user.is_authenticated:
        artifact.source = user.get_username()
    if artifact.derived_link is None:
        artifact.derived_link = artifact_type.derived_link
    _file(artifact, data.get("file_data"))
    artifact.save()
    link_artifact_observable(artifact)
    system_event(case, f"Artifact added: {artifact.summary[:100]}", user, about=artifact)
    create_nested_notes(user, data, case=case, artifact=artifact)
    return artifact


def artifact_update(*, user, instance: Artifact, data: dict) -> Artifact:
    from cases.services.notes import create_nested_notes

    artifact = (
        Artifact.objects.select_for_update().select_related("artifact_type").get(pk=instance.pk)
    )
    if data.get("summary") is not None:
        _check_value(artifact.artifact_type, data["summary"])
    fields = ("summary", "source", "field_name", "hash_code", "derived_link")
    if artifact.artifact_type.is_file and artifact.file_data is not None:
        fields = tuple(f for f in fields if f != "hash_code")  # computed from the content
    set_fields(artifact, data, fields)
    _file(artifact, data.get("file_data"))
    artifact.save()
    create_nested_notes(user, data, case=artifact.case, artifact=artifact)
    return artifact


def artifact_delete(*, user, instance: Artifact, data: dict) -> None:
    instance.delete()

"""Audit receivers: model signals for the audited models, the graph's own signals for graph
objects (written in bulk, so Django's save signals never see them).

Not seen here (documented in README): QuerySet.update() and bulk_create()/bulk_update() on the
audited models, except for the graph, whose writers announce their changes."""

from typing import Any

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from cti.audit import graph, services
from cti.audit.choices import AuditAction
from cti.audit.registry import policies, policy_for

_BEFORE = "_audit_before"
_M2M_BEFORE = "_audit_m2m_before"


def _fields_for(sender, update_fields=None):
    policy = policy_for(sender)
    if policy is None:
        return None, None
    fields = services.audited_fields(sender, policy)
    if update_fields is not None:
        fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
    return policy, fields


def on_pre_save(sender, instance: models.Model, raw: bool = False, update_fields=None, **kw):
    if raw or instance._state.adding or instance.pk is None:
        return
    _policy, fields = _fields_for(sender, update_fields)
    if not fields:
        return
    stored = sender._base_manager.filter(pk=instance.pk).values(*(f.attname for f in fields))
    row = stored.first()
    if row is not None:
        setattr(instance, _BEFORE, {f.name: row[f.attname] for f in fields})


def on_post_save(sender, instance: models.Model, created: bool, raw: bool = False, **kw) -> None:
    if raw:
        return
    policy, fields = _fields_for(sender, kw.get("update_fields"))
    if policy is None:
        return
    now = services.raw_values(instance, fields)
    if created:
        after = {name: services.shown(name, value, policy) for name, value in now.items()}
        services.record(instance, AuditAction.CREATE, after=after)
        return
    old = instance.__dict__.pop(_BEFORE, None)
    if old is None:
        return
    names = services.changed(fields, old, now)
    if not names:
        return
    services.record(
        instance,
        AuditAction.UPDATE,
        before={n: services.shown(n, old[n], policy) for n in names},
        after={n: services.shown(n, now[n], policy) for n in names},
    )


def on_post_delete(sender, instance: models.Model, **kw) -> None:
    policy = policy_for(sender)
    if policy is None:
        return
    fields = services.audited_fields(sender, policy)
    values = services.raw_values(instance, fields)
    before = {name: services.shown(name, value, policy) for name, value in values.items()}
    services.record(instance, AuditAction.DELETE, before=before)


def _m2m_name(instance: models.Model, sender, reverse: bool) -> str | None:
    if not reverse:
        for field in type(instance)._meta.many_to_many:
            if field.remote_field.through is sender:
                return field.name
        return None
    for rel in type(instance)._meta.related_objects:
        if rel.many_to_many and rel.through is sender:
            return rel.get_accessor_name()
    return None


def _m2m_pks(instance: models.Model, name: str) -> list[Any]:
    return sorted(getattr(instance, name).values_list("pk", flat=True))


def on_m2m_changed(sender, instance, action: str, reverse: bool, **kw) -> None:
    policy = policy_for(type(instance))
    if policy is None or not policy.m2m:
        return
    name = _m2m_name(instance, sender, reverse)
    if name is None or name in policy.exclude:
        return
    if action.startswith("pre_"):
        instance.__dict__.setdefault(_M2M_BEFORE, {})[name] = _m2m_pks(instance, name)
        return
    old = instance.__dict__.get(_M2M_BEFORE, {}).pop(name, None)
    new = _m2m_pks(instance, name)
    if old is None or old == new:
        return
    services.record(
        instance,
        AuditAction.UPDATE,
        before={name: services.jsonable(old)},
        after={name: services.jsonable(new)},
    )


def connect() -> None:
    """Receivers per audited model: a receiver for every model would stop Django's fast
    deletes (of rule explanations, for one) everywhere."""
    throughs: set = set()
    for model in policies():
        uid = f"cti.audit.{model._meta.label}"
        pre_save.connect(on_pre_save, sender=model, dispatch_uid=f"{uid}.pre_save")
        post_save.connect(on_post_save, sender=model, dispatch_uid=f"{uid}.post_save")
        post_delete.connect(on_post_delete, sender=model, dispatch_uid=f"{uid}.post_delete")
        throughs.update(f.remote_field.through for f in model._meta.many_to_many)
        throughs.update(r.through for r in model._meta.related_objects if r.many_to_many)
    for through in throughs:
        m2m_changed.connect(
            on_m2m_changed, sender=through, dispatch_uid=f"cti.audit.m2m.{through._meta.label}"
        )
    graph.connect()

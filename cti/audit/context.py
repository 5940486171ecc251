"""Who is writing: a context variable set per request by the middleware, or explicitly by a
command or task with `audit_context(...)`. Resolved when an entry is written, because DRF
authenticates inside the view, after the middleware ran."""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import HttpRequest

from cti.ops.context import current_request_id, task_var


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    name: str = ""
    access_id: str = ""
    request_id: str = ""
    source: str = "system"
    endpoint: str = ""


@dataclass(frozen=True)
class _Context:
    request: HttpRequest | None = None
    user: object | None = None
    source: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[_Context | None] = contextvars.ContextVar(
    "cti_audit_context", default=None
)


@contextmanager
def request_context(request: HttpRequest) -> Iterator[None]:
    token = _current.set(_Context(request=request))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def audit_context(*, user=None, source: str = "system", request_id: str = "") -> Iterator[None]:
    """Attribute the writes inside to `user` (None: the system), e.g. in a management command."""
    token = _current.set(_Context(user=user, source=source, request_id=request_id))
    try:
        yield
    finally:
        _current.reset(token)


def _request_id() -> str:
    """The request id cti.ops bound for this request or task (it checks what clients send)."""
    return (current_request_id() or "")[:100]


def _user_fields(user) -> tuple[int | None, str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    return user.pk, user.get_username()[:150]


def _ambient_source() -> str:
    """A Celery task's name (cti.ops binds it), else the system."""
    task = task_var.get()
    return f"task:{task[0]}"[:100] if task else "system"


def current_actor() -> Actor:
    ctx = _current.get()
    if ctx is None:
        return Actor(request_id=_request_id(), source=_ambient_source())
    if ctx.request is None:
        user_id, name = _user_fields(ctx.user)
        return Actor(user_id, name, request_id=ctx.request_id, source=ctx.source)
    request = ctx.request
    user_id, name = _user_fields(getattr(request, "user", None))
    credential = getattr(request, "auth", None)
    access_id = getattr(credential, "access_id", "") or ""
    path = request.path
    source = "admin" if path.startswith("/admin/") else "api"
    return Actor(
        user_id,
        name,
        access_id=str(access_id)[:40],
        request_id=_request_id(),
        source=source,
        endpoint=f"{request.method} {path}"[:300],
    )

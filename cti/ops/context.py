"""The request id (and, in a worker, the running task) of what is being done now.

Context variables, not thread locals: a request, a task or a heartbeat thread each sees its
own value, and a new thread starts with none."""

import re
import uuid
from contextvars import ContextVar, Token

# what a client may send as X-Request-ID: a uuid, a trace id, a load balancer's id...
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}")

request_id_var: ContextVar[str | None] = ContextVar("cti_request_id", default=None)
task_var: ContextVar[tuple[str, str] | None] = ContextVar("cti_task", default=None)

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: str | None) -> str | None:
    """The client's id if it is safe to log and echo, else None."""
    if value and _SANE.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    return request_id_var.get()


def bind_request_id(value: str | None) -> Token:
    return request_id_var.set(value)


def unbind_request_id(token: Token) -> None:
    request_id_var.reset(token)

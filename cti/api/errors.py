"""ThreatConnect v3 error codes and the exception that carries one."""

from enum import Enum


class ErrCode(Enum):
    BAD_REQUEST = ("0x1001", 400)
    UNAUTHORIZED = ("0x1002", 401)
    FORBIDDEN = ("0x1003", 403)
    NOT_FOUND = ("0x1004", 404)
    METHOD_NOT_ALLOWED = ("0x1005", 405)
    CONFLICT = ("0x1006", 409)
    INTERNAL_ERROR = ("0x1007", 500)
    TOO_MANY_REQUESTS = ("0x1008", 429)
    TQL_PARSE_ERROR = ("0x2001", 400)
    MISMATCHED_ITEMS = ("0x2002", 400)
    MISSING_DATA = ("0x2003", 400)
    PLAYBOOK_FAILURE = ("0x2004", 400)
    IMPROPER_FORMAT = ("0x2005", 400)
    HAS_DEPENDENTS = ("0x2006", 400)

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]


class V3Error(Exception):
    """Raised anywhere below a v3 view; rendered as the v3 error envelope."""

    def __init__(self, message: str, err: ErrCode = ErrCode.BAD_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.err = err


def error_body(message: str, err: ErrCode) -> dict:
    return {"status": "Error", "message": message, "errCode": err.code}

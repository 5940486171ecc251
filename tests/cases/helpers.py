"""Plain helpers shared by the case-workflow tests."""

from datetime import UTC, datetime, timedelta

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    """Stands in for django.utils.timezone.now; tests move it with `advance`."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def iso(value: datetime) -> str:
    """How the API renders a datetime."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def error_of(response, status=400):
    """The v3 error envelope of a failed response."""
    assert response.status_code == status, (response.status_code, response.json())
    body = response.json()
    assert body["status"] == "Error"
    return body

"""Fixtures for ingestion: webhook sources, signed posts, an indicator based on an observable."""

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from cti.ingest import services
from cti.ingest.models import WebhookSource
from cti.intel.services import import_objects, resolve_ids

SIGHTINGS = "/api/v3/sightings"
IP = "203.0.113.7"
INDICATOR = "indicator--6f0a2c5e-4b71-4b4c-9c3e-1d2b3c4d5e6f"


def signed_headers(secret: str, body: str, *, at: float | None = None, msg_id: str | None = None):
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    signature = Webhook(secret).sign(msg_id, stamp, body)
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(stamp.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


@pytest.fixture
def make_source(db):
    def make(kind="generic", auth_mode="signature", slug=None, field_map=None, **kw):
        source = WebhookSource.objects.create(
            name=kw.pop("name", slug or kind),
            slug=slug or kind,
            kind=kind,
            system_name=kw.pop("system_name", f"{kind} SIEM"),
            auth_mode=auth_mode,
            field_map=field_map or {},
            **kw,
        )
        return services.ensure_source_system(source)

    return make


@pytest.fixture
def web() -> Client:
    return Client()


@pytest.fixture
def post_signed(web):
    def post(source: WebhookSource, payload, **headers):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        extra = signed_headers(source.secret, body)
        extra.update(headers)
        return web.post(
            f"/api/v3/webhooks/{source.slug}", body, content_type="application/json", **extra
        )

    return post


@pytest.fixture
def indicator(db) -> int:
    """An indicator based on the observable ipv4-addr IP (and the observable)."""
    observable = {"type": "ipv4-addr", "value": IP}
    objects = [
        observable,
        {
            "type": "indicator",
            "id": INDICATOR,
            "name": "bad ip",
            "pattern": f"[ipv4-addr:value = '{IP}']",
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "created": "2024-01-01T00:00:00Z",
            "modified": "2024-01-01T00:00:00Z",
        },
    ]
    result = import_objects(objects)
    observable_id = next(i for i in result.created if i.startswith("ipv4-addr--"))
    import_objects(
        [
            {
                "type": "relationship",
                "id": "relationship--0b7d1e0e-9a51-4a63-8d3f-2d7a8c9b0e11",
                "relationship_type": "based-on",
                "source_ref": INDICATOR,
                "target_ref": observable_id,
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
            }
        ]
    )
    return resolve_ids([INDICATOR])[INDICATOR]

"""Responses are `application/taxii+json;version=2.1`; an Accept header that admits neither it
nor a wildcard gets 406 (as medallion does)."""

from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer

from cti.taxii.errors import TAXII_MEDIA_TYPE


class TaxiiJSONRenderer(JSONRenderer):
    media_type = TAXII_MEDIA_TYPE
    format = "taxii"
    charset = None


def _acceptable(media_range: str) -> bool:
    parts = [p.strip() for p in media_range.split(";")]
    kind = parts[0].lower()
    params = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    try:
        if float(params.get("q", "1")) <= 0:
            return False
    except ValueError:
        return False
    if kind in ("*/*", "application/*"):
        return True
    return kind == "application/taxii+json" and params.get("version", "2.1") == "2.1"


def accepts_taxii(accept: str) -> bool:
    if not accept.strip():
        return True
    return any(_acceptable(r) for r in accept.split(",") if r.strip())


class TaxiiContentNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        if not accepts_taxii(request.META.get("HTTP_ACCEPT", "")):
            raise exceptions.NotAcceptable(f"This server answers with {TAXII_MEDIA_TYPE} only.")
        return renderer, renderer.media_type

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class LenientJSONParser(BaseParser):
    """JSON whatever the declared content type: tcex sends JSON bodies without one."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Request body is not valid JSON: {exc}") from exc

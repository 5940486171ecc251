from rest_framework.renderers import JSONRenderer


class V3JSONRenderer(JSONRenderer):
    """Content-Type exactly `application/json`: tcex compares the header verbatim."""

    media_type = "application/json"
    charset = None

"""ThreatConnect Query Language: parse ``?tql=`` filters and compile them to Django ``Q``.

Resources declare a :class:`TqlSchema` of :class:`Keyword` and register it; list endpoints call
``compile_tql(text, "cases", TqlContext(user=request.user))`` and turn :class:`TqlError` into
HTTP 400. See :mod:`cti.tql.compiler` for the semantics.
"""

from cti.tql.compiler import TqlContext, compile_tql
from cti.tql.errors import TqlError
from cti.tql.keywords import Keyword, KeywordType, Subquery, TqlSchema
from cti.tql.parser import parse_tql
from cti.tql.registry import TqlRegistry, registry
from cti.tql.values import ME

__all__ = [
    "ME",
    "Keyword",
    "KeywordType",
    "Subquery",
    "TqlContext",
    "TqlError",
    "TqlRegistry",
    "TqlSchema",
    "compile_tql",
    "parse_tql",
    "registry",
]

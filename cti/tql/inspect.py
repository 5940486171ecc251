"""Questions about a TQL query that are not about filtering."""

from cti.tql import ast
from cti.tql.parser import parse_tql


def top_level_keywords(text: str) -> set[str]:
    """Lower-cased keywords the query filters on directly (not inside hasX subqueries)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, ast.Predicate):
            found.add(node.keyword.lower())
        elif isinstance(node, ast.Not):
            walk(node.operand)
        elif isinstance(node, ast.And | ast.Or):
            for operand in node.operands:
                walk(operand)

    if text and text.strip():
        walk(parse_tql(text))
    return found

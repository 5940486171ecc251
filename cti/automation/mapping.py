"""Pure helpers: severity and priority words, and case-name templates."""

import re
from collections.abc import Callable

from cases.choices import CasePriorityChoices, CaseSeverityChoices
from cti.automation.choices import SeverityLevel

PRIORITY_WORDS = {
    "critical": CasePriorityChoices.P1,
    "high": CasePriorityChoices.P2,
    "medium": CasePriorityChoices.P3,
    "low": CasePriorityChoices.P4,
}

# `{root}` or `{root.attribute}`; anything else in braces is left as written
PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")
ROOTS = ("incident", "sighting", "indicator", "target", "observable", "automation", "severity")
ROOT_ALIASES = {"system": "target"}


def priority_value(word) -> str | None:
    """'High' / 'high' / 'P2' / 'p2' -> 'P2'; None when it is none of them."""
    if not isinstance(word, str):
        return None
    text = word.strip().lower()
    if text in PRIORITY_WORDS:
        return PRIORITY_WORDS[text].value
    upper = text.upper()
    return upper if upper in CasePriorityChoices.values else None


def severity_value(word) -> str | None:
    """Case severity in any case ('low' -> 'Low'); None when unknown."""
    if not isinstance(word, str):
        return None
    text = word.strip().lower()
    return next((v for v in CaseSeverityChoices.values if v.lower() == text), None)


def level_value(word) -> str | None:
    """An event severity level ('High' -> 'high'); None when unknown."""
    if not isinstance(word, str):
        return None
    text = word.strip().lower()
    return text if text in SeverityLevel.values else None


def level_from_confidence(confidence: int | None) -> str:
    """As the sighting_incident rule: >=90 critical, >=70 high, >=40 medium, else low."""
    value = confidence or 0
    if value >= 90:
        return SeverityLevel.CRITICAL
    if value >= 70:
        return SeverityLevel.HIGH
    if value >= 40:
        return SeverityLevel.MEDIUM
    return SeverityLevel.LOW


def template_roots(template: str) -> set[str]:
    return {ROOT_ALIASES.get(m.group(1), m.group(1)) for m in PLACEHOLDER.finditer(template)}


def render_template(template: str, lookup: Callable[[str, str | None], str]) -> str:
    """Replace each placeholder with lookup(root, attribute) (attribute None for `{root}`)."""

    def replace(match: re.Match) -> str:
        root = ROOT_ALIASES.get(match.group(1), match.group(1))
        if root not in ROOTS:
            return match.group(0)
        return lookup(root, match.group(2))

    return PLACEHOLDER.sub(replace, template)

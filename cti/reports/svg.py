"""The case graph drawn as SVG by hand: one column per object type (a fixed order, threats
on the left, observables and victims on the right), nodes sorted by name within a column.
The same graph always gives the same picture. Inferred edges are dashed and labelled."""

from xml.sax.saxutils import escape, quoteattr

from cti.reports.selectors import CaseGraph, node_label

COLUMN_ORDER = (
    "threat-actor",
    "intrusion-set",
    "campaign",
    "malware",
    "tool",
    "attack-pattern",
    "course-of-action",
    "vulnerability",
    "infrastructure",
    "indicator",
    "incident",
    "report",
    "grouping",
    "note",
    "opinion",
    "observed-data",
)
# after these: observables and anything else alphabetically, then victims
LAST_COLUMNS = ("identity", "location")
COLOURS = {
    "threat-actor": "#c0392b",
    "intrusion-set": "#d35400",
    "campaign": "#e67e22",
    "malware": "#8e44ad",
    "tool": "#9b59b6",
    "attack-pattern": "#2c3e50",
    "indicator": "#2980b9",
    "incident": "#e74c3c",
    "identity": "#27ae60",
    "location": "#16a085",
    "vulnerability": "#f39c12",
}
OBSERVABLE_COLOUR = "#7f8c8d"
OTHER_COLOUR = "#34495e"

COL_WIDTH = 200
ROW_HEIGHT = 70
BAND_COLUMNS = 4
BAND_GAP = 50
MARGIN_X = 120
MARGIN_Y = 60
RADIUS = 14
LABEL_CHARS = 28


def _column_key(stix_type: str) -> tuple[int, str]:
    if stix_type in COLUMN_ORDER:
        return (0, f"{COLUMN_ORDER.index(stix_type):03d}")
    if stix_type in LAST_COLUMNS:
        return (2, f"{LAST_COLUMNS.index(stix_type):03d}")
    return (1, stix_type)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _colour(stix_type: str) -> str:
    if stix_type in COLOURS:
        return COLOURS[stix_type]
    return OTHER_COLOUR if stix_type in COLUMN_ORDER else OBSERVABLE_COLOUR


def _columns(graph: CaseGraph) -> list[list]:
    """One column of nodes per type, in the fixed order, nodes sorted by label."""
    by_type: dict[str, list] = {}
    for node in graph.nodes:
        by_type.setdefault(node.type, []).append(node)
    return [
        sorted(by_type[t], key=lambda n: (node_label(n).lower(), n.stix_id))
        for t in sorted(by_type, key=_column_key)
    ]


def layout(graph: CaseGraph) -> tuple[dict[int, tuple[float, float]], list, int, int]:
    """Node pk -> (x, y) centre, column headings (x, y, type) and the picture's size.

    Columns are laid left to right, at most BAND_COLUMNS in a band; further columns start a
    new band below, so that the picture stays about as wide as a page."""
    positions: dict[int, tuple[float, float]] = {}
    headings = []
    columns = _columns(graph)
    top = MARGIN_Y
    for start in range(0, len(columns), BAND_COLUMNS):
        band = columns[start : start + BAND_COLUMNS]
        for col, nodes in enumerate(band):
            x = MARGIN_X + col * COL_WIDTH
            headings.append((x, top - 32, nodes[0].type))
            for row, node in enumerate(nodes):
                positions[node.pk] = (x, top + row * ROW_HEIGHT)
        top += max(len(nodes) for nodes in band) * ROW_HEIGHT + BAND_GAP
    width = 2 * MARGIN_X + max(min(len(columns), BAND_COLUMNS) - 1, 1) * COL_WIDTH
    height = max(top - BAND_GAP + MARGIN_Y - ROW_HEIGHT + 30, 2 * MARGIN_Y)
    return positions, headings, int(width), int(height)


def _edge(
    start: tuple[float, float], end: tuple[float, float], label: str, inferred: bool, bend: int
) -> list[str]:
    (x1, y1), (x2, y2) = start, end
    # a curve, so that edges within one column and edges both ways do not overlap
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    dx, dy = x2 - x1, y2 - y1
    length = max((dx * dx + dy * dy) ** 0.5, 1.0)
    # longer edges bend more, so that they pass beside the nodes between their ends
    offset = min(20 + 0.18 * length, 90) * bend
    cx, cy = mx - dy / length * offset, my + dx / length * offset
    # stop at the target circle's edge so that the arrow head shows
    shorten = RADIUS / max(_dist(cx, cy, x2, y2), 1.0)
    ex, ey = x2 - (x2 - cx) * shorten, y2 - (y2 - cy) * shorten
    dash = ' stroke-dasharray="6 4"' if inferred else ""
    colour = "#d35400" if inferred else "#555555"
    cls = "edge inferred" if inferred else "edge"
    lx, ly = (mx + cx) / 2, (my + cy) / 2  # the curve's midpoint
    text = f"{label} (inferred)" if inferred else label
    return [
        f'<path class="{cls}" d="M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" '
        f'fill="none" stroke="{colour}" stroke-width="1.4"{dash} marker-end="url(#arrow)"/>',
        f'<text class="edge-label" x="{lx:.1f}" y="{ly - 3:.1f}" font-size="10" '
        f'text-anchor="middle" fill="{colour}">{escape(text)}</text>',
    ]


def _dist(x1: float, y1: float, x2: float, y2: float) -> float:
    return ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5


def graph_svg(graph: CaseGraph, title: str = "") -> str:
    positions, headings, width, height = layout(graph)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="DejaVu Sans, Arial, sans-serif">',
        f"<title>{escape(title or 'Case graph')}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555555"/></marker></defs>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if not graph.nodes:
        out.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            'font-size="14" fill="#777777">No graph objects in this case</text>'
        )
    for x, y, stix_type in headings:
        out.append(
            f'<text class="column" x="{x}" y="{y}" text-anchor="middle" font-size="12" '
            f'font-weight="bold" fill="#333333">{escape(stix_type)}</text>'
        )
    drawn: dict[tuple[int, int], int] = {}
    edges = [
        (r.source_id, r.target_id, r.relationship_type, r.node.is_inferred)
        for r in graph.relationships
    ] + [
        (s.sighting_of_id, s.where_sighted_id, "sighted-in", s.node.is_inferred)
        for s in graph.sightings
    ]
    for source, target, label, inferred in edges:
        if source not in positions or target not in positions or source == target:
            continue
        pair = (min(source, target), max(source, target))
        drawn[pair] = drawn.get(pair, 0) + 1
        bend = drawn[pair] * (1 if source < target else -1)
        out.extend(_edge(positions[source], positions[target], label, inferred, bend))
    for node in graph.nodes:
        x, y = positions[node.pk]
        dash = ' stroke-dasharray="3 2"' if node.is_inferred else ""
        out.append(
            f'<g class="node" data-id={quoteattr(node.stix_id)}>'
            f'<circle cx="{x}" cy="{y}" r="{RADIUS}" fill="{_colour(node.type)}" '
            f'stroke="#222222" stroke-width="1"{dash}/>'
            f'<text x="{x}" y="{y + RADIUS + 13}" text-anchor="middle" font-size="11" '
            f'fill="#111111">{escape(_short(node_label(node)))}</text></g>'
        )
    if graph.truncated:
        out.append(
            f'<text x="10" y="{height - 6}" font-size="10" fill="#c0392b">'
            "Graph truncated: the case holds more objects than are drawn.</text>"
        )
    out.append("</svg>")
    return "\n".join(out)

"""A bar chart of documents per day drawn on the server as SVG (no script, no style: CSP-clean and printable)."""

from __future__ import annotations

from datetime import date
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 220, 40, 36, 12
OUT_FILL, IN_FILL = "#2b6cb0", "#b7791f"


def documents_per_day(days: list[tuple[date, int, int]]) -> str:
    """Side-by-side bars per day: sent (outbound) and received (inbound), each bar titled with its number."""
    peak = max([1] + [max(o, i) for _, o, i in days])
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(1, len(days))
    bar = max(2.0, slot * 0.38)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" class="chart">',
        '<title id="chart-title">Documents per day, last '
        f"{len(days)} days: sent (blue, left bar) and received (amber, right bar)</title>",
        f'<line x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - PAD_BOTTOM}" stroke="#555"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{HEIGHT - PAD_BOTTOM}" text-anchor="end" font-size="11">0</text>',
    ]
    for n, (day, out, inn) in enumerate(days):
        x = PAD_LEFT + n * slot + slot * 0.1
        for offset, value, fill, label in ((0, out, OUT_FILL, "sent"), (bar, inn, IN_FILL, "received")):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{HEIGHT - PAD_BOTTOM - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{fill}"><title>{escape(day.isoformat())}: {value} {label}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" text-anchor="middle" font-size="10">'
            f"{day:%d %b}</text>"
        )
    legend_y = HEIGHT - 6
    parts += [
        f'<rect x="{PAD_LEFT}" y="{legend_y - 9}" width="10" height="10" fill="{OUT_FILL}"/>',
        f'<text x="{PAD_LEFT + 14}" y="{legend_y}" font-size="11">sent (left bar)</text>',
        f'<rect x="{PAD_LEFT + 120}" y="{legend_y - 9}" width="10" height="10" fill="{IN_FILL}"/>',
        f'<text x="{PAD_LEFT + 134}" y="{legend_y}" font-size="11">received (right bar)</text>',
        "</svg>",
    ]
    return "".join(parts)

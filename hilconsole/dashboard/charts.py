"""Charts drawn on the server as inline SVG: readable with no JavaScript at all, and printed as
they are shown. Each takes labelled numbers and returns safe markup."""

from collections.abc import Callable, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT, GAP, LABEL_WIDTH, PLOT_WIDTH = 18, 6, 190, 300
NO_DATA = mark_safe('<p class="chart-empty">No data for this period.</p>')  # noqa: S308 (a constant)
COLORS = ["#417690", "#79aec8", "#d4a017", "#ba2121", "#5b8c5a", "#8e6c8a", "#c47a3d", "#6f6f6f"]


def bars(items: Sequence[tuple[str, float]], *, unit: Callable[[float], str] = str, title: str = "") -> SafeString:
    """Horizontal bars, largest first, each with its label and value."""
    if not items:
        return NO_DATA
    items = sorted(items, key=lambda item: item[1], reverse=True)[:12]
    top = max(value for _, value in items) or 1
    height = len(items) * (BAR_HEIGHT + GAP)
    rows = format_html_join(
        "",
        '<g transform="translate(0,{})"><text x="{}" y="13" text-anchor="end">{}</text>'
        '<rect x="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
        '<text x="{}" y="13">{}</text></g>',
        (
            (index * (BAR_HEIGHT + GAP), LABEL_WIDTH - 6, _short(label), LABEL_WIDTH,
             max(1, round(PLOT_WIDTH * value / top)), BAR_HEIGHT, COLORS[index % len(COLORS)], label, unit(value),
             LABEL_WIDTH + max(1, round(PLOT_WIDTH * value / top)) + 4, unit(value))
            for index, (label, value) in enumerate(items)
        ),
    )  # fmt: skip
    width = LABEL_WIDTH + PLOT_WIDTH + 90
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}" '
        'font-size="12" font-family="sans-serif">{}</svg>',
        title, width, height, width, height, rows,
    )  # fmt: skip


def columns(items: Sequence[tuple[str, float]], *, unit: Callable[[float], str] = str, title: str = "") -> SafeString:
    """Vertical columns in the given order (days), with the first and last labels under them."""
    if not items:
        return NO_DATA
    height, width = 140, 520
    step = width / len(items)
    highest = max(value for _, value in items)
    top = highest or 1  # all zero: flat columns, labelled with the real maximum
    cols = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#417690"><title>{}: {}</title></rect>',
        (
            (f"{index * step + 1:.1f}", f"{height - height * value / top:.1f}", f"{max(step - 2, 1):.1f}",
             f"{height * value / top:.1f}", label, unit(value))
            for index, (label, value) in enumerate(items)
        ),
    )  # fmt: skip
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}" font-size="11" '
        'font-family="sans-serif">{}<text x="0" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>'
        '<text x="{}" y="10" text-anchor="end">max {}</text></svg>',
        title, width, height + 16, width, height + 16, cols, height + 13, items[0][0], width, height + 13,
        items[-1][0], width, unit(highest),
    )  # fmt: skip


def meter(ratio: float, *, alert: float = 0.8) -> SafeString:
    """A budget's use against its cap: green, amber past the alert share, red at the cap."""
    color = "#ba2121" if ratio >= 1 else "#d4a017" if ratio >= alert else "#5b8c5a"
    filled = round(200 * min(ratio, 1))
    return format_html(
        '<svg class="meter" role="img" aria-label="{} used" width="200" height="12" viewBox="0 0 200 12">'
        '<rect width="200" height="12" fill="#eee"/><rect width="{}" height="12" fill="{}"/>'
        '<line x1="{}" x2="{}" y1="0" y2="12" stroke="#333"/></svg>',
        f"{ratio:.0%}", filled, color, round(200 * alert), round(200 * alert),
    )  # fmt: skip


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"

"""Horizontal bar charts as geometry the templates draw as inline SVG (no JavaScript, no styles)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bar:
    label: str
    title: str
    value: float | None
    y: str
    text_y: str
    x: str = "0"
    width: str = "0"
    value_x: str = "0"
    negative: bool = False

    @property
    def shown(self) -> str:
        return "—" if self.value is None else f"{self.value:.2f}"


@dataclass
class Chart:
    bars: list[Bar]
    width: int
    height: int
    zero_x: str
    label_width: int
    axis: list[tuple[str, str]]  # (x, tick label)

    @property
    def has_missing(self) -> bool:
        return any(bar.value is None for bar in self.bars)


def bar_chart(items: list[tuple[str, float | None]], *, low: float = 0.0, high: float = 1.0) -> Chart:
    """Geometry of a horizontal bar chart, drawn by the template as inline SVG.

    Values run from ``low`` to ``high``; a bar starts at 0 and goes left for a
    negative value (alpha can be below 0). A missing value gets no bar and "—".
    """
    label_width, plot_width, row_height, top = 330, 320, 30, 24
    width = label_width + plot_width + 60

    def x_of(value: float) -> float:
        clipped = min(max(value, low), high)
        return label_width + (clipped - low) / (high - low) * plot_width

    zero = x_of(0.0)
    bars = []
    for index, (label, value) in enumerate(items):
        y = top + index * row_height
        short = label if len(label) <= 44 else label[:43] + "…"
        bar = Bar(label=short, title=label, value=value, y=f"{y + 5:.0f}", text_y=f"{y + 19:.0f}")
        if value is not None:
            end = x_of(value)
            bar.x = f"{min(zero, end):.1f}"
            bar.width = f"{max(abs(end - zero), 1.0):.1f}"
            bar.value_x = f"{max(zero, end) + 6:.1f}"
            bar.negative = value < 0
        else:
            bar.value_x = f"{zero + 6:.1f}"
        bars.append(bar)
    ticks = [low, 0.0, 0.5, high] if low < 0 else [low, 0.5, high]
    axis = [(f"{x_of(tick):.1f}", f"{tick:g}") for tick in dict.fromkeys(ticks)]
    return Chart(bars, width, top + len(items) * row_height + 24, f"{zero:.1f}", label_width, axis)


# --- Stacked bars over periods (the stance statistics) ---------------------------


@dataclass
class Segment:
    """One series' part of a period's bar."""

    y: str
    height: str
    colour: str
    title: str  # the segment's tooltip: "2023-01 · Oppose: 3"


@dataclass
class Column:
    name: str
    x: str
    width: str
    centre: str
    total: int
    show_name: bool
    segments: list[Segment]


@dataclass
class StackedChart:
    columns: list[Column]
    series: list[tuple[str, str]]  # (name, colour), bottom to top
    width: int
    height: int
    left: int
    plot_top: int
    plot_bottom: int
    ticks: list[tuple[str, str]]  # (y, count)

    @property
    def right(self) -> int:
        return self.width - 8

    @property
    def name_y(self) -> int:
        return self.plot_bottom + 18


def nice_ceiling(value: int) -> tuple[int, int]:
    """A round top for the axis at or above ``value`` and its tick step (1, 2 or 5 × 10ⁿ), about four ticks."""
    if value <= 0:
        return 1, 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor * 4:
                size = step * factor
                return -(-value // size) * size, size
        step *= 10


def stacked_bar_chart(
    names: list[str], series: list[tuple[str, str]], values: list[list[int]], *, plot_height: int = 200
) -> StackedChart:
    """Geometry of a vertical stacked bar chart: one bar per name (a period), one segment per series.

    The bars are at least 14 units wide and the chart at least 480, so a long
    range scrolls on a phone rather than shrinking to nothing; period names are
    thinned out (every k-th) so that they never overlap.
    """
    left, top, bottom_margin = 44, 12, 28
    count = max(len(names), 1)
    step = max(14.0, min(80.0, 900 / count))
    width = max(480, int(left + count * step + 16))
    plot_bottom = top + plot_height
    longest = max((len(name) for name in names), default=4)
    every = max(1, -(-int(longest * 7 + 8) // int(step)))
    highest = max((sum(row) for row in values), default=0)
    ceiling, tick_step = nice_ceiling(highest)

    def y_of(count_: float) -> float:
        return plot_bottom - count_ / ceiling * plot_height

    columns = []
    for index, (name, row) in enumerate(zip(names, values, strict=True)):
        x = left + index * step + step * 0.14
        bar_width = step * 0.72
        segments, base = [], 0
        for (series_name, colour), value in zip(series, row, strict=True):
            if value:
                segments.append(
                    Segment(
                        y=f"{y_of(base + value):.1f}",
                        height=f"{y_of(base) - y_of(base + value):.1f}",
                        colour=colour,
                        title=f"{name} · {series_name}: {value}",
                    )
                )
            base += value
        columns.append(
            Column(
                name=name,
                x=f"{x:.1f}",
                width=f"{bar_width:.1f}",
                centre=f"{x + bar_width / 2:.1f}",
                total=base,
                show_name=index % every == 0,
                segments=segments,
            )
        )
    ticks = [(f"{y_of(tick):.1f}", f"{tick:,}") for tick in range(0, ceiling + 1, tick_step)]
    return StackedChart(columns, series, width, plot_bottom + bottom_margin, left, top, plot_bottom, ticks)

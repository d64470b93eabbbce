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

"""PNG charts of the reports, drawn with matplotlib's object API on the Agg backend.

No pyplot: each chart is a `matplotlib.figure.Figure` of its own, rendered to bytes and
dropped, so nothing is left in global state between calls (safe in a long-running bot).
The functions take ready, translated labels: the Telegram layer words them.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLOURS = ("#2f6db5", "#e08a2c", "#4f9d57", "#c0504d", "#8064a2", "#4bacc6")
SIZE = (8.0, 4.5)
DPI = 100
# Charts are drawn in worker threads (asyncio.to_thread); matplotlib's shared caches (fonts,
# text layout) are not documented as thread-safe, so one chart is drawn at a time.
_DRAWING = threading.Lock()


def _serialised(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    @functools.wraps(draw)
    def locked(*args: object, **kwargs: object) -> bytes:
        with _DRAWING:
            return draw(*args, **kwargs)

    return locked


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return buffer.getvalue()


@_serialised
def bar_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    horizontal: bool = False,
    percent: bool = False,
) -> bytes:
    """Grouped bars: one group per label, one bar per series (a legend when several)."""
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    count = max(len(series), 1)
    width = 0.8 / count
    positions = list(range(len(labels)))
    for index, (name, values) in enumerate(series.items()):
        shifted = [p - 0.4 + width * (index + 0.5) for p in positions]
        values = [float(v) for v in values]
        colour = COLOURS[index % len(COLOURS)]
        if horizontal:
            axes.barh(shifted, values, height=width, label=name, color=colour)
        else:
            axes.bar(shifted, values, width=width, label=name, color=colour)
    if horizontal:
        axes.set_yticks(positions, list(labels))
        axes.invert_yaxis()
        axes.grid(axis="x", alpha=0.3)
    else:
        axes.set_xticks(positions, list(labels), rotation=30 if len(labels) > 6 else 0)
        axes.grid(axis="y", alpha=0.3)
    if percent:
        (axes.xaxis if horizontal else axes.yaxis).set_major_formatter("{x:.0f} %")
    if len(series) > 1:
        axes.legend()
    axes.set_title(title)
    return _png(figure)


@_serialised
def pareto_chart(
    title: str, labels: Sequence[str], values: Sequence[float], cumulative: Sequence[float]
) -> bytes:
    """Bars of the values with the cumulative share (0..1) as a line on a second axis."""
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    axes.bar(positions, [float(v) for v in values], color=COLOURS[0])
    axes.set_xticks(positions, list(labels), rotation=30 if len(labels) > 5 else 0)
    share = axes.twinx()
    share.plot(positions, [c * 100 for c in cumulative], color=COLOURS[1], marker="o")
    share.set_ylim(0, 105)
    share.yaxis.set_major_formatter("{x:.0f} %")
    for limit in (80, 95):
        share.axhline(limit, color="grey", linestyle="--", linewidth=0.8)
    axes.set_title(title)
    return _png(figure)


@_serialised
def heatmap(
    title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[int]]
) -> bytes:
    """A grid of counts, each cell labelled with its number."""
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    axes.imshow([[float(v) for v in row] for row in values], cmap="Blues", aspect="auto")
    axes.set_xticks(range(len(columns)), list(columns))
    axes.set_yticks(range(len(rows)), list(rows))
    peak = max((v for row in values for v in row), default=0)
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            dark = peak and value > peak / 2
            axes.text(
                c, r, str(value), ha="center", va="center", color="white" if dark else "black"
            )
    axes.set_title(title)
    return _png(figure)

"""Plain-text, aligned tables for the benchmark report."""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence


def fmt(value: Any, digits: int = 0) -> str:
    """A number with ``digits`` decimals, "-" for None/NaN; anything else as str."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def spread(
    stats: Any, digits: int = 0, scale: float = 1.0, limit: Optional[float] = None
) -> str:
    """``median [min-max]`` of a summary() dict, values multiplied by ``scale``; with a
    ``limit`` (in the scaled unit) the median judged against it, shown by :func:`against`."""
    if not stats or not stats.get("n"):
        return "-"
    median = stats["median"] * scale
    shown = fmt(median, digits) if limit is None else against(median, limit, digits)
    return f"{shown} [{fmt(stats['min'] * scale, digits)}-{fmt(stats['max'] * scale, digits)}]"


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")


def against(value: float, limit: float, digits: int) -> str:
    """``value`` as :func:`fmt` shows it with ``digits`` decimals, or with more (up to 6) where
    that would show it equal to ``limit`` though it is not: a figure next to its verdict never
    reads "1.20 MISS" against a limit of 1.2."""
    if not math.isnan(value):
        while digits < 6 and value != limit and f"{value:.{digits}f}" == f"{limit:.{digits}f}":
            digits += 1
    return fmt(value, digits)


def verdict(value: float, limit: float) -> str:
    """Return "ok" or "MISS" for ``value`` against an upper ``limit``."""
    if math.isnan(value):
        return "n/a"
    return "ok" if value <= limit else "MISS"


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns right-aligned (the first left-aligned), a title line and a rule."""
    cells: List[List[str]] = [list(headers)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = [title]
    for index, row in enumerate(cells):
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        out.append("  ".join(parts).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)

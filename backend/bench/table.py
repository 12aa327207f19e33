"""The one table `make bench` prints, in Markdown: each figure, what it measured, its target,
the baseline measured in the same run, and the ratio of the two.

stack_bench.py prints the header and its rows; the benchmarks run after it print rows only,
so the output of `make bench` is a single table.
"""

from __future__ import annotations

COLUMNS = ("figure", "measured", "target", "baseline", "ratio")


def header() -> str:
    return row(*COLUMNS) + "\n" + row(*("---" for _ in COLUMNS))


def row(figure: str, measured: str, target: str = "", baseline: str = "", ratio: str = "") -> str:
    return f"| {figure} | {measured} | {target} | {baseline} | {ratio} |"


def verdict(target: str, met: bool) -> str:
    """The target with whether this run met it."""
    return f"{target} ({'met' if met else 'MISSED'})"


def times(measured: float, baseline: float) -> str:
    return f"{measured / baseline:.2f}×"

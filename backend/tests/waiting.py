"""Waiting on a condition with a timeout, never for a fixed time: the one poll loop of the
tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], what: str, timeout_s: float = 30.0, interval_s: float = 0.05
) -> T:
    """Call `condition` until it returns something truthy, and return that; fail naming `what`
    once `timeout_s` has passed. `interval_s` is the pause between two calls, not a wait."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)

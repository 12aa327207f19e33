"""How many uvicorn worker processes the image starts: `python -m chat_backend.api.workers`
prints the number (the Dockerfile's start command passes it to `--workers`).

WEB_CONCURRENCY when it is set (the Compose file and the Kubernetes manifests set it, so that
workers x connections per worker x replicas fits PostgreSQL's max_connections: see the README).
Otherwise one per CPU the container may use: its cgroup's CPU quota, rounded up, when there
is one, never more than the CPUs it can run on. `nproc` alone counts the node's cores: on a
16-core node a pod limited to one CPU started 16 workers and was killed for memory in a loop.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
MAX_WORKERS = 64


def cgroup_cpu_quota(root: Path = CGROUP) -> float | None:
    """The CPUs the cgroup may use (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), or None
    when it has no quota (or there is no cgroup file to read)."""
    try:
        quota, _, period = (root / "cpu.max").read_text().partition(" ")
    except OSError:
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text()
        except OSError:
            return None
    quota = quota.strip()
    if quota in ("max", "-1") or not period.strip():
        return None
    return int(quota) / int(period)


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(environ: Mapping[str, str], quota: float | None, cpus: int) -> int:
    """The number of workers; ValueError with a one-line message for a bad WEB_CONCURRENCY."""
    configured = environ.get("WEB_CONCURRENCY", "").strip()
    if configured:
        if not configured.isdigit() or not 1 <= int(configured) <= MAX_WORKERS:
            raise ValueError(
                f"WEB_CONCURRENCY={configured!r} is not a number of workers: set it to a whole "
                f"number from 1 to {MAX_WORKERS}, e.g. 2, or unset it to use the CPU quota"
            )
        return int(configured)
    if quota is None:
        return max(1, cpus)
    return max(1, min(cpus, math.ceil(quota)))


def main() -> None:
    try:
        print(worker_count(os.environ, cgroup_cpu_quota(), usable_cpus()))
    except ValueError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

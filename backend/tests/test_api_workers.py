"""The image's worker count: WEB_CONCURRENCY, else the cgroup's CPU quota (v2 and v1 files,
written here as the kernel shows them), never the node's core count alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chat_backend.api.workers import cgroup_cpu_quota, worker_count


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
    ids=["v2-limited", "v2-unlimited", "v1-limited", "v1-unlimited", "none"],
)
def test_the_cgroup_quota_is_read(tmp_path: Path, files: dict[str, str], quota: float) -> None:
    assert cgroup_cpu_quota(cgroup(tmp_path, files)) == quota


def test_a_pod_limited_to_one_cpu_on_a_16_core_node_gets_one_worker() -> None:
    assert worker_count({}, quota=1.0, cpus=16) == 1
    assert worker_count({}, quota=1.5, cpus=16) == 2
    assert worker_count({}, quota=0.1, cpus=16) == 1


def test_without_a_quota_one_worker_per_usable_cpu() -> None:
    assert worker_count({}, quota=None, cpus=4) == 4
    assert worker_count({}, quota=8.0, cpus=2) == 2


def test_web_concurrency_wins() -> None:
    assert worker_count({"WEB_CONCURRENCY": "3"}, quota=1.0, cpus=16) == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "65"])
def test_a_bad_web_concurrency_is_one_line_and_exit_2(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chat_backend.api.workers"],
        env={"WEB_CONCURRENCY": value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"WEB_CONCURRENCY={value!r}" in result.stderr

"""compose.yaml mounts the project read-only where the migrator reads the checked-out branch
(CHECKOUT_DIR), and `docker compose config` works from a copy of the tree without `.git` (the
end-to-end tests' copies, a downloaded archive) without creating one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.deploy_support import REPO_ROOT


def services_of(directory: Path) -> dict[str, Any]:
    inherited = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    completed = subprocess.run(
        ["docker", "compose", "--file", "compose.yaml", "config", "--format", "json"],
        cwd=directory,
        env=inherited,
        capture_output=True,
        text=True,
        check=True,
    )
    services: dict[str, Any] = json.loads(completed.stdout)["services"]
    return services


def test_both_roles_see_the_checkout_read_only_in_a_copy_without_git(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "compose.yaml", tmp_path / "compose.yaml")

    services = services_of(tmp_path)

    for role in ("migrator", "backend"):
        [checkout] = [v for v in services[role]["volumes"] if v["target"] == "/app/checkout"]
        assert (checkout["type"], checkout["source"], checkout["read_only"]) == (
            "bind",
            str(tmp_path),
            True,
        )
        assert services[role]["environment"]["CHECKOUT_DIR"] == "/app/checkout"
        assert services[role]["environment"]["PARKED_BRANCHES_MAX"] == "5"
    assert not (tmp_path / ".git").exists()

"""The dev container's configuration (.devcontainer/): the `dev` service as Compose reads it
beside compose.yaml, the image stage it builds, and what devcontainer.json asks of the editor.
tests/e2e/test_devcontainer.py brings it up with the Dev Containers CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEVCONTAINER = REPO_ROOT / ".devcontainer"
DOCKERFILE = REPO_ROOT / "backend" / "Dockerfile"
# What the dev service sets on top of the migrator's environment, and why (see its file).
DEV_ONLY_VARIABLES = {"PYTHONPATH", "TEST_DATABASE_URL"}


def devcontainer_json() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((DEVCONTAINER / "devcontainer.json").read_text())
    return config


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """compose.yaml and the dev container's file as Compose merges them, with no .env."""
    empty_env_file = tmp_path_factory.mktemp("env") / "empty.env"
    empty_env_file.touch()
    files = [arg for name in devcontainer_json()["dockerComposeFile"] for arg in ("-f", name)]
    command = ["docker", "compose", *files, "--env-file", str(empty_env_file)]
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name in {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"}
    }
    completed = subprocess.run(
        [*command, "config", "--format", "json"],
        cwd=DEVCONTAINER,
        env=inherited,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(completed.stdout)["services"]
    return found


def test_the_editor_runs_in_the_dev_service_beside_db_and_migrator() -> None:
    config = devcontainer_json()
    assert config["dockerComposeFile"] == ["../compose.yaml", "compose.yaml"]
    assert (config["service"], config["runServices"]) == ("dev", ["dev"])
    assert config["workspaceFolder"] == "/workspace"
    assert config["remoteUser"] == "app"


def test_nothing_is_downloaded_outside_the_dockerfile() -> None:
    assert "features" not in devcontainer_json(), "install tools in backend/Dockerfile's dev stage"


def test_ports_and_extensions() -> None:
    config = devcontainer_json()
    assert config["forwardPorts"] == [8000, "db:5432"]
    assert set(config["customizations"]["vscode"]["extensions"]) == {
        "ms-python.python",
        "charliermarsh.ruff",
        "ms-python.mypy-type-checker",
    }


def test_dev_waits_for_the_migrator_so_the_database_is_at_head(services: dict[str, Any]) -> None:
    assert services["dev"]["depends_on"]["migrator"]["condition"] == (
        "service_completed_successfully"
    )


def test_dev_shares_the_migrators_environment(services: dict[str, Any]) -> None:
    dev, migrator = services["dev"]["environment"], services["migrator"]["environment"]
    shared = {name: value for name, value in dev.items() if name not in DEV_ONLY_VARIABLES}
    assert shared == {name: value for name, value in migrator.items() if name != "PYTHONPATH"}


def test_tests_inside_use_the_stacks_db_with_its_superuser(services: dict[str, Any]) -> None:
    db = services["db"]["environment"]
    assert services["dev"]["environment"]["TEST_DATABASE_URL"] == (
        f"postgresql://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/postgres"
    )


def test_the_repository_is_the_workspace_and_the_source_path(services: dict[str, Any]) -> None:
    dev = services["dev"]
    mounts = {mount["target"]: mount["source"] for mount in dev["volumes"]}
    assert Path(mounts["/workspace"]) == REPO_ROOT
    assert dev["environment"]["PYTHONPATH"] == "/workspace/backend/src"


def test_dev_builds_the_dev_stage_under_a_tag_of_its_own(services: dict[str, Any]) -> None:
    dev, backend = services["dev"], services["backend"]
    assert dev["build"]["context"] == backend["build"]["context"]
    assert dev["build"]["args"] == backend["build"]["args"]  # the same ${PYTHON_IMAGE}
    assert dev["build"]["target"] == "dev"
    assert "target" not in backend["build"]
    assert dev["image"] != backend["image"], "the dev build would replace the backend's image"


def test_the_runtime_image_stays_the_dockerfiles_default() -> None:
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert stages[0] == ("${PYTHON_IMAGE}", "base")
    assert ("base", "dev") in stages
    assert stages[-1] == ("base", "runtime"), "the last stage is what compose.yaml builds"


def test_the_dev_image_has_the_compose_version_ci_pins() -> None:
    dockerfile_pin = re.search(r"^ARG COMPOSE_VERSION=(\S+)$", DOCKERFILE.read_text(), re.M)
    ci_pin = re.search(
        r"^readonly version=(\S+)$", (REPO_ROOT / ".ci" / "compose-plugin.sh").read_text(), re.M
    )
    assert dockerfile_pin is not None
    assert ci_pin is not None
    assert dockerfile_pin[1] == ci_pin[1]

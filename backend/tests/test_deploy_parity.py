"""Compose and Kubernetes run the same image with the same settings: the migrator Job and the
backend Deployment against Compose's `migrator` and `backend` (as `docker compose config` reads
compose.yaml), and every name against Settings and .env.example, so the two cannot drift."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chat_backend.config import ConfigError, Settings, load_settings
from tests.deploy_support import (
    IMAGE,
    REPO_ROOT,
    Manifest,
    containers,
    environment_names,
    example_secret,
    one,
    rendered,
)

COMPOSE = ["docker", "compose", "--file", "compose.yaml"]
# Compose-only: it puts the mounted backend/src first; the cluster runs the code in the image.
# Branch data is local development's: production never parks or swaps a database.
COMPOSE_ONLY = {"PYTHONPATH", "CHECKOUT_DIR", "PARKED_BRANCHES_MAX"}
# Compose sets it (db) for the containers; .env.example says never to set it there.
NOT_IN_ENV_EXAMPLE = {"POSTGRES_HOST"}


def compose_services(tmp_path: Path, **variables: str) -> dict[str, Any]:
    """compose.yaml as Compose reads it with only `variables` set (no .env, no shell's)."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.touch()
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name in {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"}
    }
    completed = subprocess.run(
        [*COMPOSE, "--env-file", str(empty_env_file), "config", "--format", "json"],
        cwd=REPO_ROOT,
        env={**inherited, **variables},
        capture_output=True,
        text=True,
        check=True,
    )
    services: dict[str, Any] = json.loads(completed.stdout)["services"]
    return services


def workloads() -> dict[str, Manifest]:
    manifests = rendered()
    return {"migrator": one(manifests, "Job"), "backend": one(manifests, "Deployment")}


def test_each_container_gets_the_compose_services_variable_names(tmp_path: Path) -> None:
    services = compose_services(tmp_path)
    sources = [*rendered(), example_secret()]
    for service, workload in workloads().items():
        compose_names = set(services[service]["environment"]) - COMPOSE_ONLY
        for container in containers(workload):
            assert environment_names(container, sources) == compose_names, container["name"]


def test_every_variable_is_a_setting_and_in_env_example() -> None:
    sources = [one(rendered(), "ConfigMap"), example_secret()]
    names = {
        name
        for source in sources
        for name in {**source.get("data", {}), **source.get("stringData", {})}
    }
    settings = {field.upper() for field in Settings.model_fields}
    assert names <= settings, f"not a setting: {sorted(names - settings)}"
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (REPO_ROOT / ".env.example").read_text(), re.M)
    )
    assert names - NOT_IN_ENV_EXAMPLE <= documented


def test_the_migrator_job_runs_the_compose_migrators_command(tmp_path: Path) -> None:
    [migrate] = containers(workloads()["migrator"])
    assert migrate["command"] == compose_services(tmp_path)["migrator"]["command"]


def test_one_image_for_both_roles_in_both_worlds(tmp_path: Path) -> None:
    services = compose_services(tmp_path, BACKEND_IMAGE=IMAGE)
    assert {services[name]["image"] for name in ("migrator", "backend")} == {IMAGE}
    cluster = {c["image"] for workload in workloads().values() for c in containers(workload)}
    assert cluster == {IMAGE}


def test_by_default_both_worlds_name_compose_s_local_build(tmp_path: Path) -> None:
    services = compose_services(tmp_path)
    manifests = rendered(image=None)
    cluster = {
        container["image"]
        for kind in ("Job", "Deployment")
        for container in containers(one(manifests, kind))
    }
    assert cluster == {services["backend"]["image"]} == {services["migrator"]["image"]}


def test_the_example_secret_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in list(os.environ):
        if name.startswith("POSTGRES_") or name in {"DATABASE_URL", "APP_ENV"}:
            monkeypatch.delenv(name)
    settings = {**one(rendered(), "ConfigMap")["data"], **example_secret()["stringData"]}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert refused.value.problems == [
        "POSTGRES_PASSWORD: an empty or placeholder password is refused in production"
    ]
    # ... and with a real password, the rest of the example is valid as it stands.
    monkeypatch.setenv("POSTGRES_PASSWORD", "a-real-password-from-the-secret-store")
    assert load_settings().app_env == "production"

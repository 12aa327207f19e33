"""deploy/kubernetes as `make k8s IMAGE=...` prints it: valid against the Kubernetes schemas,
every container on that image, non-root on a read-only root filesystem, and the probes and the
init container's command real parts of the package."""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from kubernetes_validate.utils import ValidationError  # type: ignore[import-untyped]
from sqlalchemy import URL

from chat_backend.api import create_app
from chat_backend.deploy.manifests import render
from tests.api_support import CODE, settings_for
from tests.deploy_support import (
    DEPLOY_DIR,
    IMAGE,
    REPO_ROOT,
    Manifest,
    containers,
    example_secret,
    one,
    pod_spec,
    rendered,
)

# The newest minor kubernetes-validate ships; raise it with that package (backend/pyproject.toml).
KUBERNETES_VERSION = "1.37"
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def make_k8s(image: str | None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"IMAGE", "MAKEFLAGS"}}
    if image is not None:
        environment["IMAGE"] = image
    return subprocess.run(
        ["make", "--no-print-directory", "k8s"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def validate(manifest: Manifest) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.fixture(scope="module")
def printed() -> list[Manifest]:
    result = make_k8s(IMAGE)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return list(yaml.safe_load_all(result.stdout))


def test_make_k8s_prints_manifests_that_pass_the_kubernetes_schemas(
    printed: list[Manifest],
) -> None:
    assert [manifest["kind"] for manifest in printed] == [
        "ConfigMap",
        "Job",
        "Deployment",
        "Service",
    ]
    for manifest in printed:
        validate(manifest)
    assert printed == rendered()


def test_the_schemas_catch_a_misspelt_field() -> None:
    deployment = copy.deepcopy(one(rendered(), "Deployment"))
    backend = pod_spec(deployment)["containers"][0]
    backend["readynessProbe"] = backend.pop("readinessProbe")
    with pytest.raises(ValidationError, match="readynessProbe"):
        validate(deployment)


def test_the_example_secret_passes_the_schemas_and_is_never_printed(
    printed: list[Manifest],
) -> None:
    validate(example_secret())
    # Applied again with a release, it would put the placeholder over the real password.
    assert "Secret" not in {manifest["kind"] for manifest in printed}


def test_every_container_runs_the_image_given(printed: list[Manifest]) -> None:
    workloads = [one(printed, "Job"), one(printed, "Deployment")]
    images = {container["image"] for workload in workloads for container in containers(workload)}
    assert images == {IMAGE}


def test_every_pod_runs_as_the_images_user_on_a_read_only_root(printed: list[Manifest]) -> None:
    image_uid = re.search(r"useradd .*--uid (\d+)", (REPO_ROOT / "backend/Dockerfile").read_text())
    assert image_uid is not None
    for workload in (one(printed, "Job"), one(printed, "Deployment")):
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(image_uid[1])
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for container in containers(workload):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            [tmp] = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]]
            assert {"requests", "limits"} <= set(container["resources"])


def test_the_job_outlives_a_migrations_statement_timeout(printed: list[Manifest]) -> None:
    job = one(printed, "Job")
    statement_timeout_ms = int(one(printed, "ConfigMap")["data"]["MIGRATION_STATEMENT_TIMEOUT_MS"])
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["activeDeadlineSeconds"] * 1000 > statement_timeout_ms
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


def test_the_probes_ask_routes_the_app_has(printed: list[Manifest]) -> None:
    never_connected = URL.create("postgresql+psycopg2", host="127.0.0.1", database="unused")
    app = create_app(settings_for(never_connected), CODE)  # connects only when started
    paths = set(app.openapi()["paths"])
    backend = pod_spec(one(printed, "Deployment"))["containers"][0]
    assert backend["readinessProbe"]["httpGet"]["path"] == "/health"
    assert backend["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert {backend[probe]["httpGet"]["path"] for probe in PROBES} <= paths


def test_the_probes_pass_the_apps_host_check(printed: list[Manifest]) -> None:
    """The kubelet probes the pod's IP, a host the app refuses (DNS rebinding): each probe
    names a host the app answers to by default, and the app answers it."""
    never_connected = URL.create("postgresql+psycopg2", host="127.0.0.1", database="unused")
    app = create_app(settings_for(never_connected), CODE)  # /livez never connects
    backend = pod_spec(one(printed, "Deployment"))["containers"][0]

    async def get(headers: dict[str, str]) -> int:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return (await client.get("/livez", headers=headers)).status_code

    def livez(headers: dict[str, str]) -> int:
        return asyncio.run(get(headers))

    assert livez({"Host": "10.1.2.3:8000"}) == 400
    for probe in PROBES:
        headers = {h["name"]: h["value"] for h in backend[probe]["httpGet"]["httpHeaders"]}
        assert livez(headers) == 200, probe


def test_the_init_container_runs_the_wait_command_of_the_db_layer(printed: list[Manifest]) -> None:
    [wait] = pod_spec(one(printed, "Deployment"))["initContainers"]
    python, flag, module, *_ = wait["command"]
    assert (python, flag) == ("python", "-m")
    assert module.startswith("chat_backend.db.")
    assert importlib.util.find_spec(module) is not None


def test_make_k8s_without_an_image_says_how_to_give_one() -> None:
    result = make_k8s(None)
    assert result.returncode != 0
    assert "IMAGE is required: make k8s IMAGE=registry.example.com/chat-backend:1.0" in (
        result.stderr
    )


def test_make_k8s_refuses_a_bad_image_with_one_line() -> None:
    result = make_k8s("example/chat backend:1.0")
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert line.startswith("error: IMAGE: 'example/chat backend:1.0' is not an image reference")


def test_a_kustomization_field_make_k8s_does_not_render_is_refused(tmp_path: Path) -> None:
    copied = Path(shutil.copytree(DEPLOY_DIR, tmp_path / "kubernetes"))
    with (copied / "kustomization.yaml").open("a") as kustomization:
        kustomization.write("namePrefix: staging-\n")
    with pytest.raises(ValueError, match="namePrefix not rendered by `make k8s`"):
        render(copied)


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (and the kustomize in it) is not installed"
)
def test_make_k8s_prints_what_kubectl_kustomize_builds(
    printed: list[Manifest], tmp_path: Path
) -> None:
    copied = Path(shutil.copytree(DEPLOY_DIR, tmp_path / "kubernetes"))
    kustomization_file = copied / "kustomization.yaml"
    kustomization = yaml.safe_load(kustomization_file.read_text())
    # What `kustomize edit set image chat-backend=example/chat-backend:1.0` writes.
    kustomization["images"] = [
        {"name": "chat-backend", "newName": "example/chat-backend", "newTag": "1.0"}
    ]
    kustomization_file.write_text(yaml.safe_dump(kustomization))
    built = subprocess.run(
        ["kubectl", "kustomize", str(copied)], capture_output=True, text=True, check=True
    ).stdout

    def by_name(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
        # kustomize orders by kind; `make k8s` keeps the order of `resources:`.
        return {(m["kind"], m["metadata"]["name"]): m for m in manifests}

    assert by_name(list(yaml.safe_load_all(built))) == by_name(printed)

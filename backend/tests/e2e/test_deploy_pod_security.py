"""The image under the pod security of deploy/kubernetes, on the real `docker compose` (no
cluster needed): the root filesystem read-only, the manifests' numeric user, no capabilities,
no privilege escalation, and only their emptyDir mounts writable. The migrator migrates, the
init container's command sees head, and the backend turns healthy, in production mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy_support import Manifest, one, pod_spec, rendered
from tests.e2e.compose_project import ComposeProject

OVERRIDE = "compose.pod-security.yaml"


def as_compose(workload: Manifest, container: Manifest) -> dict[str, Any]:
    """The container's security settings, said in Compose's words."""
    pod = pod_spec(workload)
    security = container["securityContext"]
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    user = pod["securityContext"]
    return {
        "user": f"{user['runAsUser']}:{user['runAsGroup']}",
        "read_only": security["readOnlyRootFilesystem"],
        "cap_drop": security["capabilities"]["drop"],
        "security_opt": [
            f"no-new-privileges:{str(not security['allowPrivilegeEscalation']).lower()}"
        ],
        "tmpfs": [
            mount["mountPath"] for mount in container["volumeMounts"] if mount["name"] in empty_dirs
        ],
    }


def test_the_image_runs_under_the_manifests_pod_security(
    project: ComposeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = rendered()
    job, deployment = one(manifests, "Job"), one(manifests, "Deployment")
    [migrate] = pod_spec(job)["containers"]
    [backend] = pod_spec(deployment)["containers"]
    override = {
        "services": {
            "migrator": as_compose(job, migrate),
            "backend": as_compose(deployment, backend),
        }
    }
    (project.directory / OVERRIDE).write_text(json.dumps(override))  # JSON is YAML
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("POSTGRES_PASSWORD", "not-a-placeholder-e2e")
    files = ("--file", "compose.yaml", "--file", OVERRIDE)

    project.compose(*files, "up", "--build", "--wait")

    [wait] = pod_spec(deployment)["initContainers"]
    waited = project.compose(*files, "run", "--rm", "--no-deps", "migrator", *wait["command"])
    assert "The database is at head" in waited.stdout
    assert project.health().json()["status"] == "ok"
    written = project.compose(*files, "exec", "-T", "backend", "touch", "/app/written", check=False)
    assert "Read-only file system" in written.stderr

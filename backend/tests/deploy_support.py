"""What the Kubernetes tests share: the manifests of deploy/kubernetes, rendered as `make k8s`
renders them, and the containers and environment names they give each pod."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from chat_backend.deploy.images import ImageReference
from chat_backend.deploy.manifests import render

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy" / "kubernetes"
EXAMPLE_SECRET = DEPLOY_DIR / "secret.example.yaml"
# The image of the README's example.
IMAGE = "example/chat-backend:1.0"

Manifest = dict[str, Any]


def rendered(image: str | None = IMAGE) -> list[Manifest]:
    return render(DEPLOY_DIR, ImageReference.parse(image) if image else None)


def example_secret() -> Manifest:
    secret: Manifest = yaml.safe_load(EXAMPLE_SECRET.read_text())
    return secret


def one(manifests: list[Manifest], kind: str) -> Manifest:
    [found] = [manifest for manifest in manifests if manifest["kind"] == kind]
    return found


def pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest["spec"]["template"]["spec"]
    return spec


def containers(manifest: Manifest) -> Iterator[Manifest]:
    """The init and app containers of a Job's or a Deployment's pods."""
    spec = pod_spec(manifest)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def environment_names(container: Manifest, sources: list[Manifest]) -> set[str]:
    """The variables `container` gets: its `env`, and every key of the ConfigMaps and Secrets
    its `envFrom` names (found among `sources`)."""
    names = {variable["name"] for variable in container.get("env", [])}
    for source in container.get("envFrom", []):
        [(ref, target)] = source.items()
        kind = {"configMapRef": "ConfigMap", "secretRef": "Secret"}[ref]
        [manifest] = [
            manifest
            for manifest in sources
            if manifest["kind"] == kind and manifest["metadata"]["name"] == target["name"]
        ]
        names |= set(manifest.get("data", {})) | set(manifest.get("stringData", {}))
    return names

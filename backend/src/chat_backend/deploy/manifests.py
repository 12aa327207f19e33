"""Render a kustomization directory as kustomize would for what it holds here: the files of
`resources:`, in their order, with `images:` applied.

Anything else in kustomization.yaml is refused by name, so that `make k8s` never prints less
than `kubectl apply -k` would apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chat_backend.deploy.images import ImageOverride, ImageReference, set_images

KUSTOMIZATION = "kustomization.yaml"
UNDERSTOOD = {"apiVersion", "kind", "resources", "images"}
# The image name the manifests use for the backend; `make k8s IMAGE=...` replaces it.
BACKEND_IMAGE = "chat-backend"


def render(directory: Path, image: ImageReference | None = None) -> list[dict[str, Any]]:
    """The directory's resources, with `image` (when given) as the backend's image."""
    kustomization = _load_kustomization(directory)
    overrides = [ImageOverride.from_entry(entry) for entry in kustomization.get("images", [])]
    if image is not None:
        overrides = [o for o in overrides if o.name != BACKEND_IMAGE]
        overrides.append(ImageOverride.setting(BACKEND_IMAGE, image))
    documents = [
        document
        for resource in kustomization.get("resources", [])
        for document in _read_yaml(directory / resource)
        if document is not None
    ]
    for document in documents:
        set_images(document, overrides)
    return documents


def dump(documents: list[dict[str, Any]]) -> str:
    """One YAML stream, as `kubectl apply -f -` reads it."""
    return yaml.safe_dump_all(documents, sort_keys=False, width=100, explicit_start=True)


def _load_kustomization(directory: Path) -> dict[str, Any]:
    path = directory / KUSTOMIZATION
    if not path.is_file():
        raise ValueError(
            f"{str(path)!r} does not exist: point at a directory with a {KUSTOMIZATION}"
        )
    documents = _read_yaml(path)
    kustomization = documents[0] if len(documents) == 1 else None
    if not isinstance(kustomization, dict):
        raise ValueError(f"{str(path)!r} is not a mapping of kustomization fields")
    unknown = sorted(set(kustomization) - UNDERSTOOD)
    if unknown:
        raise ValueError(
            f"{str(path)!r}: {', '.join(unknown)} not rendered by `make k8s` (it renders "
            f"{', '.join(sorted(UNDERSTOOD))}); use `kubectl kustomize` for the rest"
        )
    return kustomization


def _read_yaml(path: Path) -> list[Any]:
    try:
        return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        # PyYAML's message spans lines; its first line and the position are enough.
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ValueError(f"{str(path)!r}{where}: not valid YAML: {problem}") from None

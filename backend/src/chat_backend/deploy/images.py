"""Container image references, and kustomize's `images:` rule for replacing them.

A reference is `name[:tag][@digest]`, the name maybe with a registry host and port
(`registry.example.com:5000/team/chat-backend:1.0`). An `images:` entry matches a container
whose image has its `name`, and gives it `newName`, `newTag` and/or `digest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
# Where a pod template lists containers; kustomize rewrites the `image` of each.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class ImageReference:
    name: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        match = _REFERENCE.fullmatch(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not an image reference: use NAME[:TAG][@DIGEST], "
                "e.g. registry.example.com/chat-backend:1.0"
            )
        return cls(match["name"], match["tag"], match["digest"])

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.name}{tag}{digest}"


@dataclass(frozen=True)
class ImageOverride:
    """One entry of a kustomization's `images:`."""

    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> ImageOverride:
        fields = {"name", "newName", "newTag", "digest"}
        if not (
            isinstance(entry, dict)
            and "name" in entry
            and set(entry) <= fields
            and all(isinstance(value, str) for value in entry.values())
        ):
            raise ValueError(
                f"images: {entry!r} is not an entry of name, newName, newTag and digest"
            )
        return cls(entry["name"], entry.get("newName"), entry.get("newTag"), entry.get("digest"))

    @classmethod
    def setting(cls, name: str, reference: ImageReference) -> ImageOverride:
        """The entry `kustomize edit set image NAME=REFERENCE` writes."""
        return cls(name, reference.name, reference.tag, reference.digest)

    def apply(self, image: str) -> str:
        """`image` as this entry makes it: changed if its name matches, else as it was."""
        old = ImageReference.parse(image)
        if old.name != self.name:
            return image
        if self.new_tag is None and self.digest is None:
            return str(ImageReference(self.new_name or old.name, old.tag, old.digest))
        return str(ImageReference(self.new_name or old.name, self.new_tag, self.digest))


def set_images(document: Any, overrides: list[ImageOverride]) -> None:
    """Rewrite, in place, the image of every container anywhere in `document`."""
    if isinstance(document, list):
        for item in document:
            set_images(item, overrides)
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        if key in CONTAINER_LISTS and isinstance(value, list):
            for container in value:
                for override in overrides:
                    if "image" in container:
                        container["image"] = override.apply(container["image"])
        else:
            set_images(value, overrides)

"""Image references and kustomize's `images:` rule, as `make k8s IMAGE=...` applies them."""

from __future__ import annotations

import pytest

from chat_backend.deploy.images import ImageOverride, ImageReference, set_images

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chat-backend", ImageReference("chat-backend")),
        ("example/chat-backend:1.0", ImageReference("example/chat-backend", "1.0")),
        (
            "registry.example.com:5000/team/chat-backend:v1.2.3-rc_1",
            ImageReference("registry.example.com:5000/team/chat-backend", "v1.2.3-rc_1"),
        ),
        (f"chat-backend@{DIGEST}", ImageReference("chat-backend", None, DIGEST)),
        (f"chat-backend:1.0@{DIGEST}", ImageReference("chat-backend", "1.0", DIGEST)),
    ],
)
def test_a_reference_is_split_into_name_tag_and_digest(text: str, expected: ImageReference) -> None:
    assert ImageReference.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text", ["", "a b", "Chat-Backend:1.0", "chat-backend:", "chat-backend:1.0; rm -rf /", "x@md5"]
)
def test_a_bad_reference_is_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not an image reference: use NAME\[:TAG\]\[@DIGEST\]"):
        ImageReference.parse(text)


@pytest.mark.parametrize(
    ("override", "image", "expected"),
    [
        (ImageOverride("chat-backend", new_tag="dev"), "chat-backend", "chat-backend:dev"),
        (ImageOverride("chat-backend", new_name="r.io/c"), "chat-backend:2", "r.io/c:2"),
        (ImageOverride("chat-backend", "r.io/c", "1.0"), "chat-backend:dev", "r.io/c:1.0"),
        (
            ImageOverride("chat-backend", digest=DIGEST),
            "chat-backend:dev",
            f"chat-backend@{DIGEST}",
        ),
        # Another image is left as it is.
        (ImageOverride("chat-backend", new_tag="1.0"), "postgres:17", "postgres:17"),
        (ImageOverride("chat-backend", new_tag="1.0"), "x/chat-backend:2", "x/chat-backend:2"),
    ],
)
def test_an_override_changes_only_images_of_its_name(
    override: ImageOverride, image: str, expected: str
) -> None:
    assert override.apply(image) == expected


def test_set_images_reaches_init_and_app_containers_only() -> None:
    pod = {
        "metadata": {"annotations": {"image": "chat-backend"}},
        "spec": {
            "initContainers": [{"name": "wait", "image": "chat-backend"}],
            "containers": [{"name": "app", "image": "chat-backend"}],
        },
    }
    set_images(pod, [ImageOverride("chat-backend", "example/chat-backend", "1.0")])
    assert pod["spec"] == {
        "initContainers": [{"name": "wait", "image": "example/chat-backend:1.0"}],
        "containers": [{"name": "app", "image": "example/chat-backend:1.0"}],
    }
    assert pod["metadata"] == {"annotations": {"image": "chat-backend"}}


def test_an_images_entry_with_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="is not an entry of name, newName, newTag and digest"):
        ImageOverride.from_entry({"name": "chat-backend", "newTage": "1.0"})

"""The backend image: extra CA certificates in backend/certs/ end up in its trust store, so a
build behind a TLS-inspecting proxy can reach PyPI."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.compose_project import ComposeProject


@pytest.fixture
def image_tag(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tag of its own, so this build never replaces the image the other tests share."""
    tag = f"chat-backend:e2e-ca-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("BACKEND_IMAGE", tag)
    yield tag
    subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)


def make_ca(directory: Path) -> str:
    """A new self-signed CA certificate, PEM-encoded: trusted by nothing until we add it."""
    key, cert = directory / "proxy-ca.key", directory / "proxy-ca.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Test TLS-inspecting proxy CA",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=True,
    )
    return cert.read_text()


def test_extra_ca_certificates_join_the_image_trust_store(
    project: ComposeProject, image_tag: str, tmp_path: Path
) -> None:
    pem = make_ca(tmp_path)
    (project.directory / "backend" / "certs" / "proxy-ca.crt").write_text(pem)

    project.compose("build", "migrator")

    bundle = project.run(
        "docker", "run", "--rm", image_tag, "cat", "/etc/ssl/certs/ca-certificates.crt"
    ).stdout
    body = "".join(pem.strip().splitlines()[1:-1])
    assert body in "".join(bundle.splitlines())

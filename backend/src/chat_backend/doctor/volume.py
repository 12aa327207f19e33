"""The database volume against the db image: PostgreSQL cannot open data files written by
another major version, and the server then exits at once on every start."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat_backend.doctor.commands import first_line, run
from chat_backend.doctor.report import Finding, fail, ok, warn

# Where compose.yaml mounts the data volume in the db service (the image's PGDATA).
DATA_DIR = "/var/lib/postgresql/data"
# Run in a throwaway container of the db image, with the volume mounted read-only at /data:
# the image's PostgreSQL version, then the volume's (empty when it holds no cluster yet).
READ_MAJORS = "postgres --version; cat /data/PG_VERSION 2>/dev/null || echo"
# Root, to read a data directory only its owner may enter; no network, it needs none.
THROWAWAY_CONTAINER = ("docker", "run", "--rm", "--network=none", "--user=0", "--entrypoint=sh")


@dataclass(frozen=True)
class DataVolume:
    name: str
    image: str


def data_volume(config: dict[str, Any]) -> DataVolume | None:
    """The db service's data volume, from `docker compose config --format json`."""
    db = config.get("services", {}).get("db", {})
    for mount in db.get("volumes", ()):
        if mount.get("type") == "volume" and mount.get("target") == DATA_DIR:
            name = config.get("volumes", {}).get(mount["source"], {}).get("name", mount["source"])
            return DataVolume(name=name, image=db["image"])
    return None


def read_majors(volume: DataVolume) -> tuple[str | None, str | None]:
    """(the image's PostgreSQL major, the volume's), each None when it cannot be read."""
    mount = f"{volume.name}:/data:ro"
    answer = run(*THROWAWAY_CONTAINER, "--volume", mount, volume.image, "-c", READ_MAJORS)
    lines = answer.stdout.splitlines() if answer and answer.returncode == 0 else []
    image = re.search(r"\(PostgreSQL\) (\d+)", lines[0]) if lines else None
    stored = lines[1].strip() if len(lines) > 1 else ""
    return (image[1] if image else None), (stored if stored.isdigit() else None)


def check_volume(root: Path) -> Finding:
    answer = run("docker", "compose", "config", "--format", "json", cwd=root)
    if answer is None or answer.returncode != 0:
        stderr = first_line(answer.stderr) if answer else "docker is not installed"
        return fail(f"Compose cannot read this project ({stderr}): fix compose.yaml or .env")
    volume = data_volume(json.loads(answer.stdout))
    if volume is None:
        return warn(f"compose.yaml mounts no volume at {DATA_DIR} in db: restore its volumes entry")
    if not _exists("volume", volume.name):
        return ok(f"no database volume yet: the first `docker compose up` creates {volume.name}")
    if not _exists("image", volume.image):
        return warn(
            f"the db image {volume.image} is not on this machine, so the volume {volume.name} "
            "cannot be checked against it: `docker compose pull db` fetches it"
        )
    return compare_majors(volume, *read_majors(volume))


def _exists(kind: str, name: str) -> bool:
    answer = run("docker", kind, "inspect", name)
    return answer is not None and answer.returncode == 0


def compare_majors(volume: DataVolume, image: str | None, stored: str | None) -> Finding:
    if image is None:
        return warn(
            f"cannot tell which PostgreSQL the db image {volume.image} runs: check POSTGRES_IMAGE"
        )
    if stored is None:
        return ok(f"the volume {volume.name} holds no database yet; PostgreSQL {image} creates it")
    if stored != image:
        return fail(
            f"the volume {volume.name} holds PostgreSQL {stored} data, which the db image "
            f"{volume.image} (PostgreSQL {image}) cannot open: move the data with a backup and "
            f"restore (README, Troubleshooting: PostgreSQL major upgrade), or delete it with "
            "`docker compose down --volumes`"
        )
    return ok(f"the volume {volume.name} holds PostgreSQL {stored} data, as the db image runs")

"""doctor.volume: which volume holds the data, and what a major version mismatch says."""

from __future__ import annotations

from typing import Any

from chat_backend.doctor.report import Level
from chat_backend.doctor.volume import DataVolume, compare_majors, data_volume

# The shape of `docker compose config --format json`, trimmed to what the check reads.
CONFIG: dict[str, Any] = {
    "services": {
        "db": {
            "image": "postgres:17",
            "volumes": [
                {
                    "type": "bind",
                    "source": "/repo/db/init",
                    "target": "/docker-entrypoint-initdb.d",
                },
                {"type": "volume", "source": "db-data-pg17", "target": "/var/lib/postgresql/data"},
            ],
        }
    },
    "volumes": {"db-data-pg17": {"name": "chat-backend_db-data-pg17"}},
}
VOLUME = DataVolume(name="chat-backend_db-data-pg17", image="postgres:17")


def test_the_data_volume_is_found_with_its_project_name() -> None:
    assert data_volume(CONFIG) == VOLUME


def test_no_data_volume_without_the_mount() -> None:
    assert data_volume({"services": {"db": {"image": "postgres:17"}}}) is None


def test_another_major_is_a_blocker_that_names_both_and_the_way_out() -> None:
    finding = compare_majors(VOLUME, image="17", stored="16")
    assert finding.level is Level.FAIL
    assert finding.message.startswith(
        "the volume chat-backend_db-data-pg17 holds PostgreSQL 16 data, which the db image "
        "postgres:17 (PostgreSQL 17) cannot open:"
    )
    assert "docker compose down --volumes" in finding.message


def test_the_same_major_or_an_empty_volume_is_fine() -> None:
    assert compare_majors(VOLUME, image="17", stored="17").level is Level.OK
    assert compare_majors(VOLUME, image="17", stored=None).level is Level.OK


def test_an_image_without_postgres_is_a_warning() -> None:
    assert compare_majors(VOLUME, image=None, stored="17").level is Level.WARN

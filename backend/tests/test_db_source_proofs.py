"""The key that proves stored revision sources: who may read the file it is made in."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chat_backend.db.source_proofs import KEY_BYTES, key_for_writing, read_key


def _made_in(folder: Path, mode: int) -> Path:
    folder.mkdir()
    folder.chmod(mode)
    key = folder / "migration-source.key"
    assert key_for_writing(key, create=True) is not None
    return key


def test_a_key_made_in_a_new_folder_is_its_owners_alone(tmp_path: Path) -> None:
    key = tmp_path / "state" / "chat-backend" / "migration-source.key"

    assert key_for_writing(key, create=True) is not None

    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o700, 0o750, 0o755, 0o777])
def test_a_folder_not_shared_with_its_group_keeps_the_key_private(
    tmp_path: Path, mode: int
) -> None:
    key = _made_in(tmp_path / "keys", mode)

    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_folder_shared_with_its_group_lets_the_group_read_the_key(tmp_path: Path) -> None:
    """The images' /var/lib/chat-backend (setgid, group chat-keys): the dev container's user,
    whose uid the Dev Containers CLI changes to the developer's, reads it as a member."""
    key = _made_in(tmp_path / "keys", 0o2750)

    assert stat.S_IMODE(key.stat().st_mode) == 0o640
    assert read_key(key) is not None


def test_a_key_is_made_once(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "migration-source.key"

    first = key_for_writing(key, create=True)

    assert first is not None
    assert len(first) == KEY_BYTES
    assert key_for_writing(key, create=True) == first

"""Proof that a stored revision source is one this clone's migrator wrote.

A source read back from the database is untrusted input: anyone who can write the database
(the default password on 127.0.0.1, a teammate's dump you restored) could plant a "phantom"
whose downgrade() runs as the migrator. A checksum beside it proves nothing, since the writer
can compute it too. So each stored source gets an HMAC-SHA256 whose key lives in a file outside
the database and outside git (MIGRATION_SOURCE_KEY_FILE: a Docker volume of the stack, or a
file in the user's state directory on the host), and a source runs only when its HMAC proves it.

The key is made on first use in development and test (32 random bytes, created atomically and
readable by its owner only, or also by its folder's group where the folder is shared with that
group on purpose: see _mode). Elsewhere it is only read: stored sources never run in production.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("alembic.runtime.migration")

KEY_BYTES = 32
# A folder with the setgid bit and group read and search is shared with its group on purpose:
# the images' /var/lib/chat-backend (group chat-keys, backend/Dockerfile), where the dev
# container's user reads the key as a member after the Dev Containers CLI gave it another uid.
SHARED_FOLDER = stat.S_ISGID | stat.S_IRGRP | stat.S_IXGRP


def proof(key: bytes, revision: str, source: str) -> str:
    """The HMAC of a revision's id and source, as hex."""
    message = revision.encode() + b"\0" + source.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def is_proven(key: bytes | None, revision: str, source: str, stored_proof: str | None) -> bool:
    """Whether `stored_proof` proves that `source` of `revision` was written with `key`."""
    if key is None or stored_proof is None:
        return False
    return hmac.compare_digest(proof(key, revision, source), stored_proof)


def read_key(path: Path) -> bytes | None:
    """The key in `path`; None when there is none (or it cannot be read)."""
    try:
        key = path.expanduser().read_bytes()
    except OSError:
        return None
    return key if len(key) == KEY_BYTES else None


def key_for_writing(path: Path, *, create: bool) -> bytes | None:
    """The key to sign new sources with: read, or (with `create`) made once. None, with one
    warning, when it can be neither: the sources are then stored unproven, so never run."""
    key = read_key(path)
    if key is not None or not create:
        return key
    try:
        return _create(path.expanduser())
    except OSError as error:
        log.warning(
            "cannot create the stored-source key %s (%s): revisions applied now cannot be "
            "rolled back from their stored source later; set MIGRATION_SOURCE_KEY_FILE to a "
            "writable path",
            path,
            error.strerror or error,
        )
        return None


def _create(path: Path) -> bytes:
    """Write a new key beside its final name, then link it there: two migrators racing both
    end up with the one key that won, and nobody ever reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_bytes(KEY_BYTES))
        os.chmod(temporary, _mode(path.parent))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    key = read_key(path)
    if key is None:
        raise OSError(f"{path} holds no {KEY_BYTES}-byte key")
    return key


def _mode(folder: Path) -> int:
    """The owner's alone (mkstemp's 0600), unless the folder is shared with its group; never
    anyone else's, so a folder open to all (a key under /tmp) keeps the key private."""
    shared = stat.S_IMODE(folder.stat().st_mode) & SHARED_FOLDER == SHARED_FOLDER
    return 0o640 if shared else 0o600

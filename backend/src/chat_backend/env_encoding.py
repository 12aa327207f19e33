"""Reading a `.env` file as text: UTF-8 or a one-line error naming the line, never a
traceback and never the bytes themselves (the line may hold a password)."""

from __future__ import annotations

from pathlib import Path


class NotUtf8Error(ValueError):
    """The file is not UTF-8; the message names the line and the byte, and the fix."""


def read_env_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NotUtf8Error(
            f"line {line}: byte 0x{data[error.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None

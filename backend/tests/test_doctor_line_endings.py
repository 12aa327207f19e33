"""doctor.line_endings: scripts with CRLF endings are named, with the command that fixes them."""

from __future__ import annotations

from pathlib import Path

from chat_backend.doctor.line_endings import check_line_endings, crlf_files
from chat_backend.doctor.report import Level


def write(root: Path, name: str, content: bytes) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_crlf_scripts_are_named_and_lf_ones_are_not(tmp_path: Path) -> None:
    write(tmp_path, "scripts/good.sh", b"#!/usr/bin/env bash\necho ok\n")
    write(tmp_path, "scripts/bad.sh", b"#!/usr/bin/env bash\r\necho ok\r\n")
    write(tmp_path, "db/init/10-roles.sql", b"SELECT 1;\r\n")
    write(tmp_path, "backend/app.py", b"print()\r\n")  # Python does not mind
    assert crlf_files(tmp_path) == ["db/init/10-roles.sql", "scripts/bad.sh"]


def test_the_finding_is_a_blocker_with_the_conversion(tmp_path: Path) -> None:
    write(tmp_path, "scripts/bad.sh", b"echo\r\n")
    finding = check_line_endings(tmp_path)
    assert finding.level is Level.FAIL
    assert "`sed -i 's/\\r$//' scripts/bad.sh`" in finding.message


def test_the_repository_itself_has_lf_endings() -> None:
    assert check_line_endings(Path(__file__).resolve().parents[2]).level is Level.OK

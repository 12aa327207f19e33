"""`python -m chat_backend.doctor`, run from the repository root (`make doctor`)."""

from __future__ import annotations

import sys
from pathlib import Path

from chat_backend.doctor.env_file import EnvFiles, check_env_files
from chat_backend.doctor.line_endings import check_line_endings
from chat_backend.doctor.ports import check_ports, published_ports
from chat_backend.doctor.report import Level, Report
from chat_backend.doctor.revisions import check_revisions
from chat_backend.doctor.tools import check_compose, check_engine, check_uv
from chat_backend.doctor.volume import check_volume


def main(root: Path) -> int:
    if not (root / "compose.yaml").is_file():
        print(
            f"doctor: no compose.yaml in {root}; run it from the repository root: make doctor",
            file=sys.stderr,
        )
        return 2
    print("Checking this machine for the Compose stack ...")
    report = Report()
    engine, compose = check_engine(), check_compose()
    report.add(engine, compose, check_uv())
    files = EnvFiles.read(root)
    report.add(*check_env_files(files), check_line_endings(root))
    docker_works = Level.FAIL not in {engine.level, compose.level}
    report.add(*check_ports(files, published_ports(root) if docker_works else ()))
    if docker_works:
        report.add(check_volume(root))
    report.add(*check_revisions(root))
    return report.verdict()


if __name__ == "__main__":
    raise SystemExit(main(Path.cwd()))

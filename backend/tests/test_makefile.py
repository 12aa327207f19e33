"""The Makefile as the front door: every target documented, `make help` plain when piped,
and the README's target list equal to it (`make readme` rewrites the list)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = REPO_ROOT / "Makefile"
# `name:` at the start of a line, but not `NAME :=` or `name ::`; `.PHONY` and other special
# targets start with a dot.
RULE = re.compile(r"^([A-Za-z0-9_-]+)\s*:(?![:=])(.*)$", re.MULTILINE)
PHONY = re.compile(r"^\.PHONY:(.*)$", re.MULTILINE)
README_BLOCK = re.compile(
    r"<!-- make-help:start -->\n```\n(.*?)```\n<!-- make-help:end -->", re.DOTALL
)
ANSI_ESCAPE = "\x1b"
STALE_BLOCK = "<!-- make-help:start -->\n```\nold  a removed target\n```\n<!-- make-help:end -->"


def make(*args: str, cwd: Path = REPO_ROOT) -> str:
    completed = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, f"make {' '.join(args)}: {completed.stderr}"
    return completed.stdout


def rules() -> dict[str, str]:
    """Each target of the Makefile, with the rest of its rule line."""
    return {name: rest for name, rest in RULE.findall(MAKEFILE.read_text())}


def help_listing() -> str:
    return make("help").strip("\n") + "\n"


def test_every_target_has_an_inline_help_line() -> None:
    undocumented = [name for name, rest in rules().items() if "## " not in rest]
    assert not undocumented, f"add `## what it does` after these targets: {undocumented}"


def test_every_target_is_phony() -> None:
    phony = {name for line in PHONY.findall(MAKEFILE.read_text()) for name in line.split()}
    missing = sorted(rules().keys() - phony)
    assert not missing, f"declare them with .PHONY: {missing}"


def test_help_lists_every_target() -> None:
    listed = {line.split()[0] for line in help_listing().splitlines() if line.startswith("  ")}
    assert listed == set(rules())


def test_make_alone_prints_the_help() -> None:
    assert make() == make("help")


def test_help_has_no_colours_when_piped() -> None:
    assert ANSI_ESCAPE not in make("help")


def test_readme_lists_the_targets_as_make_help_does() -> None:
    block = README_BLOCK.search((REPO_ROOT / "README.md").read_text())
    assert block is not None, "README.md lacks the make-help markers around a ``` block"
    assert block[1] == help_listing(), "README.md is out of date: run `make readme`"


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The Makefile, the README and the scripts: all that `make readme` reads and writes."""
    shutil.copy(MAKEFILE, tmp_path)
    shutil.copy(REPO_ROOT / "README.md", tmp_path)
    shutil.copytree(REPO_ROOT / "scripts", tmp_path / "scripts")
    return tmp_path


def test_make_readme_rewrites_a_stale_list_and_only_that(project_copy: Path) -> None:
    readme = project_copy / "README.md"
    current = readme.read_text()
    readme.write_text(README_BLOCK.sub(STALE_BLOCK, current))

    assert "now matches make help" in make("readme", cwd=project_copy)
    assert readme.read_text() == current
    assert "is up to date" in make("readme", cwd=project_copy)


def test_help_states_the_variable_convention_for_every_variable_a_target_reads() -> None:
    """Lowercase variables take values, uppercase ones are switches: every one the targets
    read is named in the closing lines of `make help`."""
    variables = help_listing().rpartition("\nVariables: ")[2]
    lowercase = set(re.findall(r"\$\(([a-z]+)\)", MAKEFILE.read_text()))
    # AUTO is read by make; the others by the scripts, from the environment.
    switches = {"AUTO", "FORCE", "HARD", "STEPS"}

    assert "lowercase ones take a value" in variables
    assert "UPPERCASE ones are switches and counts" in variables
    for name in sorted(lowercase | switches):
        assert f"{name}=" in variables, f"make help's Variables line does not name {name}="

"""The dev container (.devcontainer/), driven by the reference Dev Containers CLI as an editor
drives it: `devcontainer up` beside the stack's db and migrator, then the project's own
commands inside it with `devcontainer exec`. The tests run in order on one container."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.alembic_support import HEAD
from tests.e2e.compose_project import REPO_ROOT, ComposeProject

# The CLI that .ci/devcontainer-cli.sh installs; the tests need that version.
CLI_SCRIPT = REPO_ROOT / ".ci" / "devcontainer-cli.sh"
NO_CLI = (
    "the dev container tests drive the Dev Containers CLI, which is not on PATH: "
    "run `bash .ci/devcontainer-cli.sh` (needs Node.js 20 or later and npm)"
)
# The dev image's user (backend/Dockerfile). On a developer's Linux machine the CLI gives it
# the developer's uid, so the checkout is theirs inside; as root (CI) the CLI changes
# nothing, so the copy is given to that uid as a developer's checkout would be.
APP_UID = 10001
CLI_TIMEOUT_S = 1800
# The tests that assume the test server is on this machine's loopback, that they run outside
# a Compose network, or that the server's password is not a placeholder: none holds in the dev
# container. Each is left out by name, never by a pattern, so a new test always runs inside.
# (Adapting them is open work.)
NOT_IN_A_COMPOSE_NETWORK = (
    # Relays a port on 127.0.0.1 to the server, and points the migrator at the server's host.
    "tests/test_reliability_bad_input.py::test_database_that_comes_up_late_is_waited_for",
    # Writes a libpq service file naming localhost with the test server's port.
    "tests/test_reliability_guard_target.py::test_a_local_host_from_pghost_is_accepted",
    # Asserts that `db` is not local here: in the dev container it is the Compose service.
    "tests/test_db_local_guard.py::test_the_compose_service_name_is_not_local_outside_a_container",
    # Run APP_ENV=production against the test server, whose password here is the stack's
    # development default, which production refuses as a placeholder.
    "tests/test_branch_switch.py::test_in_production_nothing_is_marked_parked_or_swapped",
    "tests/test_migration_plan.py::test_in_production_the_plan_is_the_migrators_refusal",
)


@pytest.fixture(scope="module")
def devcontainer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevContainer]:
    cli = shutil.which("devcontainer")
    if cli is None:
        pytest.fail(NO_CLI)
    project = ComposeProject.copy_of_repo(tmp_path_factory.mktemp("devcontainer") / "project")
    for path in [project.directory, *project.directory.rglob("*")]:
        os.lchown(path, APP_UID, APP_UID)
    container = DevContainer(cli, project)
    try:
        yield container
    finally:
        container.remove()


class DevContainer:
    """One copy of the repository opened with `devcontainer up`, torn down with its volume."""

    def __init__(self, cli: str, project: ComposeProject) -> None:
        self.cli, self.project = cli, project
        self.env = {
            **project.env,
            # A tag of its own next to the backend image the e2e tests share.
            "DEV_IMAGE": f"{project.env['BACKEND_IMAGE']}-dev",
        }

    def run(self, subcommand: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        started = time.monotonic()
        completed = subprocess.run(
            [self.cli, subcommand, "--workspace-folder", str(self.project.directory), *args],
            cwd=self.project.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        return time.monotonic() - started, completed

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        seconds, completed = self.run("exec", *command)
        print(f"\n[measure] `devcontainer exec {' '.join(command)}`: {seconds:.1f} s")
        assert completed.returncode == 0, (
            f"{' '.join(command)} exited {completed.returncode} in the dev container\n"
            f"--- stdout\n{completed.stdout[-6000:]}\n--- stderr\n{completed.stderr[-3000:]}"
        )
        return completed

    def remove(self) -> None:
        folder = self.project.directory / ".devcontainer"
        config = json.loads((folder / "devcontainer.json").read_text())
        compose_files = [
            argument
            for name in config["dockerComposeFile"]
            for argument in ("--file", str(folder / name))
        ]
        subprocess.run(
            ["docker", "compose", *compose_files, "down", "--volumes", "--timeout", "5"],
            cwd=self.project.directory,
            env=self.env,
            capture_output=True,
            check=False,
        )
        # The image the CLI derives to give the user the host's uid: vsc-<folder>-<sha256>-uid.
        folder = self.project.directory
        digest = hashlib.sha256(str(folder).encode()).hexdigest()
        subprocess.run(
            ["docker", "image", "rm", f"vsc-{folder.name}-{digest}-uid"],
            capture_output=True,
            check=False,
        )


def test_devcontainer_up_starts_the_editors_container(devcontainer: DevContainer) -> None:
    seconds, up = devcontainer.run("up")
    print(f"\n[measure] `devcontainer up`: {seconds:.1f} s")
    assert up.returncode == 0, f"devcontainer up failed\n{up.stdout[-6000:]}\n{up.stderr[-3000:]}"
    outcome = json.loads(up.stdout.strip().splitlines()[-1])
    assert (outcome["outcome"], outcome["remoteWorkspaceFolder"]) == ("success", "/workspace")
    assert devcontainer.exec("id", "-u").stdout.strip() == str(APP_UID), "not root at run time"


def test_the_database_is_at_head_inside(devcontainer: DevContainer) -> None:
    current = devcontainer.exec("alembic", "current")
    assert current.stdout.strip() == f"{HEAD} (head)"


# What `make test-fast` runs inside, for now: the database tests against the stack's db. The
# whole fast suite does not pass inside yet (tests added since assume a test server on the
# host's loopback or a host-side pg_restore); the rest is open work, named in the issue.
INSIDE = (
    "tests/test_migrations.py",
    "tests/test_alembic_commands.py",
    "tests/test_db_schema_state.py",
    "tests/test_db_local_guard.py",
    "tests/test_phantom_revisions.py",
    "tests/test_local_commands.py",
    "tests/test_revision_status.py",
)


def test_the_database_tests_pass_inside(devcontainer: DevContainer) -> None:
    deselected = " ".join(f"--deselect {test}" for test in NOT_IN_A_COMPOSE_NETWORK)
    result = devcontainer.exec("make", "test-fast", f"args={' '.join(INSIDE)} {deselected}")
    assert " passed" in result.stdout.splitlines()[-1]


def test_the_migration_gate_passes_inside(devcontainer: DevContainer) -> None:
    devcontainer.exec("make", "check")


def test_a_revision_written_inside_belongs_to_the_developer(devcontainer: DevContainer) -> None:
    devcontainer.exec("make", "revision", "m=from the dev container")

    versions = devcontainer.project.directory / "backend" / "migrations" / "versions"
    (written,) = versions.glob("*_from_the_dev_container.py")
    assert written.stat().st_uid == APP_UID

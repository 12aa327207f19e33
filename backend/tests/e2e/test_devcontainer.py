"""The dev container (.devcontainer/), driven by the reference Dev Containers CLI as an editor
drives it: `devcontainer up` beside the stack's db and migrator, then the project's own
commands inside it with `devcontainer exec`, as a developer whose uid is not the image's. The
tests run in order on one container."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chat_backend.revisions.throwaway_postgres import UNPRIVILEGED_USER
from tests.alembic_support import HEAD
from tests.e2e.compose_project import REPO_ROOT, ComposeProject

REPO_VERSIONS = REPO_ROOT / "backend" / "migrations" / "versions"

# The CLI that .ci/devcontainer-cli.sh installs; the tests need that version.
CLI_SCRIPT = REPO_ROOT / ".ci" / "devcontainer-cli.sh"
NO_CLI = (
    "the dev container tests drive the Dev Containers CLI, which is not on PATH: "
    "run `bash .ci/devcontainer-cli.sh` (needs Node.js 20 or later and npm)"
)
# The dev image's user's group that may read the stack's key (backend/Dockerfile).
KEY_GROUP = "chat-keys"
# Who runs the CLI, as a developer on Linux does: the CLI gives the container's user that
# developer's uid and gid (updateRemoteUserUID), so the checkout is theirs inside. As root
# (CI) the CLI would change nothing, so the tests run it as an unprivileged account instead
# (the CLI needs one with a name), in the Docker socket's group, with a home of its own: the
# account the throwaway test servers run as when the tests run as root.
DEVELOPER_ACCOUNT = UNPRIVILEGED_USER
DOCKER_SOCKET = Path("/var/run/docker.sock")
CLI_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Developer:
    """The user the CLI runs as, and what a subprocess needs to run as them."""

    uid: int
    gid: int
    home: Path
    as_user: dict[str, Any]

    @classmethod
    def here(cls, home: Path) -> Developer:
        if os.geteuid() != 0:
            return cls(os.getuid(), os.getgid(), Path.home(), {})
        try:
            account = pwd.getpwnam(DEVELOPER_ACCOUNT)
        except KeyError:
            pytest.fail(
                f"running as root, the dev container tests run the CLI as the account "
                f"{DEVELOPER_ACCOUNT!r}, which this machine lacks: install the PostgreSQL "
                "server package (Debian/Ubuntu: apt-get install postgresql), or run as a user"
            )
        docker_group = DOCKER_SOCKET.stat().st_gid if DOCKER_SOCKET.exists() else None
        as_user = {
            "user": account.pw_uid,
            "group": account.pw_gid,
            "extra_groups": [docker_group] if docker_group is not None else [],
        }
        home.mkdir()
        _compose_plugin_for(home)
        for path in [home, *home.rglob("*")]:
            os.lchown(path, account.pw_uid, account.pw_gid)
        return cls(account.pw_uid, account.pw_gid, home, as_user)


def _compose_plugin_for(home: Path) -> None:
    """Root's own Compose plugin (~/.docker/cli-plugins, where .ci/compose-plugin.sh puts it)
    is out of the developer's reach; a copy in their own goes where the Docker CLI looks."""
    plugin = Path.home() / ".docker" / "cli-plugins" / "docker-compose"
    if plugin.exists():
        copy = home / ".docker" / "cli-plugins" / "docker-compose"
        copy.parent.mkdir(parents=True)
        shutil.copy2(plugin, copy)


@pytest.fixture(scope="module")
def devcontainer() -> Iterator[DevContainer]:
    cli = shutil.which("devcontainer")
    if cli is None:
        pytest.fail(NO_CLI)
    # Not under pytest's temporary folder, which is root's alone: the developer reaches this.
    folder = Path(tempfile.mkdtemp(prefix="chat-devcontainer-"))
    try:
        developer = Developer.here(folder / "home")
        project = ComposeProject.copy_of_repo(folder / "project")
        # The developer's own checkout, as a clone would be.
        for path in [folder, project.directory, *project.directory.rglob("*")]:
            os.lchown(path, developer.uid, developer.gid)
        container = DevContainer(cli, project, developer)
        try:
            yield container
        finally:
            container.remove()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class DevContainer:
    """One copy of the repository opened with `devcontainer up`, torn down with its volume."""

    def __init__(self, cli: str, project: ComposeProject, developer: Developer) -> None:
        self.cli, self.project, self.developer = cli, project, developer
        self.env = {
            **project.env,
            "HOME": str(developer.home),
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
            **self.developer.as_user,
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

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`docker compose` on the dev container's stack, from this machine."""
        folder = self.project.directory / ".devcontainer"
        config = json.loads((folder / "devcontainer.json").read_text())
        compose_files = [
            argument
            for name in config["dockerComposeFile"]
            for argument in ("--file", str(folder / name))
        ]
        return self.project.compose(*compose_files, *args, check=False)

    @property
    def versions(self) -> Path:
        return self.project.directory / "backend" / "migrations" / "versions"

    def remove(self) -> None:
        self.compose("down", "--volumes", "--timeout", "5")
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
    # Not root at run time: the developer's uid, given to the image's user by the CLI.
    assert devcontainer.exec("id", "-u").stdout.strip() == str(devcontainer.developer.uid)
    assert KEY_GROUP in devcontainer.exec("id", "-nG").stdout.split()


def test_the_database_is_at_head_inside(devcontainer: DevContainer) -> None:
    current = devcontainer.exec("alembic", "current")
    assert current.stdout.strip() == f"{HEAD} (head)"


def test_make_test_fast_passes_inside(devcontainer: DevContainer) -> None:
    """The whole fast suite, against the stack's db (TEST_DATABASE_URL), as a developer runs
    it in the editor's terminal."""
    result = devcontainer.exec("make", "test-fast")
    summary = result.stdout.splitlines()[-1]
    assert " passed" in summary, summary
    assert not re.search(r" (failed|errors?|deselected)\b", summary), summary


def test_the_migration_gate_passes_inside(devcontainer: DevContainer) -> None:
    devcontainer.exec("make", "check")


def test_a_revision_written_inside_belongs_to_the_developer(devcontainer: DevContainer) -> None:
    devcontainer.exec("make", "revision", "m=from the dev container")

    (written,) = devcontainer.versions.glob("*_from_the_dev_container.py")
    assert written.stat().st_uid == devcontainer.developer.uid


def test_make_plan_inside_proves_the_stack_migrators_stored_source(
    devcontainer: DevContainer,
) -> None:
    """The stack's migrator (uid 10001) applies the revision and stores its source, proven
    with the key in its volume; the checkout then loses the file (another branch's). The
    plan inside reads that key as the developer, whose uid is not the migrator's."""
    (written,) = devcontainer.versions.glob("*_from_the_dev_container.py")
    migrated = devcontainer.compose("run", "--rm", "--no-deps", "migrator")
    assert migrated.returncode == 0, migrated.stderr
    revision = written.name.split("_", 1)[0]
    written.unlink()
    (devcontainer.versions / "HEAD").write_text((REPO_VERSIONS / "HEAD").read_text())

    plan = json.loads(devcontainer.exec("make", "--silent", "plan", "format=json").stdout)

    assert [(down["revision"], down["proven"]) for down in plan["down"]] == [(revision, True)]

"""Bad arguments to the make targets fail before anything runs, with the fix in one line.

They run on a copy of the Makefile and scripts/ whose Compose command is `false`, so a guard
that stopped guarding could not touch any stack. The host guard asks the real `docker compose`
for its configuration (which reads files only); there, the Docker engine is a socket nobody
listens on, for the same reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.alembic_support import BACKEND_DIR

REPO_ROOT = BACKEND_DIR.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(REPO_ROOT / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copytree(REPO_ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "notes.txt").write_text("not a database dump\n")
    return tmp_path


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "COMPOSE=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("rollback", "STEPS=abc"),
            "rollback: STEPS must be a whole number of revisions, at least 1: "
            "make rollback STEPS=2",
        ),
        (
            ("rollback", "STEPS=0"),
            "rollback: STEPS must be a whole number of revisions, at least 1: "
            "make rollback STEPS=2",
        ),
        (("revision",), 'm is required: make revision m="add email"'),
        (("stamp",), "rev is required: make stamp rev=002"),
        (
            ("restore-backup",),
            "file is required: make restore-backup file=backups/NAME.dump; ls backups lists them",
        ),
        (
            ("restore-backup", "file=backups/missing.dump"),
            "restore-backup: no file backups/missing.dump; pick one in backups/ (ls backups): "
            "make restore-backup file=backups/<name>.dump",
        ),
        (
            ("restore-backup", "file=backups/notes.txt"),
            "restore-backup: backups/notes.txt is not a pg_dump custom-format archive; use a "
            "file that make backup wrote",
        ),
    ],
    ids=[
        "rollback-steps-abc",
        "rollback-steps-0",
        "revision-without-m",
        "stamp-without-rev",
        "restore-backup-without-file",
        "restore-backup-missing-file",
        "restore-backup-not-a-dump",
    ],
)
def test_bad_arguments_fail_early_with_the_fix(
    repo: Path, args: tuple[str, ...], expected: str
) -> None:
    failed = make(repo, *args)
    assert failed.returncode == 2
    assert expected in failed.stderr
    assert failed.stdout == ""
    assert not any((repo / "backups").glob("*.dump"))


# A value a careless paste (or a hostile README) could hold: run by a shell, it creates files.
HOSTILE = "x `touch pwned-backtick` $$(touch pwned-dollar) ; touch pwned-semicolon"


@pytest.mark.parametrize(
    "args",
    [
        ("revision", f"m={HOSTILE}", "MIGRATION_CLI=true"),
        ("merge", f"m={HOSTILE}", "MIGRATION_CLI=true"),
        ("sql", f"from={HOSTILE}", f"to={HOSTILE}", "MIGRATION_CLI=true"),
        ("stamp", f"rev={HOSTILE}", "MIGRATOR=true"),
        ("logs", f"s={HOSTILE}", "COMPOSE=true"),
        ("snapshot", f"name={HOSTILE}", "LOCAL_DB=true"),
        ("restore-backup", f"file={HOSTILE}"),
    ],
    ids=lambda args: args[0],
)
def test_make_variables_reach_commands_as_values_never_as_shell_code(
    repo: Path, args: tuple[str, ...]
) -> None:
    make(repo, *args)

    assert sorted(path.name for path in repo.glob("pwned-*")) == []


def make_with(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`make` with these variables in its environment and no terminal on stdin; Compose is the
    real one, on an engine that does not exist (its socket is a path nobody listens on)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"APP_ENV", "CI", "DOCKER_HOST"}}
    no_engine = {
        "COMPOSE": "docker compose",
        "COMPOSE_PROJECT_NAME": "make-guards",
        "DOCKER_HOST": f"unix://{repo}/no-engine.sock",
    }
    return subprocess.run(
        ["make", *args],
        cwd=repo,
        env={**clean, **no_engine, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "env_file", "args", "expected"),
    [
        (
            {"APP_ENV": "production"},
            "",
            ("reset", "FORCE=1"),
            "reset: refusing to replace or delete the database: APP_ENV is 'production' in the "
            "shell;",
        ),
        (
            {},
            "POSTGRES_PORT=5433\nexport APP_ENV='production'  # the server's copy\n",
            ("reset", "FORCE=1", "HARD=1"),
            "reset: refusing to replace or delete the database: APP_ENV is 'production' in .env;",
        ),
        (
            {"APP_ENV": "production"},
            "",
            ("restore", "name=before-risky", "FORCE=1"),
            "restore: refusing to replace or delete the database: APP_ENV is 'production'",
        ),
        (
            # A TCP engine counts as another machine's; loopback here, so that a guard that
            # stopped guarding sends nothing off this machine.
            {"DOCKER_HOST": "tcp://127.0.0.1:9"},
            "",
            ("reset", "FORCE=1"),
            "reset: refusing to replace or delete the database: DOCKER_HOST is "
            "'tcp://127.0.0.1:9', a Docker engine on another machine;",
        ),
        # Compose's own reading of .env, where a line-by-line reading says development:
        (
            {},
            "APP_ENV: production\n",
            ("reset", "FORCE=1", "HARD=1"),
            "reset: refusing to replace or delete the database: APP_ENV is 'production' in .env;",
        ),
        (
            {},
            "\ufeffAPP_ENV=production\n",
            ("reset", "FORCE=1", "HARD=1"),
            "reset: refusing to replace or delete the database: APP_ENV is 'production' in .env;",
        ),
        (
            {},
            'APP_ENV=production\nNOTE="the old setting was\nAPP_ENV=development\n"\n',
            ("reset", "FORCE=1", "HARD=1"),
            "reset: refusing to replace or delete the database: APP_ENV is 'production' in .env;",
        ),
        (
            {},
            "APP_ENV=production\nbroken line\n",
            ("reset", "FORCE=1", "HARD=1"),
            "reset: refusing to replace or delete the database: Compose cannot read its "
            "configuration (",
        ),
    ],
    ids=[
        "app-env-in-shell",
        "app-env-in-env-file",
        "restore",
        "remote-docker-host",
        "yaml-style-env-file",
        "byte-order-mark",
        "multi-line-value-hiding-app-env",
        "unreadable-env-file",
    ],
)
def test_the_host_view_is_guarded_before_anything_runs(
    repo: Path, env: dict[str, str], env_file: str, args: tuple[str, ...], expected: str
) -> None:
    if env_file:
        (repo / ".env").write_text(env_file)

    refused = make_with(repo, env, *args)

    assert refused.returncode != 0
    assert refused.stderr.startswith(expected), refused.stderr


@pytest.mark.parametrize("ci", ["false", "0", "no", ""], ids=["false", "0", "no", "empty"])
def test_ci_counts_only_when_true(repo: Path, ci: str) -> None:
    refused = make_with(repo, {"CI": ci}, "reset")

    assert refused.returncode != 0
    assert refused.stderr.startswith(
        "reset: refusing to replace the database without confirmation; run: make reset FORCE=1"
    ), refused.stderr


# Make syntax in a value: make would run it while expanding the value (in $(if ...) or when
# it exports the value to a recipe), before any script could treat it as text.
MAKE_CODE = "$(shell touch pwned-make)"
# The command each target runs, replaced by one that prints its arguments, one per line.
PRINT_ARGS = "printf '<%s>\\n'"


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (("revision", f"m={MAKE_CODE}", f"REVISIONS={PRINT_ARGS}"), f"<{MAKE_CODE}>"),
        (("revision", "m=x", f"AUTO={MAKE_CODE}", f"REVISIONS={PRINT_ARGS}"), "<--autogenerate>"),
        (("merge", f"m={MAKE_CODE}", f"REVISIONS={PRINT_ARGS}"), f"<{MAKE_CODE}>"),
        (("sql", f"from={MAKE_CODE}", f"REVISIONS={PRINT_ARGS}"), f"<{MAKE_CODE}>"),
        (("sql", f"to={MAKE_CODE}", f"REVISIONS={PRINT_ARGS}"), f"<{MAKE_CODE}>"),
        (("stamp", f"rev={MAKE_CODE}", f"MIGRATOR={PRINT_ARGS}"), f"<{MAKE_CODE}>"),
        (("logs", f"s={MAKE_CODE}", f"COMPOSE={PRINT_ARGS}"), f"<{MAKE_CODE}>"),
        (("snapshot", f"name={MAKE_CODE}"), None),
        (("restore-backup", f"file={MAKE_CODE}"), None),
        (("rollback", f"STEPS={MAKE_CODE}"), None),
        (("renumber", f"BASE={MAKE_CODE}"), None),
        (("test-fast", f"args={MAKE_CODE}", "COMPILED_ENV=true"), None),
        (("k8s", f"IMAGE={MAKE_CODE}"), None),
        (("mark-database", f"env={MAKE_CODE}"), None),
        (("plan", f"format={MAKE_CODE}"), None),
    ],
    ids=lambda value: (
        "-".join(arg.split("=")[0] for arg in value[:2]) if isinstance(value, tuple) else ""
    ),
)
def test_make_passes_user_values_as_text_never_as_make_code(
    repo: Path, args: tuple[str, ...], printed: str | None
) -> None:
    # Compose is `false` unless the case prints what the target hands it.
    ran = subprocess.run(
        ["make", "COMPOSE=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert sorted(path.name for path in repo.glob("pwned-*")) == []
    if printed is not None:
        assert printed in ran.stdout.splitlines(), ran


def test_make_code_in_the_environment_is_text_too(repo: Path) -> None:
    ran = subprocess.run(
        ["make", "COMPOSE=false", "revision", f"REVISIONS={PRINT_ARGS}"],
        cwd=repo,
        env={**os.environ, "m": MAKE_CODE},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert sorted(path.name for path in repo.glob("pwned-*")) == []
    assert f"<{MAKE_CODE}>" in ran.stdout, ran

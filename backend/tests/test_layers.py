"""The package's layers, read from the imports themselves: the code the image runs (`api/`,
`db/`, `migrations/env.py`) never imports the host tooling (`revisions/`, `local_db/`,
`doctor/`, `deploy/`). Every import counts, including those inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alembic_support import BACKEND_DIR

PACKAGE = BACKEND_DIR / "src" / "chat_backend"
ENV_PY = BACKEND_DIR / "migrations" / "env.py"
TOOLING = (
    "chat_backend.revisions",
    "chat_backend.local_db",
    "chat_backend.doctor",
    "chat_backend.deploy",
)
# The runtime may use these of local_db: the one module that creates, renames and drops
# databases, and the target it takes (the migrator parks and swaps branches' data through it).
RUNTIME_MAY_USE = ("chat_backend.local_db.cluster", "chat_backend.local_db.target")
# What migrations/env.py may use: the settings, the models and the runtime in db/.
ENV_PY_ALLOWED = ("chat_backend.config", "chat_backend.models", "chat_backend.db")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package: str) -> Iterator[str]:
    """Every module `path` imports; relative imports resolved against `package`."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def outermost(modules: set[str]) -> list[str]:
    """`modules` without those inside another one listed (`a.b.C` goes when `a.b` is there)."""
    return sorted(m for m in modules if not within(m, tuple(modules - {m})))


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def runtime_modules() -> list[Path]:
    return sorted([*(PACKAGE / "api").rglob("*.py"), *(PACKAGE / "db").rglob("*.py")])


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


@pytest.mark.parametrize("path", runtime_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_runtime_never_imports_the_tooling(path: Path) -> None:
    upward = outermost(
        {
            module
            for module in imported_modules(path, package_of(path))
            if within(module, TOOLING) and not within(module, RUNTIME_MAY_USE)
        }
    )
    assert not upward, (
        f"{path.relative_to(PACKAGE)} imports {', '.join(upward)}: api/ and db/ run in the image "
        "and must not import revisions/, local_db/ or doctor/; move what both need into db/"
    )


def test_env_py_imports_only_config_models_and_db() -> None:
    outside = outermost(
        {
            module
            for module in imported_modules(ENV_PY, "")
            if within(module, ("chat_backend",)) and not within(module, ENV_PY_ALLOWED)
        }
    )
    assert not outside, (
        f"migrations/env.py imports {', '.join(outside)}: it may import only chat_backend's "
        "config, models and db; move the logic into db/"
    )


def test_imports_are_read_from_every_kind_of_statement(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import chat_backend.doctor\n"
        "from chat_backend.revisions import cli\n"
        "def late():\n"
        "    from ..local_db import target\n"
    )

    found = set(imported_modules(sample, "chat_backend.db"))

    assert {"chat_backend.doctor", "chat_backend.revisions.cli"} <= found
    assert "chat_backend.local_db.target" in found

"""The package's docstrings and the README's layout agree with the tree: each package's
`__init__` names every module in it, and the README names every folder of the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.alembic_support import BACKEND_DIR

PACKAGE = BACKEND_DIR / "src" / "chat_backend"
README = BACKEND_DIR.parent / "README.md"


def packages() -> list[Path]:
    return sorted(init.parent for init in PACKAGE.rglob("__init__.py"))


def docstring(package: Path) -> str:
    return ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""


@pytest.mark.parametrize("package", packages(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_each_package_docstring_names_its_modules_and_folders(package: Path) -> None:
    parts = [path.stem for path in package.glob("*.py") if not path.stem.startswith("__")]
    parts += [path.name for path in package.iterdir() if (path / "__init__.py").is_file()]
    missing = sorted(part for part in parts if part not in docstring(package))
    assert not missing, f"say what {missing} hold in {package.relative_to(BACKEND_DIR)}/__init__.py"


def test_the_readme_layout_names_every_folder_of_the_package() -> None:
    layout = README.read_text().partition("## Layout")[2].partition("\n## ")[0]
    # A tree, so each folder by its own name: `api/` under `src/chat_backend/`.
    missing = [package.name for package in packages() if f"{package.name}/ " not in layout]
    assert not missing, f"README.md's Layout section lacks {missing}"

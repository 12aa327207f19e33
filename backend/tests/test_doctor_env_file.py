"""doctor.env_file: .env against .env.example, and settings in Compose's order."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_backend.doctor.env_file import EnvFiles, check_env_files, read_env_text
from chat_backend.doctor.report import Level

EXAMPLE = """\
# Comment lines and blank ones are not settings.
APP_ENV=development
POSTGRES_PASSWORD=chat-dev-password
POSTGRES_PORT=5432

# A documented setting, unset by default:
# POSTGRES_IMAGE=postgres:17
# Values with $, # or spaces: wrap them in single quotes, e.g. POSTGRES_PASSWORD='x'
"""


def env_files(tmp_path: Path, env: str | None) -> EnvFiles:
    (tmp_path / ".env.example").write_text(EXAMPLE)
    if env is not None:
        (tmp_path / ".env").write_text(env)
    return EnvFiles.read(tmp_path)


def messages(files: EnvFiles) -> list[tuple[Level, str]]:
    return [(finding.level, finding.message) for finding in check_env_files(files)]


def test_values_lose_quotes_export_and_trailing_comments() -> None:
    text = "export A=1\nB='p@ss$w#rd'\nC=\"two words\"\nD=5432 # the port\nnot a setting\nA=2\n"
    assert read_env_text(text) == {"A": "2", "B": "p@ss$w#rd", "C": "two words", "D": "5432"}


def test_commented_out_settings_of_the_example_count_as_documented(tmp_path: Path) -> None:
    files = env_files(tmp_path, None)
    assert files.documented == {"APP_ENV", "POSTGRES_PASSWORD", "POSTGRES_PORT", "POSTGRES_IMAGE"}


def test_no_env_file_means_the_defaults(tmp_path: Path) -> None:
    assert messages(env_files(tmp_path, None)) == [
        (Level.OK, "no .env: the defaults apply (copy .env.example to .env to change a setting)")
    ]


def test_a_copy_of_the_example_is_fine(tmp_path: Path) -> None:
    files = env_files(tmp_path, EXAMPLE + "POSTGRES_IMAGE=mirror.example.com/postgres:17\n")
    assert [level for level, _ in messages(files)] == [Level.OK]


def test_missing_settings_are_named_in_one_warning(tmp_path: Path) -> None:
    files = env_files(tmp_path, "APP_ENV=development\n")
    assert messages(files) == [
        (
            Level.WARN,
            ".env lacks POSTGRES_PASSWORD, POSTGRES_PORT (the defaults apply): copy those lines "
            "from .env.example to see and change them",
        )
    ]


def test_an_unknown_setting_gets_the_closest_documented_name(tmp_path: Path) -> None:
    files = env_files(tmp_path, EXAMPLE + "POSTGRES_PASWORD=secret\nWHATEVER=1\n")
    assert messages(files) == [
        (
            Level.WARN,
            ".env sets POSTGRES_PASWORD, which .env.example does not document (did you mean "
            "POSTGRES_PASSWORD?): rename or remove it",
        ),
        (
            Level.WARN,
            ".env sets WHATEVER, which .env.example does not document: rename or remove it",
        ),
    ]


def test_the_container_host_name_in_env_is_called_out(tmp_path: Path) -> None:
    [(level, message)] = messages(env_files(tmp_path, EXAMPLE + "POSTGRES_HOST=db\n"))
    assert level is Level.WARN
    assert message.startswith("POSTGRES_HOST=db in .env: only containers can resolve `db`")


def test_a_missing_example_is_a_blocker(tmp_path: Path) -> None:
    assert [level for level, _ in messages(EnvFiles.read(tmp_path))] == [Level.FAIL]


@pytest.mark.parametrize(
    ("environ", "env", "expected"),
    [
        ({"POSTGRES_PORT": "7000"}, "POSTGRES_PORT=6000\n", "7000"),
        ({"POSTGRES_PORT": ""}, "POSTGRES_PORT=6000\n", "6000"),
        ({}, "APP_ENV=test\n", "5432"),
    ],
    ids=["environment-wins", "empty-is-unset", "example-default"],
)
def test_setting_follows_compose_precedence(
    tmp_path: Path, environ: dict[str, str], env: str, expected: str
) -> None:
    assert env_files(tmp_path, env).setting("POSTGRES_PORT", environ) == expected


def test_an_env_file_that_is_not_utf8_is_one_failure(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(EXAMPLE)
    (tmp_path / ".env").write_bytes(b"APP_ENV=development\nPOSTGRES_PASSWORD=caf\xe9-secret\n")

    assert messages(EnvFiles.read(tmp_path)) == [
        (Level.FAIL, ".env line 2: byte 0xe9 is not UTF-8; save the file as UTF-8")
    ]

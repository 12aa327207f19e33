"""doctor.report and doctor.commands: the printed lines, the exit status, version parsing."""

from __future__ import annotations

import io

import pytest

from chat_backend.doctor.commands import parse_version, run
from chat_backend.doctor.report import Report, fail, ok, warn
from chat_backend.doctor.tools import check_uv


def test_findings_print_one_line_each_and_a_blocker_fails() -> None:
    out = io.StringIO()
    report = Report(out=out)
    report.add(ok("Docker engine 27.1"), warn("old thing: update it"), fail("broken: fix it"))
    assert report.verdict() == 1
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "  ok    Docker engine 27.1",
        "  warn  old thing: update it",
        "  FAIL  broken: fix it",
    ]
    assert lines[-1].startswith("1 blocker(s): fix the FAIL lines above")


def test_warnings_alone_do_not_fail() -> None:
    report = Report(out=io.StringIO())
    report.add(warn("something to look at"))
    assert report.verdict() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.40.3\n", (2, 40, 3)), ("v2.32.0-desktop.1", (2, 32, 0)), ("20.10.24+dfsg1", (20, 10, 24))],
)
def test_versions_are_read_from_what_the_tools_print(text: str, expected: tuple[int, ...]) -> None:
    assert parse_version(text) == expected


def test_a_program_that_is_not_installed_is_none() -> None:
    assert run("no-such-program-for-the-doctor") is None


def test_uv_is_found_and_named_with_its_version() -> None:
    finding = check_uv()
    assert finding.message.startswith("uv ")

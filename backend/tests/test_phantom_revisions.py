"""A database at a revision the checkout lacks (a branch switch): `alembic upgrade head` rolls
it back from its stored source after a snapshot in development and test, and changes nothing,
with one line, in production, for a revision whose source was never stored, or for a command
other than upgrade. Two files declaring one revision id stop the migrator before it connects."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, create_engine, inspect
from sqlalchemy.pool import NullPool

from chat_backend.local_db import snapshots
from chat_backend.local_db.cluster import Cluster, connect, mark
from chat_backend.local_db.target import Target
from chat_backend.revisions.layout import MigrationLayout
from tests.branch_support import ADD_NICKNAME, COLUMN, DROP_NICKNAME, USERS, VERSION
from tests.checks_support import add_revision, copy_project
from tests.local_db_support import own_database, query

NICKNAMES = "SELECT string_agg(nickname, ',' ORDER BY nickname) FROM users"


@dataclass
class Checkout:
    """A copy of the migrations (the checkout) and a database migrated with its 004."""

    layout: MigrationLayout
    target: Target
    revision_004: Path

    @property
    def url(self) -> URL:
        return self.target.url(self.target.database)

    def scalar(self, sql: str) -> object:
        return query(self.target, sql)[0][0]

    def upgrade(self) -> None:
        command.upgrade(self.layout.config(self.url), "head")

    def switch_to_main(self) -> str:
        """`git checkout main`: 004's file is gone; return its text to bring it back."""
        source = self.revision_004.read_text()
        self.revision_004.unlink()
        return source


@pytest.fixture
def branch(tmp_path: Path, server: Target) -> Iterator[Checkout]:
    """On the branch: 004 adds a NOT NULL column, filled for two users, applied."""
    layout = copy_project(tmp_path)
    path = add_revision(
        layout,
        "004_add_nickname.py",
        revision="004",
        down_revision="003",
        upgrade=ADD_NICKNAME,
        downgrade=DROP_NICKNAME,
    )
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.create(target.database)
        mark(server, target.database, "test")
        checkout = Checkout(layout, target, path)
        command.upgrade(layout.config(checkout.url), "003")
        query(target, "INSERT INTO users (username) VALUES ('ada'), ('bob')")
        checkout.upgrade()
        yield checkout


def test_upgrade_rolls_a_phantom_back_after_a_snapshot_that_restores_its_data(
    branch: Checkout, server: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert branch.scalar(NICKNAMES) == "nick-ada,nick-bob"
    branch.switch_to_main()
    capsys.readouterr()

    branch.upgrade()

    assert branch.scalar(VERSION) == "003"
    assert branch.scalar(COLUMN) == 0
    assert branch.scalar(USERS) == "ada,bob"
    log = capsys.readouterr().err
    assert "Rolled back phantom revision 004 (not in this checkout) from its stored source" in log
    [restore] = [line for line in log.splitlines() if "bring it back with" in line]
    assert "The data as it was before is in snapshot" in restore
    name = restore.rsplit("make restore name=", 1)[1].rstrip("`")
    assert name.startswith("phantoms-")
    with Cluster.session(server) as cluster:
        snapshots.restore(cluster, branch.target.database, name)
    assert branch.scalar(NICKNAMES) == "nick-ada,nick-bob"
    assert branch.scalar(VERSION) == "004"


def test_back_on_the_branch_upgrade_applies_the_revision_again(branch: Checkout) -> None:
    source = branch.switch_to_main()
    branch.upgrade()
    branch.revision_004.write_text(source)

    branch.upgrade()

    assert branch.scalar(VERSION) == "004"
    assert branch.scalar(NICKNAMES) == "nick-ada,nick-bob"


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line printed besides Alembic's own INFO lines."""
    [line] = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("INFO")]
    return line


def refused(branch: Checkout, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the upgrade, which must exit 1 with one line; that line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        branch.upgrade()
    assert exited.value.code == 1
    return error_line(capsys)


def test_production_changes_nothing_and_says_so_in_one_line(
    branch: Checkout, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    branch.switch_to_main()
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("POSTGRES_PASSWORD", "a-real-production-password")

    line = refused(branch, capsys)

    assert line.startswith(
        "error: the database is at revision 004, which is not rolled back automatically here; "
        "nothing was changed: refusing to replace, delete or roll back data when APP_ENV is "
        "'production'"
    )
    assert branch.scalar(VERSION) == "004"
    assert branch.scalar(NICKNAMES) == "nick-ada,nick-bob"


def test_a_phantom_whose_source_was_never_stored_is_refused_in_one_line(
    branch: Checkout, capsys: pytest.CaptureFixture[str]
) -> None:
    query(branch.target, "UPDATE alembic_version_checksums SET source = NULL")  # an older database
    branch.switch_to_main()

    line = refused(branch, capsys)

    assert "the source of 004 was never stored" in line
    assert line.endswith(
        "nothing was changed: check out the branch that has it and run `make rollback`, "
        "or `make reset`"
    )
    assert branch.scalar(VERSION) == "004"
    assert branch.scalar(COLUMN) == 1


def test_commands_other_than_upgrade_change_nothing(
    branch: Checkout, capsys: pytest.CaptureFixture[str]
) -> None:
    branch.switch_to_main()
    capsys.readouterr()

    with pytest.raises(SystemExit) as exited:
        command.stamp(branch.layout.config(branch.url), "003")

    assert exited.value.code == 1
    assert "`make migrate` rolls it back" in capsys.readouterr().err
    assert branch.scalar(VERSION) == "004"


def test_two_files_declaring_one_id_stop_the_migrator_before_it_connects(
    tmp_path: Path, empty_database_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "004_add_avatar.py", revision="004", down_revision="003")
    capsys.readouterr()

    with pytest.raises(SystemExit) as exited:
        command.upgrade(layout.config(empty_database_url), "head")

    assert exited.value.code == 1
    line = error_line(capsys)
    assert line.startswith(
        "error: revision '004' is declared by 004_add_avatar.py and 004_add_phone.py"
    )
    assert line.endswith(
        "run `make renumber` to move this branch's revisions after the base branch's head"
    )
    engine = create_engine(empty_database_url, poolclass=NullPool)
    # Never touched: only the test's own environment marker is there.
    assert inspect(engine).get_table_names() == ["database_environment"]


def snapshots_of(server: Target, database: str) -> list[str]:
    with Cluster.session(server) as cluster:
        return [found.name for found in snapshots.listing(cluster, database)]


PAYLOAD = (
    "import pathlib\n"
    "pathlib.Path({marker!r}).write_text('ran')\n"
    "revision = '004'\ndown_revision = '003'\n"
    "def upgrade():\n    pass\n"
    "def downgrade():\n    pass\n"
)


@pytest.mark.parametrize("tampering", ["edited-source", "no-proof", "planted-row"])
def test_a_source_the_migrator_did_not_write_is_refused_and_never_imported(
    branch: Checkout, tmp_path: Path, capsys: pytest.CaptureFixture[str], tampering: str
) -> None:
    """Anyone who can write the database could plant a phantom whose code runs as the
    migrator; a sha256 beside it proves nothing. Only this clone's HMAC does."""
    marker = tmp_path / "payload-ran"
    payload = PAYLOAD.format(marker=str(marker))
    statement, values = {
        "edited-source": ("UPDATE alembic_version_checksums SET source = %s", (payload,)),
        "no-proof": (
            "UPDATE alembic_version_checksums SET source = %s, source_proof = NULL",
            (payload,),
        ),
        "planted-row": (
            "UPDATE alembic_version SET version_num = '005'; INSERT INTO "
            "alembic_version_checksums (revision, sha256, source, source_proof) VALUES "
            "('005', repeat('0', 64), %s, repeat('a', 64))",
            (payload.replace("'004'", "'005'").replace("'003'", "'004'"),),
        ),
    }[tampering]
    session = connect(branch.target, branch.target.database)
    try:
        with session, session.cursor() as cursor:
            cursor.execute(statement, values)
    finally:
        session.close()
    branch.switch_to_main()

    line = refused(branch, capsys)

    assert "carries no proof that this clone's migrator wrote it" in line
    assert line.endswith("or `make reset` (a fresh database at this checkout's head)")
    assert not marker.exists()
    assert snapshots_of(branch.target, branch.target.database) == []
    assert branch.scalar(COLUMN) == 1


def test_a_stored_source_that_cannot_load_is_one_line_and_leaves_no_snapshot(
    tmp_path: Path, server: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    """004 imports a module only its branch has: each retry on main is the same one line,
    and none of them leaves a snapshot behind."""
    helpers = tmp_path / "branch_only"
    helpers.mkdir()
    (helpers / "notes_helpers.py").write_text("COLUMN = 'nickname'\n")
    layout = copy_project(tmp_path / "project")
    path = add_revision(
        layout,
        "004_add_nickname.py",
        revision="004",
        down_revision="003",
        upgrade="import notes_helpers\n" + ADD_NICKNAME,
        downgrade=DROP_NICKNAME,
    )
    path.write_text("import notes_helpers  # noqa: F401\n" + path.read_text())
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.create(target.database)
        mark(server, target.database, "test")
        checkout = Checkout(layout, target, path)
        sys.path.insert(0, str(helpers))
        try:
            checkout.upgrade()
        finally:
            sys.path.remove(str(helpers))
            sys.modules.pop("notes_helpers", None)
        checkout.switch_to_main()

        lines = [refused(checkout, capsys) for _ in range(2)]

        assert lines[0] == lines[1]
        assert lines[0].startswith(
            "error: the stored source of phantom revision 004 (not in this checkout) cannot be "
            "loaded (ModuleNotFoundError: No module named 'notes_helpers'); nothing was changed"
        )
        assert snapshots_of(target, target.database) == []
        assert checkout.scalar(VERSION) == "004"


def test_a_stored_downgrade_that_commits_keeps_everything(
    tmp_path: Path, server: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = copy_project(tmp_path / "project")
    path = add_revision(
        layout,
        "004_add_nickname.py",
        revision="004",
        down_revision="003",
        upgrade=ADD_NICKNAME,
        downgrade=DROP_NICKNAME + '\nop.execute("COMMIT")',
    )
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.create(target.database)
        mark(server, target.database, "test")
        checkout = Checkout(layout, target, path)
        command.upgrade(layout.config(checkout.url), "003")
        query(target, "INSERT INTO users (username) VALUES ('ada')")
        checkout.upgrade()
        checkout.switch_to_main()

        line = refused(checkout, capsys)

        assert "a downgrade ran COMMIT inside a transaction that must stay whole" in line
        assert "the database is still at 004" in line
        assert checkout.scalar(COLUMN) == 1
        assert checkout.scalar(NICKNAMES) == "nick-ada"
        assert checkout.scalar(VERSION) == "004"

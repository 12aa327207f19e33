"""seed: one demo user with one chat, however many times (and however concurrently) it runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from chat_backend.config import Settings
from chat_backend.local_db.seed import Seeded, describe, main, schema_problem, seed

COUNTS = (
    "SELECT (SELECT count(*) FROM users WHERE username = 'demo'), "
    "(SELECT count(*) FROM ai_chats JOIN users ON users.id = ai_chats.user_id "
    "WHERE username = 'demo')"
)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as db:
        users, chats = db.execute(text(COUNTS)).one()
    return users, chats


def test_seed_creates_a_demo_user_with_a_chat(engine: Engine) -> None:
    seeded = seed(engine)
    assert (seeded.created_user, seeded.created_chat) == (True, True)
    assert counts(engine) == (1, 1)
    with engine.connect() as db:
        messages = db.scalar(text("SELECT jsonb_array_length(messages) FROM ai_chats"))
    assert messages == 2


def test_seeding_again_changes_nothing(engine: Engine) -> None:
    first = seed(engine)
    again = seed(engine)
    assert again == Seeded(first.user_id, created_user=False, created_chat=False)
    assert counts(engine) == (1, 1)


def test_concurrent_seeds_still_leave_one_of_each(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: seed(engine), range(4)))
    assert sum(result.created_user for result in results) == 1
    assert counts(engine) == (1, 1)


def test_a_deleted_chat_comes_back_for_the_existing_user(engine: Engine) -> None:
    first = seed(engine)
    with engine.begin() as db:
        db.execute(text("DELETE FROM ai_chats"))
    assert seed(engine) == Seeded(first.user_id, created_user=False, created_chat=True)


def test_the_outcome_is_one_line() -> None:
    assert describe(Seeded(1, True, True)) == (
        "seed: created user 'demo' (id 1); added its chat 'Welcome'"
    )
    assert describe(Seeded(1, False, False)) == (
        "seed: user 'demo' (id 1) and its chat 'Welcome' were already there"
    )


def test_a_database_behind_head_is_refused_with_the_fix(
    empty_database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # where alembic.ini is
    engine = create_engine(empty_database_url)
    try:
        problem = schema_problem(engine)
    finally:
        engine.dispose()
    assert problem is not None
    assert "run `make migrate`" in problem


def test_production_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(app_env="production", postgres_password="a-real-secret")
    with pytest.raises(SystemExit) as exited:
        main(settings)
    assert exited.value.code == 2
    assert "error: APP_ENV=production: sample data is for development databases only" in (
        capsys.readouterr().err
    )

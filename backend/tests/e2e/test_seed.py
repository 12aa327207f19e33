"""`make seed` through the Compose services: twice leaves one demo user with one chat."""

from __future__ import annotations

import httpx

from tests.e2e.compose_project import ComposeProject

DEMO = "SELECT count(*) FROM users WHERE username = 'demo'"
CHATS = "SELECT count(*) FROM ai_chats"


def test_seed_twice_leaves_one_demo_user_with_one_chat(stack: ComposeProject) -> None:
    first = stack.make("seed").stdout
    second = stack.make("seed").stdout
    assert "seed: created user 'demo'" in first
    assert "and its chat 'Welcome' were already there" in second
    assert (stack.sql(DEMO), stack.sql(CHATS)) == ("1", "1")


def test_the_api_serves_the_sample_data(stack: ComposeProject) -> None:
    base = f"http://127.0.0.1:{stack.backend_port}"
    users = httpx.get(f"{base}/users", timeout=5).json()["items"]
    demo = next(user for user in users if user["username"] == "demo")
    chats = httpx.get(f"{base}/users/{demo['id']}/chats", timeout=5).json()["items"]
    assert [chat["title"] for chat in chats] == ["Welcome"]

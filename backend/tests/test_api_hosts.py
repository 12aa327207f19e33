"""The Host header: the API answers only to the names it is served under (loopback, the
Compose service name, and API_ALLOWED_HOSTS), so that a web page whose name an attacker points
at 127.0.0.1 (DNS rebinding) cannot read or write through the browser."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from chat_backend.api import create_app
from chat_backend.api.host_check import MAX_REMEMBERED
from tests.api_support import CODE, app_client, settings_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "backend:8000", "LOCALHOST"]
)
async def test_loopback_and_the_service_name_are_served(database_url: URL, host: str) -> None:
    async with app_client(create_app(settings_for(database_url), CODE)) as client:
        response = await client.get("/users", headers={"host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "10.0.0.7", ""])
async def test_any_other_host_is_refused_before_the_database(database_url: URL, host: str) -> None:
    async with app_client(create_app(settings_for(database_url), CODE)) as client:
        response = await client.post("/users", json={"username": "x"}, headers={"host": host})
        assert response.status_code == 400
        assert (await client.get("/users")).json()["items"] == []


async def test_more_hosts_are_a_setting(database_url: URL) -> None:
    settings = settings_for(database_url).model_copy(
        update={"api_allowed_hosts": ("api.example.com", "10.0.0.7")}
    )
    async with app_client(create_app(settings, CODE)) as client:
        for host in ("api.example.com", "10.0.0.7:8000", "localhost"):
            response = await client.get("/health", headers={"host": host})
            assert response.status_code == 200, host
        refused = await client.get("/health", headers={"host": "other.example.com"})
        assert refused.status_code == 400


def test_api_allowed_hosts_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_ALLOWED_HOSTS", " api.example.com, 10.0.0.7 ,")
    settings = settings_for(URL.create("postgresql+psycopg2", host="localhost"))
    assert settings.api_allowed_hosts == ("api.example.com", "10.0.0.7")
    assert {"localhost", "backend", "api.example.com"} <= set(settings.allowed_hosts)


async def test_hosts_let_through_are_remembered_within_a_bound(database_url: URL) -> None:
    """The check remembers the Host values it let through (host_check.py); past its bound it
    still decides every request, and a refused name is refused however often it comes."""
    async with app_client(create_app(settings_for(database_url), CODE)) as client:
        for port in range(1, 2 * MAX_REMEMBERED):
            response = await client.get("/livez", headers={"host": f"localhost:{port}"})
            assert response.status_code == 200, port
        for _ in range(3):
            refused = await client.get("/livez", headers={"host": "attacker.example"})
            assert refused.status_code == 400

"""GET /health: liveness and database reachability."""

from __future__ import annotations

from pathlib import Path

import httpx

from skyslots.app import create_app
from tests.conftest import make_settings


async def test_health_reports_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] is True


async def test_health_is_503_without_a_database(tmp_path: Path) -> None:
    app = create_app(make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none", tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/health")
    assert response.status_code == 503
    assert (response.json()["status"], response.json()["database"]) == ("degraded", False)

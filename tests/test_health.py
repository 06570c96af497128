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


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        "/api/events": {"get", "post"},
        "/api/events/{event_id}": {"get", "patch", "delete"},
        "/api/events/{event_id}/slots": {"post"},
        "/api/events/{event_id}/slots/bulk": {"post"},
        "/api/slots/{slot_id}": {"patch", "delete"},
        "/api/slots/{slot_id}/book": {"post"},
        "/api/bookings/{booking_id}/release": {"post"},
        "/api/events/{event_id}/bookings": {"get"},
        "/api/events/{event_id}/audit": {"get"},
        "/api/auth/token": {"post"},
        "/health": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert paths["/api/slots/{slot_id}/book"]["post"]["description"]
    assert (await client.get("/docs")).status_code == 200

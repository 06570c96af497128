"""Security headers on every kind of response, HSTS and Secure cookies in production, and the
API docs under their own policy."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from skyslots.app import create_app
from tests.conftest import make_settings

EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize("path", ["/", "/api/events", "/health", "/static/app.css", "/nowhere",
                                  "/login", "/openapi.json"])  # fmt: skip
async def test_every_response_has_the_headers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    for name, value in EVERYWHERE.items():
        assert response.headers[name] == value, (path, name)
    policy = response.headers["content-security-policy"]
    script = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script == "script-src 'self'"  # no inline scripts, no eval
    assert "frame-ancestors 'none'" in policy
    assert "strict-transport-security" not in response.headers  # not outside production


async def test_production_adds_hsts_and_a_secure_session_cookie(
    sqlite_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(sqlite_url, tmp_path, env="production"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            page = await http.get("/login")
            assert page.headers["strict-transport-security"].startswith("max-age=31536000")
            cookie = page.headers.get("set-cookie", "")
            assert "secure" in cookie.lower(), cookie


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_api_docs_run_their_one_inline_script_by_nonce(
    client: httpx.AsyncClient, path: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce is not None
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert all(f'nonce="{nonce.group(1)}"' in attrs for attrs in inline)
    assert inline or path == "/redoc"  # ReDoc starts from its element, without inline script
    again = await client.get(path)
    assert nonce.group(1) not in again.headers["content-security-policy"]  # fresh each time

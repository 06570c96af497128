"""Storage on both back ends: a real SeaweedFS S3 server, and the local folder served by a real
`skyslots serve` at /files/... Downloads are fetched with plain HTTP."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest
from fastapi import FastAPI

from skyslots.config import Settings
from skyslots.storage import StorageUnavailable, prepare, storage_for
from skyslots.storage.base import Storage
from skyslots.storage.cleanup import clean_storage
from skyslots.storage.download import download_response
from skyslots.storage.keys import INCOMING
from skyslots.storage.local import LocalStorage
from skyslots.storage.s3 import S3Storage
from tests.s3_server import S3Server
from tests.servers import SECRET_KEY, RunningServer, free_port, start_server


@pytest.fixture(scope="module")
def files_server(
    sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real server whose local storage folder the tests write to."""
    data = tmp_path_factory.mktemp("files-data")
    with start_server(sqlite_url, env={"SKYSLOTS_DATA_DIR": str(data)}) as server:
        server.data_dir = data  # type: ignore[attr-defined]
        yield server


@dataclass
class Backend:
    name: str
    storage: Storage
    settings: Settings


def make_settings(tmp_path: Path, **fields: object) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=SECRET_KEY, env="test", redis_url=None, **fields)


@pytest.fixture(params=["local", "s3"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Settings]:
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        return "s3", make_settings(tmp_path, **server.settings(bucket=server.shared_bucket))
    files: RunningServer = request.getfixturevalue("files_server")
    data_dir = files.data_dir  # type: ignore[attr-defined]
    return "local", make_settings(data_dir, public_url=files.base_url)


@pytest.fixture
async def backend(backend_settings: tuple[str, Settings]) -> Backend:
    """Each test that uses it runs on both back ends, the storage ready."""
    name, settings = backend_settings
    storage = storage_for(settings)
    assert isinstance(storage, S3Storage if name == "s3" else LocalStorage)
    await storage.ensure_ready()
    return Backend(name, storage, settings)


def fresh(name: str) -> str:
    return f"tests/{secrets.token_hex(6)}/{name}"


async def test_put_get_exists_list_delete(backend: Backend) -> None:
    storage = backend.storage
    key = fresh("report/v1.csv")
    assert await storage.get(key) is None
    assert not await storage.exists(key)
    await storage.put(key, b"a,b\n1,2\n", content_type="text/csv")
    assert await storage.get(key) == b"a,b\n1,2\n"
    assert await storage.exists(key)
    prefix = key.rsplit("/", 1)[0] + "/"
    listed = await storage.list(prefix)
    assert [(o.key, o.size) for o in listed] == [(key, 8)]
    assert listed[0].modified.tzinfo is not None
    assert await storage.list(prefix + "nothing") == []
    await storage.delete([key, fresh("never-there.txt")])  # a missing one is no error
    assert not await storage.exists(key)
    assert await storage.list(prefix) == []


async def test_download_url_is_fetched_with_plain_http(backend: Backend) -> None:
    key = fresh("calendar/v3.ics")
    body = "BEGIN:VCALENDAR\r\nSUMMARY:Zoë\r\nEND:VCALENDAR\r\n".encode()
    await backend.storage.put(key, body, content_type="text/calendar")
    url = backend.storage.download_url(key, filename="Zoë event.ics", content_type="text/calendar")
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.content == body
    assert answer.headers["content-type"].startswith("text/calendar")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Zo%C3%AB%20event.ics" in disposition


async def test_download_url_expires(backend: Backend) -> None:
    key = fresh("export/v1.csv")
    await backend.storage.put(key, b"x", content_type="text/csv")
    # The signing time is kept to the second, so a URL is good for LIFETIME - 1 to LIFETIME s:
    # 1 s left a loaded machine no time for the first request.
    lifetime = 3
    url = backend.storage.download_url(key, expires_seconds=lifetime)
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        await asyncio.sleep(lifetime + 1.5)
        assert (await http.get(url)).status_code == 403


async def test_default_lifetime_is_presign_seconds(backend: Backend) -> None:
    key = fresh("export/v1.csv")
    await backend.storage.put(key, b"x", content_type="text/csv")
    url = backend.storage.download_url(key)
    query = httpx.URL(url).params
    if backend.name == "s3":
        assert query["X-Amz-Expires"] == "600"
    else:
        import time

        assert 595 <= int(query["expires"]) - time.time() <= 601


async def test_altered_url_is_refused(backend: Backend) -> None:
    key, other = fresh("a/v1.txt"), fresh("a/v2.txt")
    for name in (key, other):
        await backend.storage.put(name, b"secret", content_type="text/plain")
    url = httpx.URL(backend.storage.download_url(key, filename="a.txt"))
    name = "X-Amz-Signature" if backend.name == "s3" else "signature"
    signature = url.params[name]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    async with httpx.AsyncClient() as http:
        assert (await http.get(url.copy_set_param(name, flipped))).status_code == 403
        assert (await http.get(url.copy_set_param("filename", "b.txt"))).status_code in (
            (403,) if backend.name == "local" else (200, 403)  # S3 signs only its own params
        )
        moved = str(url).replace(key.rsplit("/", 1)[1], other.rsplit("/", 1)[1])
        assert (await http.get(moved)).status_code == 403
        unsigned = str(url).split("?", 1)[0]
        assert (await http.get(unsigned)).status_code == 403


async def test_missing_file_is_404_with_a_valid_signature(backend: Backend) -> None:
    url = backend.storage.download_url(fresh("gone/v1.txt"))
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 404


async def test_the_bucket_or_folder_is_created_when_missing(
    s3_server: S3Server, tmp_path: Path
) -> None:
    local = storage_for(make_settings(tmp_path / "new"))
    assert await prepare(local)
    assert (tmp_path / "new" / "files").is_dir()

    server = s3_server
    fields = server.settings()
    s3 = storage_for(make_settings(tmp_path, **fields))
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    )
    names = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert fields["s3_bucket"] not in names
    assert await prepare(s3)
    assert await prepare(s3)  # again: the bucket is there, no error
    assert fields["s3_bucket"] in {b["Name"] for b in client.list_buckets()["Buckets"]}


async def test_first_use_makes_the_bucket_when_the_start_could_not(
    s3_server: S3Server, tmp_path: Path
) -> None:
    storage = storage_for(make_settings(tmp_path, **s3_server.settings()))
    await storage.put("events/1/calendar/v1.ics", b"x", content_type="text/calendar")  # no start
    assert await storage.get("events/1/calendar/v1.ics") == b"x"


async def test_unreachable_storage_fails_fast_and_clearly(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key="k",
        s3_secret_key="s",
    )
    storage = storage_for(settings)
    assert not await prepare(storage)  # a warning, not an error: the app starts anyway
    with pytest.raises(StorageUnavailable):
        await storage.put("events/1/calendar/v1.ics", b"x", content_type="text/calendar")
    with pytest.raises(StorageUnavailable):
        await storage.get("events/1/calendar/v1.ics")


async def test_cleanup_keeps_the_newest_object_of_each_artifact(backend: Backend) -> None:
    storage, base = backend.storage, fresh("")
    calendar = [f"{base}events/7/calendar/v{n}.ics" for n in (8, 9, 10)]
    for key in calendar:
        await storage.put(key, key.encode(), content_type="text/calendar")
        await asyncio.sleep(1.1)  # S3 stamps objects to the second
    single = f"{base}events/7/roster-image/v3.png"
    await storage.put(single, b"png", content_type="image/png")

    assert await clean_storage(storage, grace_seconds=3600, prefix=base) == 0  # all too recent
    assert await clean_storage(storage, grace_seconds=0, prefix=base) == 2
    assert sorted(o.key for o in await storage.list(base)) == [calendar[-1], single]
    assert await clean_storage(storage, grace_seconds=0, prefix=base) == 0


async def test_inline_streaming_and_redirect(backend: Backend) -> None:
    storage = backend.storage
    key = fresh("export/v1.csv")
    body = b"".join(b"row %06d\n" % n for n in range(40_000))  # several chunks
    await storage.put(key, body, content_type="text/csv")
    assert b"".join([chunk async for chunk in storage.stream(key)]) == body

    app = FastAPI()

    @app.get("/artifact")
    async def artifact(inline: bool = False) -> object:
        return await download_response(
            storage, key, filename="roster.csv", content_type="text/csv", inline=inline
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        streamed = await http.get("/artifact", params={"inline": "1"})
        redirected = await http.get("/artifact")
    assert streamed.status_code == 200
    assert streamed.content == body
    assert streamed.headers["content-type"].startswith("text/csv")
    assert streamed.headers["content-disposition"].startswith("inline;")
    assert redirected.status_code == 307
    async with httpx.AsyncClient() as http:
        fetched = await http.get(redirected.headers["location"])
    assert fetched.status_code == 200
    assert fetched.content == body


async def test_put_is_atomic(backend: Backend) -> None:
    """A reader polling the final key sees nothing, the old or the new object: never a part."""
    storage = backend.storage
    key = fresh("export/v1.pdf")
    old, new = b"o" * 6_000_000, b"n" * 6_000_000
    await storage.put(key, old, content_type="application/pdf")
    seen: set[int] = set()
    done = asyncio.Event()

    async def reader() -> None:
        while not done.is_set():
            data = await storage.get(key)
            assert data in (old, new), f"partial object of {len(data or b'')} bytes"
            seen.add(len(data or b""))

    polling = asyncio.create_task(reader())
    await storage.put(key, new, content_type="application/pdf")
    done.set()
    await polling
    assert await storage.get(key) == new
    assert await storage.list(INCOMING) == []  # the temporary upload is gone
    assert [o.key for o in await storage.list(key.rsplit("/", 1)[0])] == [key]


async def test_keys_are_checked(backend: Backend) -> None:
    for bad in ("../secret_key", "/etc/passwd", "a//b", ".incoming/x", "a/../b", ""):
        with pytest.raises(ValueError):
            await backend.storage.put(bad, b"x", content_type="text/plain")
    if backend.name == "local":
        base = backend.settings.public_url
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{base}/files/..%2Fsecret_key?expires=9999999999&signature=x")
        assert answer.status_code in (403, 404)


async def test_the_app_starts_and_books_with_storage_down(sqlite_url: str, tmp_path: Path) -> None:
    from skyslots.app import create_app

    settings = make_settings(
        tmp_path,
        database_url=sqlite_url,
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key="k",
        s3_secret_key="s",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert isinstance(app.state.storage, S3Storage)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            assert (await http.get("/health")).status_code == 200
            events = await http.get("/api/events")
        assert events.status_code == 200

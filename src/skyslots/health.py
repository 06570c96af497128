from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from skyslots import __version__
from skyslots.accounts.deps import DatabaseDep
from skyslots.readiness import readiness

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(db: DatabaseDep) -> JSONResponse:
    """Liveness and database reachability (503 when the database cannot be reached)."""
    database_ok = await db.ping()
    return JSONResponse(
        {
            "status": "ok" if database_ok else "degraded",
            "database": database_ok,
            "version": __version__,
        },
        status_code=200 if database_ok else 503,
    )


@router.get("/health/ready")
async def ready(request: Request, db: DatabaseDep) -> JSONResponse:
    """Readiness: database, Redis (when configured), storage and a worker heartbeat within the
    last minute; 503 with `failed` naming the checks that did not pass."""
    state = request.app.state
    report = await readiness(state.settings, db, state.storage)
    return JSONResponse(report, status_code=503 if report["failed"] else 200)

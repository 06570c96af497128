from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from skyslots import __version__
from skyslots.accounts.deps import DatabaseDep

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

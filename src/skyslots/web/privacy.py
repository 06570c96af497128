"""The privacy page: what is stored, why, for how long, and how to get or delete it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from skyslots.accounts.deps import SettingsDep
from skyslots.web.templating import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/privacy")
async def privacy_page(request: Request, settings: SettingsDep) -> Response:
    """What SkySlots stores about bookers and organizers, and for how long."""
    return render(request, "privacy.html", {"retention_days": settings.retention_days})

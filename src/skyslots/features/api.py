from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from skyslots.accounts.deps import AdminUser, DatabaseDep
from skyslots.features.deps import features_of
from skyslots.features.flags import BY_NAME
from skyslots.features.service import FlagState, feature_reset, feature_states, feature_toggle

router = APIRouter(prefix="/api/features", tags=["features"])
FlagName = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[a-z_]+$", examples=["waitlist"])
]


class FeaturesOut(BaseModel):
    features: dict[str, bool] = Field(examples=[{name: True for name in BY_NAME}])


class FeatureToggle(BaseModel):
    enabled: bool


class FeatureOut(BaseModel):
    name: str
    enabled: bool
    default: bool
    source: str = Field(description="`toggle` (an admin's), `environment` or `default`")
    updated_at: datetime | None


def _out(state: FlagState) -> FeatureOut:
    return FeatureOut(
        name=state.name,
        enabled=state.enabled,
        default=state.default,
        source=state.source,
        updated_at=state.updated_at,
    )


@router.get("")
async def list_features(request: Request) -> FeaturesOut:
    """The effective feature flags (an admin's toggle > SKYSLOTS_FEATURES > the default)."""
    return FeaturesOut(features=await features_of(request).effective())


@router.put("/{name}")
async def toggle_feature(
    name: FlagName, data: FeatureToggle, request: Request, db: DatabaseDep, user: AdminUser
) -> FeatureOut:
    """Admin: turn a flag on or off; it wins over SKYSLOTS_FEATURES until reset."""
    features = features_of(request)
    await db.transaction(feature_toggle, name=name, enabled=data.enabled, user=user)
    features.invalidate()
    states = await db.read(feature_states, baseline=features.baseline)
    return _out(next(s for s in states if s.name == name))


@router.delete("/{name}", status_code=204)
async def reset_feature(
    name: FlagName, request: Request, db: DatabaseDep, user: AdminUser
) -> Response:
    """Admin: drop the toggle; the flag is back to SKYSLOTS_FEATURES or its default."""
    await db.transaction(feature_reset, name=name, user=user)
    features_of(request).invalidate()
    return Response(status_code=204)

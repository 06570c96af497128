"""Gating routes on a flag (`requires_feature`), and the middleware that gives every request
the effective set (pages hide what is off)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from skyslots.errors import NotFound
from skyslots.features.flags import BY_NAME
from skyslots.features.service import Features

SCOPE_KEY = "features"  # scope["features"]: this request's effective set


class FeatureOff(NotFound):
    code = "feature_off"


def features_of(request: Request) -> Features:
    features: Features = request.app.state.features
    return features


def request_features(request: Request) -> dict[str, bool]:
    """The effective set this request saw (the middleware's), or the last known one."""
    seen: dict[str, bool] | None = request.scope.get(SCOPE_KEY)
    return seen if seen is not None else features_of(request).known()


def requires_feature(name: str) -> Any:
    """A dependency for a route or router: 404 `feature_off` while flag `name` is off."""
    if name not in BY_NAME:
        raise ValueError(f"no feature flag {name!r}")

    async def feature_required(request: Request) -> None:
        if not request_features(request)[name]:
            raise FeatureOff(f"This feature ({name}) is turned off on this site.")

    feature_required.feature_flag = name  # type: ignore[attr-defined]  # openapi.py: a 404
    return Depends(feature_required)


class FeaturesMiddleware:
    """Reads the effective set (cached, ≤ TTL old) once per HTTP request into the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            features: Features | None = getattr(scope["app"].state, "features", None)
            if features is not None:
                scope[SCOPE_KEY] = await features.effective()
        await self.app(scope, receive, send)

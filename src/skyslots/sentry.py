"""Sentry for the app and the worker when SKYSLOTS_SENTRY_DSN is set: errors (unhandled
exceptions, failed tasks, ERROR log lines) with no personal data: no request bodies, cookies,
Authorization or token headers, query strings, users or local variables, and every string
scrubbed of emails and recognisable tokens (the same rules as the logs)."""

from __future__ import annotations

import logging
from typing import Any

from skyslots import __version__
from skyslots.config import Settings
from skyslots.logs import is_secret_key, scrub

log = logging.getLogger(__name__)
DROPPED_REQUEST_PARTS = ("data", "cookies", "query_string", "env")
# sentry-sdk 3's per-category switches: no user, cookies, bodies, query strings, SQL parameters,
# message payloads or local variables; headers only past the SDK's own denylist (before_send
# drops the rest).
NO_PERSONAL_DATA: dict[str, Any] = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "database_query_data": False,
    "queues": False,
    "stack_frame_variables": False,
    "gen_ai": {"inputs": False, "outputs": False},
}


def _request(request: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in request.items() if k not in DROPPED_REQUEST_PARTS}
    headers = kept.get("headers")
    if isinstance(headers, dict):
        kept["headers"] = {k: v for k, v in headers.items() if not is_secret_key(k)}
    url = kept.get("url")
    if isinstance(url, str):
        kept["url"] = url.split("?", 1)[0]
    return kept


def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """What leaves for Sentry: the event without the request's personal parts, scrubbed."""
    event.pop("user", None)
    if isinstance(event.get("request"), dict):
        event["request"] = _request(event["request"])
    scrubbed: dict[str, Any] = scrub(event)
    return scrubbed


def before_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    scrubbed: dict[str, Any] = scrub(crumb)
    return scrubbed


def init_sentry(settings: Settings, *, component: str) -> bool:
    """Turn Sentry on for this process (`component`: app, worker, beat); False without a DSN."""
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.fastapi import FastApiIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=f"skyslots@{__version__}",
        environment=settings.env,
        data_collection=NO_PERSONAL_DATA,  # type: ignore[arg-type]
        max_request_body_size="never",
        before_send=before_send,  # type: ignore[arg-type]
        before_breadcrumb=before_breadcrumb,  # type: ignore[arg-type]
        auto_session_tracking=False,
        send_client_reports=False,
        traces_sample_rate=None,
        integrations=[
            StarletteIntegration(),
            FastApiIntegration(),
            CeleryIntegration(),
            # Errors become events and INFO lines breadcrumbs; no log lines are shipped as logs.
            LoggingIntegration(
                level=None, event_level=logging.ERROR, breadcrumb_level=logging.INFO
            ),
        ],
    )
    sentry_sdk.set_tag("component", component)
    log.info("sentry: on for the %s (environment %s)", component, settings.env)
    return True

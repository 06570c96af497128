"""create_app(): routers, middleware, error handlers and lifespan; no business logic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from skyslots import __version__
from skyslots.accounts.api import router as auth_router
from skyslots.audit.api import router as audit_router
from skyslots.bookings.api import router as bookings_router
from skyslots.calendars.api import router as calendars_router
from skyslots.config import Settings, get_settings
from skyslots.db import Database
from skyslots.errors import install_error_handlers
from skyslots.events.api import router as events_router
from skyslots.exports.api import router as exports_router
from skyslots.exports.withdraw import STORAGE_KEY
from skyslots.features.api import router as features_router
from skyslots.features.deps import FeaturesMiddleware
from skyslots.features.service import features_wired
from skyslots.health import router as health_router
from skyslots.holds.api import router as holds_router
from skyslots.idempotency.middleware import IdempotencyMiddleware
from skyslots.jobs.running import jobs_running
from skyslots.jobs.warm import artifacts_warming
from skyslots.logs import configure_logging
from skyslots.me.api import router as me_router
from skyslots.metrics import metrics
from skyslots.metrics.exposition import router as metrics_router
from skyslots.metrics.middleware import RequestObserver
from skyslots.metrics.multiproc import mark_dead
from skyslots.openapi import install_openapi
from skyslots.organizers.api import router as organizers_router
from skyslots.outbox.api import router as deliveries_router
from skyslots.privacy.api import router as privacy_router
from skyslots.ratelimit.limiter import RateLimiter
from skyslots.realtime.engine import realtime_running
from skyslots.realtime.polling import router as realtime_polling_router
from skyslots.realtime.ws import router as realtime_ws_router
from skyslots.sentry import init_sentry
from skyslots.slots.api import router as slots_router
from skyslots.storage.factory import prepare as prepare_storage
from skyslots.storage.factory import storage_for
from skyslots.storage.files import router as files_router
from skyslots.tokens.api import router as tokens_router
from skyslots.waitlist.api import router as waitlist_router
from skyslots.web import install_web
from skyslots.web.headers import SecurityHeadersMiddleware, install_docs
from skyslots.web.templating import http_error_page
from skyslots.webhooks.api import router as webhooks_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    init_sentry(settings, component="app")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = Database(settings)
        app.state.features = features_wired(settings, app.state.database)
        app.state.rate_limiter = RateLimiter.from_settings(settings, app.state.features)
        app.state.storage = storage_for(settings)
        await prepare_storage(app.state.storage)  # storage that is down only logs a warning
        app.state.database.share_with_sessions(**{STORAGE_KEY: app.state.storage})
        metrics()  # this process's series exist (at 0) before its first request
        try:
            async with (
                realtime_running(settings, app.state.database) as app.state.realtime,
                jobs_running(settings, app.state.database, app.state.storage),
                artifacts_warming(settings, app.state.database, app.state.storage),
            ):
                yield
        finally:
            await app.state.database.dispose()
            mark_dead()  # this process's open-socket gauge leaves the sum

    app = FastAPI(
        title="SkySlots",
        version=__version__,
        summary="Slot booking for VATSIM events: ATC positions and pilot slots, live.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app, page=http_error_page)
    for router in (
        health_router,
        metrics_router,
        auth_router,
        events_router,
        slots_router,
        bookings_router,
        holds_router,
        waitlist_router,
        audit_router,
        deliveries_router,
        privacy_router,
        webhooks_router,
        exports_router,
        organizers_router,
        tokens_router,
        realtime_polling_router,
        realtime_ws_router,
        files_router,
        calendars_router,
        me_router,
        features_router,
    ):
        app.include_router(router)
    install_web(app, settings)
    install_docs(app)
    install_openapi(app)  # after every route: it documents each one's errors
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(FeaturesMiddleware)  # the effective flags in every request's scope
    app.add_middleware(SecurityHeadersMiddleware, production=settings.env == "production")
    # Outside the others (its request id and status cover their answers), inside the proxy
    # headers (its log line names the forwarded client).
    app.add_middleware(RequestObserver)
    if settings.trusted_proxy_list:
        # The client's address (rate limits, holds) from X-Forwarded-For, only behind these.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app

"""Sign in with VATSIM Connect: authorization code with `state` and PKCE (docs/security.md).

`/auth/vatsim/login` sends the browser to VATSIM with a fresh `state` and S256 challenge, kept
(with the verifier, `next` and the redirect URL) in a short-lived signed cookie scoped to
/auth/vatsim; `/auth/vatsim/callback` checks the state, drops the cookie (one use), trades the
code for the member's profile and starts the ordinary web session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep, SettingsDep, has_organizer_duties
from skyslots.config import Settings
from skyslots.errors import NotFound, SkySlotsError
from skyslots.ratelimit.deps import client_address, limiter_of
from skyslots.ratelimit.limiter import RateLimited
from skyslots.vatsim.client import VatsimConnect, VatsimFailed
from skyslots.vatsim.service import user_from_vatsim
from skyslots.web.auth import safe_next
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/auth/vatsim", route_class=PageRoute, include_in_schema=False)

FLOW_COOKIE = "skyslots_vatsim"
FLOW_PATH = "/auth/vatsim"
FLOW_SECONDS = 600  # a sign-in not finished in 10 minutes starts again
CALLBACK_PATH = "/auth/vatsim/callback"


@dataclass(frozen=True)
class Flow:
    """One sign-in under way: what the callback must find again."""

    state: str
    code_verifier: str
    next: str
    redirect_uri: str


class FlowCodec:
    """base64url(JSON) + "." + base64url(HMAC-SHA256), a key of its own derived from the secret."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"skyslots vatsim flow", hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def dumps(self, flow: Flow) -> str:
        data = {
            "s": flow.state,
            "v": flow.code_verifier,
            "n": flow.next,
            "r": flow.redirect_uri,
            "e": int(time.time()) + FLOW_SECONDS,
        }
        payload = json.dumps(data, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._sign(payload)}"

    def loads(self, value: str | None) -> Flow | None:
        """The flow in a valid, unexpired cookie, else None."""
        try:
            encoded, signature = (value or "").split(".", 1)
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if not hmac.compare_digest(signature, self._sign(payload)):
                return None
            data: dict[str, Any] = json.loads(payload)
            if int(data["e"]) < time.time():
                return None
            return Flow(str(data["s"]), str(data["v"]), str(data["n"]), str(data["r"]))
        except (ValueError, KeyError, TypeError):
            return None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def redirect_uri(request: Request, settings: Settings) -> str:
    """The callback's absolute URL: on SKYSLOTS_PUBLIC_URL when it is set, else the request's."""
    if settings.public_url_is_set:
        return settings.public_url + CALLBACK_PATH
    return str(request.url_for("vatsim_callback"))


def _connect(settings: Settings) -> VatsimConnect:
    if not settings.vatsim_enabled:
        raise NotFound("Sign-in with VATSIM is not set up on this site.", code="vatsim_off")
    return VatsimConnect(settings)


def _flow_cookie(response: Response, request: Request, settings: Settings, value: str) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=FLOW_SECONDS if value else 0,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # sent on VATSIM's top-level redirect back to the callback
        secure=settings.env == "production" or request.url.scheme == "https",
    )


@router.get("/login")
async def vatsim_login(
    request: Request, settings: SettingsDep, next: str | None = None
) -> Response:
    """Start a VATSIM sign-in: to VATSIM's authorization page with `state` and PKCE."""
    connect = _connect(settings)
    uri = redirect_uri(request, settings)
    authorization = connect.authorization(uri)
    flow = Flow(authorization.state, authorization.code_verifier, safe_next(next, "/"), uri)
    response = RedirectResponse(authorization.url, status_code=303)
    _flow_cookie(response, request, settings, FlowCodec(settings.secret_key).dumps(flow))
    return response


class SignInFailed(SkySlotsError):
    status_code = 400
    code = "vatsim_failed"


def _failed(request: Request, error: SkySlotsError, next_path: str = "/") -> Response:
    retry = f"{FLOW_PATH}/login?next={quote(next_path, safe='')}"
    return render(
        request, "vatsim_failed.html", {"error": error, "retry": retry}, status=error.status_code
    )


@router.get("/callback", name="vatsim_callback")
async def vatsim_callback(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """VATSIM's redirect back: check the state, fetch the member, sign them in."""
    connect = _connect(settings)
    flow = FlowCodec(settings.secret_key).loads(request.cookies.get(FLOW_COOKIE))
    try:  # sign-in's per-address limit, before VATSIM is asked about the code
        await limiter_of(request).hit("signin_per_address", client_address(request))
    except RateLimited as refused:
        response = _failed(request, SignInFailed(
            f"Too many sign-in attempts; try again in {refused.retry_after} s.",
            code="rate_limited",
        ))  # fmt: skip
        response.status_code = 429
        response.headers.update(refused.headers())
    else:
        response = await _finish(request, db, connect, flow, code=code, state=state, error=error)
    _flow_cookie(response, request, settings, "")  # one use, whatever the outcome
    return response


async def _finish(
    request: Request,
    db: DatabaseDep,
    connect: VatsimConnect,
    flow: Flow | None,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
) -> Response:
    if flow is None or not state or not secrets.compare_digest(state, flow.state):
        return _failed(
            request,
            SignInFailed(
                "This sign-in link has expired or was started in another window. "
                "Please start again.",
                code="vatsim_state_mismatch",
            ),
        )
    if error == "access_denied":
        web_session(request).flash("info", "You cancelled signing in with VATSIM.")
        return RedirectResponse(f"/login?next={quote(flow.next, safe='')}", status_code=303)
    if error or not code:
        return _failed(
            request,
            SignInFailed("VATSIM did not complete the sign-in.", code="vatsim_refused"),
            flow.next,
        )
    try:
        profile = await connect.profile(
            code=code, redirect_uri=flow.redirect_uri, code_verifier=flow.code_verifier
        )
    except VatsimFailed as failed:
        problem = SignInFailed(failed.reason, code=failed.code)
        if failed.code == "vatsim_unavailable":
            problem.status_code = 502
        return _failed(request, problem, flow.next)
    try:
        user = await db.transaction(user_from_vatsim, profile=profile)
    except SkySlotsError as refused:
        return _failed(request, refused, flow.next)
    assert user.id is not None
    session = web_session(request)
    session.login(user.id, user.name, staff=await has_organizer_duties(db, user))
    session.flash("success", f"Welcome, {user.name}.")
    return RedirectResponse(flow.next, status_code=303)

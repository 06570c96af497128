"""VATSIM Connect's OAuth 2.0 endpoints through authlib's httpx client.

`authorization()` makes the URL to send the browser to (with `state` and an S256 PKCE
challenge); `profile()` trades the callback's code (with the verifier) for a token and reads
`/api/user`. Failures become `VatsimFailed` with a reason a person can read; tokens, codes and
emails are never logged.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from skyslots.config import Settings
from skyslots.vatsim.profile import ProfileInvalid, VatsimProfile, parse_profile

log = logging.getLogger(__name__)

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
USER_PATH = "/api/user"
SCOPES = "full_name email vatsim_details"


class VatsimFailed(Exception):
    """The sign-in could not be completed; `reason` is shown to the member."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    code_verifier: str


class VatsimConnect:
    """The client registered at VATSIM (SKYSLOTS_VATSIM_CLIENT_ID / _SECRET / _BASE_URL)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.vatsim_client_id is not None
        self.client_id = settings.vatsim_client_id
        self.client_secret = settings.vatsim_client_secret
        self.base_url = settings.vatsim_base_url
        self.timeout = settings.vatsim_timeout_seconds

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_post",
            scope=SCOPES,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
            headers={"Accept": "application/json"},
        )

    def authorization(self, redirect_uri: str) -> Authorization:
        """Where to send the browser, with a fresh `state` and PKCE verifier."""
        state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        url, _ = self._client(redirect_uri).create_authorization_url(
            self.base_url + AUTHORIZE_PATH, state=state, code_verifier=verifier
        )
        return Authorization(url=url, state=state, code_verifier=verifier)

    async def profile(self, *, code: str, redirect_uri: str, code_verifier: str) -> VatsimProfile:
        """Exchange the code for a token, then read the member's data."""
        async with self._client(redirect_uri) as client:
            try:
                await client.fetch_token(
                    self.base_url + TOKEN_PATH,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
                response = await client.get(self.base_url + USER_PATH)
            except AuthlibBaseError as error:
                log.warning("VATSIM refused the token request: %s", error.error)
                raise VatsimFailed(
                    "VATSIM did not accept this sign-in (it may have expired). Please try again.",
                    code="vatsim_refused",
                ) from None
            except (httpx2.HTTPError, ValueError) as error:  # down, timeout, not JSON
                log.warning("VATSIM Connect unreachable: %s", type(error).__name__)
                raise _unavailable() from None
        if response.status_code != 200:
            log.warning("VATSIM /api/user answered %s", response.status_code)
            raise _unavailable()
        try:
            return parse_profile(response.json())
        except (ValueError, ProfileInvalid):
            log.warning("VATSIM /api/user answered without a CID")
            raise _unavailable() from None


def _unavailable() -> VatsimFailed:
    return VatsimFailed(
        "VATSIM Connect is not answering right now. Please try again in a few minutes.",
        code="vatsim_unavailable",
    )

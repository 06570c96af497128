"""A local stand-in for VATSIM Connect: a real OAuth 2.0 authorization server (authlib's server
side on Flask, served by werkzeug in a thread) on the same paths and JSON shape.

    with running_vatsim() as vatsim:
        vatsim.members["1000001"] = Member(cid="1000001", name="Web One", ...)
        vatsim.signed_in = "1000001"   # whom the consent page authorizes
        vatsim.redirect_uris.append("http://127.0.0.1:8123/auth/vatsim/callback")

- GET /oauth/authorize: the consent page (Authorize / Cancel) for the signed-in member; the
  client, the redirect URL and an S256 `code_challenge` are required (PKCE enforced).
- POST /oauth/token: authorization_code with `client_secret_post`; the `code_verifier` must
  match the challenge (else `invalid_grant`); a code is used once.
- GET /api/user: `{"data": {...}}` for the token's member (bearer token, authlib's
  ResourceProtector).
`token_status` makes the token endpoint answer that status (a VATSIM outage) instead.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

SCOPES = "full_name email vatsim_details"


@dataclass
class Member:
    """A VATSIM member; `cid` as VATSIM sends it (a string, or a number for some accounts)."""

    cid: str | int
    name: str
    email: str
    rating_id: int
    rating_short: str
    division: str = "EUD"

    def user_json(self) -> dict[str, Any]:
        first, _, last = self.name.partition(" ")
        return {
            "data": {
                "cid": self.cid,
                "personal": {
                    "name_first": first,
                    "name_last": last,
                    "name_full": self.name,
                    "email": self.email,
                    "country": {"id": "GB", "name": "United Kingdom"},
                },
                "vatsim": {
                    "rating": {"id": self.rating_id, "short": self.rating_short, "long": "…"},
                    "pilotrating": {"id": 0, "short": "NEW", "long": "Basic Member"},
                    "division": {"id": self.division, "name": "Europe"},
                    "region": {"id": "EMEA", "name": "Europe, Middle East and Africa"},
                    "subdivision": {"id": None, "name": None},
                },
                "oauth": {"token_valid": "true"},
            }
        }


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES.split())

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_post" if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    cid: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):
    access_token: str
    client_id: str
    scope: str
    cid: str
    expires_at: float

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() > self.expires_at

    def is_revoked(self) -> bool:
        return False


class S256Required(CodeChallenge):
    """PKCE for every client, S256 only (authlib by default requires it of public clients)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send an S256 'code_challenge'")
        super().validate_code_challenge(grant, redirect_uri)


@dataclass
class VatsimServer:
    base_url: str = ""
    client_id: str = "skyslots-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redirect_uris: list[str] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)
    signed_in: str | None = None
    token_status: int | None = None  # answer the token endpoint with this instead
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return Client(self.client_id, self.client_secret, self.redirect_uris)

    def member(self, cid: str) -> Member:
        return self.members[str(cid)]


def build_app(state: VatsimServer) -> Flask:
    app = Flask("vatsim_test_server")
    lock = threading.Lock()

    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            with lock:
                state.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope or "",
                    cid=str(req.user.cid),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    expires_at=time.time() + 300,
                )

        def query_authorization_code(self, code: str, client: ClientMixin) -> Code | None:
            found = state.codes.get(code)
            if found and found.client_id == client.get_client_id():
                return found if found.expires_at > time.time() else None
            return None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            with lock:
                state.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> Member:
            return state.member(authorization_code.cid)

    def query_client(client_id: str) -> Client | None:
        return state.client if client_id == state.client_id else None

    def save_token(token: dict[str, Any], req: Any) -> None:
        with lock:
            state.tokens[token["access_token"]] = Token(
                access_token=token["access_token"],
                client_id=req.client.client_id,
                scope=token.get("scope", ""),
                cid=str(req.user.cid),
                expires_at=time.time() + int(token.get("expires_in", 3600)),
            )

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [S256Required()])

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string: str) -> Token | None:
            return state.tokens.get(token_string)

    protect = ResourceProtector()
    protect.register_token_validator(Validator())

    @app.get("/oauth/authorize")
    def consent() -> Any:
        state.authorize_requests.append(dict(request.args))
        try:
            grant = server.get_consent_grant(end_user=None)
        except Exception as error:  # an invalid request: say so, as VATSIM's page does
            return Response(f"<h1>Invalid request</h1><p>{html.escape(str(error))}</p>", 400)
        member = state.members.get(state.signed_in or "")
        who = html.escape(f"{member.name} ({member.cid})") if member else "nobody"
        query = html.escape(request.query_string.decode())
        page = f"""<!doctype html><title>VATSIM Connect (test)</title>
<h1>Authorize {html.escape(grant.client.client_id)}</h1>
<p>Signed in as <strong>{who}</strong>; it asks for: {html.escape(grant.request.payload.scope)}</p>
<form method="post" action="/oauth/authorize?{query}">
<button name="decision" value="allow">Authorize</button>
<button name="decision" value="deny">Cancel</button>
</form>"""
        return Response(page, 200, content_type="text/html")

    @app.post("/oauth/authorize")
    def decide() -> Any:
        member = state.members.get(state.signed_in or "")
        grant_user = member if request.form.get("decision") == "allow" else None
        grant = server.get_consent_grant(end_user=grant_user)
        return server.create_authorization_response(grant=grant, grant_user=grant_user)

    @app.post("/oauth/token")
    def issue_token() -> Any:
        state.token_requests.append(dict(request.form))
        if state.token_status is not None:
            return Response("<h1>Service unavailable</h1>", state.token_status)
        return server.create_token_response()

    @app.get("/api/user")
    @protect()
    def user() -> Any:
        from authlib.integrations.flask_oauth2 import current_token

        return jsonify(state.member(current_token.cid).user_json())

    @app.get("/health")
    def health() -> Any:
        return "ok"

    return app


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def running_vatsim() -> Iterator[VatsimServer]:
    """The server on a free loopback port in a daemon thread, shut down on exit."""
    state = VatsimServer()
    http = make_server(
        "127.0.0.1", 0, build_app(state), threaded=True, request_handler=QuietHandler
    )
    state.base_url = f"http://127.0.0.1:{http.server_port}"
    thread = threading.Thread(target=http.serve_forever, name="vatsim-test-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        http.shutdown()
        thread.join(5)

"""Password hashing (stdlib scrypt), signed access tokens and booking manage tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

import jwt

from skyslots.db import utcnow

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
TOKEN_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def create_access_token(user_id: int, *, secret: str, minutes: int) -> str:
    now = utcnow()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=minutes)}
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def read_access_token(token: str, *, secret: str) -> int | None:
    """The user id in a valid, unexpired token; None otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM])
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def new_manage_token() -> tuple[str, str]:
    """A one-time booking manage token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_manage_token(token)


def hash_manage_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def manage_token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_manage_token(token), stored_hash)


def client_key(address: str, *, secret: str) -> str:
    """A keyed hash standing for a client address (hold limits), so no address is stored."""
    return hmac.new(secret.encode(), f"client:{address}".encode(), hashlib.sha256).hexdigest()[:32]

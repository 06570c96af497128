"""Password hashing (argon2id; older scrypt hashes verify and are upgraded at sign-in), signed
access tokens, booking manage tokens and personal API tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from skyslots.db import utcnow

TOKEN_ALGORITHM = "HS256"
_hasher = PasswordHasher()  # argon2id with argon2-cffi's current parameters (RFC 9106 low-memory)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; a missing account costs the same time as a wrong
    password, so sign-in answers do not tell which emails have accounts."""
    if stored and stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_upgrade(stored: str | None) -> bool:
    """An older scheme or weaker parameters than today's: rehash at the next sign-in."""
    if not stored:
        return False
    if stored.startswith("scrypt$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return False


def _verify_scrypt(password: str, stored: str) -> bool:
    """Hashes made before argon2id: scrypt$n$r$p$salt$digest."""
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


API_TOKEN_PREFIX = "sks_"


def new_api_token() -> tuple[str, str]:
    """A personal API token (`sks_…`, shown once) and the sha256 that is stored in its place."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_manage_token(token)


def client_key(address: str, *, secret: str) -> str:
    """A keyed hash standing for a client address (hold limits), so no address is stored."""
    return hmac.new(secret.encode(), f"client:{address}".encode(), hashlib.sha256).hexdigest()[:32]

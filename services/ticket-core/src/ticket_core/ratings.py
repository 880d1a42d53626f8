"""Signed one-click links for customer satisfaction: rate a resolved ticket or reopen it.

A token is ``<ticket id>.<expiry, unix seconds; 0 = never>.<signature>``, the signature
being HMAC-SHA256 (base64url) over ``rate:<ticket id>:<expiry>`` with the rating secret.
The token is bound to the ticket: altering the id or the expiry breaks the signature.
The rating itself is a query parameter (one token serves the good / neutral / bad links).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlencode

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Rating(StrEnum):
    GOOD = "good"
    NEUTRAL = "neutral"
    BAD = "bad"


class RatingSettings(BaseSettings):
    """``TICKET_CORE_RATING_SECRET`` signs the links; without it a secret is derived from
    ``TICKET_CORE_SECRETS_KEY`` (the channel-secrets key every replica already shares)."""

    model_config = SettingsConfigDict(env_prefix="TICKET_CORE_", extra="ignore")

    rating_secret: str | None = Field(default=None, description="HMAC key of rating links.")
    secrets_key: str | None = None
    public_base_url: str = Field(
        default="http://127.0.0.1:8081",
        description="Where customers reach ticket-core's public /rate pages.",
    )
    rating_link_ttl_seconds: float = Field(
        default=60 * 24 * 3600.0, ge=0, description="How long a link works; 0: for ever."
    )

    def secret(self) -> str | None:
        if self.rating_secret:
            return self.rating_secret
        if self.secrets_key:
            derived = hmac.new(self.secrets_key.encode(), b"rating-links", hashlib.sha256)
            return derived.hexdigest()
        return None


class TokenRefused(ValueError):
    """Forged, altered or malformed (403)."""


class TokenExpired(ValueError):
    """Genuine but too old (410)."""


def _signature(secret: str, ticket_id: int, expires: int) -> str:
    mac = hmac.new(secret.encode(), f"rate:{ticket_id}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def make_token(
    secret: str, ticket_id: int, ttl_seconds: float = 0, now: float | None = None
) -> str:
    expires = int((now if now is not None else time.time()) + ttl_seconds) if ttl_seconds else 0
    return f"{ticket_id}.{expires}.{_signature(secret, ticket_id, expires)}"


def verify_token(secret: str, token: str, now: float | None = None) -> int:
    """The ticket id the token is for; ``TokenRefused`` or ``TokenExpired`` otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise TokenRefused("malformed rating link")
    ticket_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _signature(secret, ticket_id, expires)):
        raise TokenRefused("the rating link is not valid")
    if expires and (now if now is not None else time.time()) > expires:
        raise TokenExpired("the rating link has expired")
    return ticket_id


@dataclass(frozen=True)
class RatingLinks:
    rate: dict[Rating, str]
    reopen: str


def rating_url(
    base_url: str,
    ticket_id: int,
    rating: Rating | str,
    *,
    secret: str | None = None,
    ttl_seconds: float | None = None,
) -> str:
    """The one-click link rating ``ticket_id`` with ``rating``. Secret and lifetime come from
    the environment (``RatingSettings``) unless given."""
    token = _token_for(ticket_id, secret, ttl_seconds)
    return (
        f"{base_url.rstrip('/')}/rate/{quote(token)}?{urlencode({'rating': Rating(rating).value})}"
    )


@functools.cache
def _environment_settings() -> RatingSettings:
    return RatingSettings()


def page_url(ticket_id: int, settings: RatingSettings | None = None) -> str | None:
    """The link a notification carries: a page offering the three ratings (following it
    records nothing, so mail scanners that open links cannot rate). None without a secret."""
    own = settings or _environment_settings()
    secret = own.secret()
    if secret is None:
        return None
    token = make_token(secret, ticket_id, own.rating_link_ttl_seconds)
    return f"{own.public_base_url.rstrip('/')}/rate/{quote(token)}"


def links(base_url: str, ticket_id: int, secret: str, ttl_seconds: float) -> RatingLinks:
    """Every link of one ticket (one token): the three ratings and the reopen form's target."""
    token = make_token(secret, ticket_id, ttl_seconds)
    base = f"{base_url.rstrip('/')}/rate/{quote(token)}"
    return RatingLinks(
        rate={r: f"{base}?{urlencode({'rating': r.value})}" for r in Rating},
        reopen=f"{base}/reopen",
    )


def _token_for(ticket_id: int, secret: str | None, ttl_seconds: float | None) -> str:
    if secret is None or ttl_seconds is None:
        settings = RatingSettings()
        secret = secret or settings.secret()
        ttl_seconds = settings.rating_link_ttl_seconds if ttl_seconds is None else ttl_seconds
    if not secret:
        raise RuntimeError("no rating secret: set TICKET_CORE_RATING_SECRET")
    return make_token(secret, ticket_id, ttl_seconds)

"""Expiring signed links to blobs, for providers that fetch media by URL (Viber).

The notifier makes ``<public base>/media/<sha256>/<file name>?exp=<unix>&sig=<hex>``; the
gateway serves the blob when the HMAC-SHA256 (key ``MEDIA_LINK_KEY``) over the sha256,
the file name and the expiry matches and the link has not expired.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote

PATH_PREFIX = "/media"


class MediaLinks:
    def __init__(
        self,
        key: str,
        public_base_url: str = "",
        *,
        ttl_seconds: int = 7 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not key:
            raise ValueError("a media link key is required")
        self._key = key.encode()
        self._base = public_base_url.rstrip("/")
        self._ttl = ttl_seconds
        self._clock = clock

    def _sign(self, sha256: str, filename: str, expires: int) -> str:
        message = f"{sha256}\n{filename}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, sha256: str, filename: str) -> str:
        expires = int(self._clock()) + self._ttl
        sig = self._sign(sha256, filename, expires)
        return f"{self._base}{PATH_PREFIX}/{sha256}/{quote(filename)}?exp={expires}&sig={sig}"

    def valid(self, sha256: str, filename: str, expires: int, sig: str) -> bool:
        if expires < self._clock():
            return False
        expected = self._sign(sha256, filename, expires)
        return hmac.compare_digest(expected.encode(), sig.encode())

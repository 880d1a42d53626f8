"""Docker HEALTHCHECK: exit 0 when the service's ``/readyz`` answers 200, else 1.

The port is ``<SERVICE_ENV_PREFIX>HTTP_PORT`` when set (what the service binds),
otherwise ``SERVICE_PORT`` (the image default). Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def readyz_url(environ: dict[str, str]) -> str:
    prefix = environ.get("SERVICE_ENV_PREFIX", "")
    port = (prefix and environ.get(f"{prefix}HTTP_PORT")) or environ.get("SERVICE_PORT") or "8080"
    return f"http://127.0.0.1:{int(port)}/readyz"


def check(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    url = readyz_url(dict(os.environ))
    ok = check(url)
    if not ok:
        sys.stderr.write(f"not ready: {url}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

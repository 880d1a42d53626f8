"""Container entrypoint: container-friendly bind defaults, then exec the command.

Every service reads ``<PREFIX>HTTP_HOST`` (default 127.0.0.1, unreachable from outside
a container) and ``<PREFIX>HTTP_PORT``. The image records its prefix in
``SERVICE_ENV_PREFIX`` and its port in ``SERVICE_PORT``; this sets
``<PREFIX>HTTP_HOST=0.0.0.0`` and ``<PREFIX>HTTP_PORT=$SERVICE_PORT`` unless the
environment already says otherwise, then replaces itself with the command (so the
service stays PID 1 and receives SIGTERM). With no command it runs
``python -m $SERVICE_MODULE``.
"""

from __future__ import annotations

import os
import sys


def container_env(environ: dict[str, str]) -> dict[str, str]:
    env = dict(environ)
    prefix = env.get("SERVICE_ENV_PREFIX", "")
    if prefix:
        env.setdefault(f"{prefix}HTTP_HOST", "0.0.0.0")
        port = env.get("SERVICE_PORT", "")
        if port:
            env.setdefault(f"{prefix}HTTP_PORT", port)
    return env


def command(argv: list[str], environ: dict[str, str]) -> list[str]:
    if argv:
        return argv
    module = environ.get("SERVICE_MODULE", "")
    if not module:
        raise SystemExit("no command given and SERVICE_MODULE is not set")
    return [sys.executable, "-m", module]


def main() -> None:
    env = container_env(dict(os.environ))
    argv = command(sys.argv[1:], env)
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main()

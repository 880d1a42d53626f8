"""Faults a test injects into a running stack, and the way back.

Infrastructure servers are stopped and started again *in place*: same port, same data
directory, so every service reconnects to the address it was given and finds its data.
Services are restarted with the environment they were first started with. Blocking
calls: from async code run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from .processes import Child, free_port
from .services import BY_NAME, service_child, wait_ready
from .stack import Stack


def restart_service(stack: Stack, name: str, timeout: float = 90.0) -> Child:
    """Start a (killed or stopped) service again and wait until it reports ready."""
    child = stack.start_service(name)
    wait_ready([(child, stack.config.service_ports[name])], timeout)
    return child


def start_replicas(
    stack: Stack, names: Iterable[str], tag: str, extra_env: dict[str, str] | None = None
) -> dict[str, tuple[Child, int]]:
    """Start one more replica of each service in ``names`` on a free port, with the
    environment the stack's own copy was given (plus ``extra_env``), logging to
    ``<name>-<tag>.log``; returns once all are ready (they start side by side). Same
    consumer groups, same database and Redis: a scale-out. The caller stops them."""
    assert stack.infra is not None
    started: dict[str, tuple[Child, int]] = {}
    try:
        for name in names:
            env: dict[str, str] = {}
            if name == "notifier" and stack.mail is not None:  # as Stack.start_service does
                env = {
                    "NOTIFIER_SMTP_HOST": "127.0.0.1",
                    "NOTIFIER_SMTP_PORT": str(stack.mail.port),
                }
            env.update(stack.service_env.get(name, {}))
            env.update(extra_env or {})
            port = free_port()
            child = service_child(BY_NAME[name], stack.infra, port, stack.log_dir, env)
            child.log_path = stack.log_dir / f"{name}-{tag}.log"
            child.start()
            started[name] = (child, port)
        wait_ready(started.values(), 120.0)
    except BaseException:
        for child, _ in started.values():
            child.stop()
        raise
    return started


def start_replica(
    stack: Stack, name: str, tag: str, extra_env: dict[str, str] | None = None
) -> tuple[Child, int]:
    """One more replica of ``name`` (see ``start_replicas``)."""
    return start_replicas(stack, [name], tag, extra_env)[name]


def stop_postgres(stack: Stack) -> None:
    """PostgreSQL's fast shutdown: open transactions abort, connections drop."""
    assert stack.postgres is not None, "the stack runs no PostgreSQL of its own"
    stack.postgres.stop()


def start_postgres(stack: Stack) -> None:
    """Start it again on the same port and data directory (waits until it accepts)."""
    assert stack.postgres is not None, "the stack runs no PostgreSQL of its own"
    stack.postgres.start(fsync=stack.config.fsync)


def stop_redis(stack: Stack) -> None:
    """``SHUTDOWN SAVE``: Redis writes its dataset to its directory and exits, so the
    restart finds every key (as a production Redis with persistence would)."""
    server = stack.redis
    assert server is not None and server.child is not None, "the stack runs no Redis of its own"
    client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=10)
    try:
        client.shutdown(save=True)
    except redis.ConnectionError:
        pass  # the server closed the connection as it went down
    finally:
        client.close()
    assert server.child.process is not None
    server.child.process.wait(30)
    server.child.stop()  # reaps it and closes its log


def start_redis(stack: Stack) -> None:
    """Start it again on the same port and directory (waits until it listens)."""
    assert stack.redis is not None, "the stack runs no Redis of its own"
    stack.redis.start()

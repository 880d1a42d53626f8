"""Faults a test injects into a running stack, and the way back.

Infrastructure servers are stopped and started again *in place*: same port, same data
directory, so every service reconnects to the address it was given and finds its data.
Services are restarted with the environment they were first started with. Blocking
calls: from async code run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import redis

from .processes import Child
from .services import wait_ready
from .stack import Stack


def restart_service(stack: Stack, name: str, timeout: float = 90.0) -> Child:
    """Start a (killed or stopped) service again and wait until it reports ready."""
    child = stack.start_service(name)
    wait_ready([(child, stack.config.service_ports[name])], timeout)
    return child


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

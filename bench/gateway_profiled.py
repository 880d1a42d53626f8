"""The gateway, as ``python -m gateway`` runs it, with cProfile switched by signals.

    BENCH_PROFILE_OUT=/tmp/gw.prof python -m bench.gateway_profiled   (gateway's own env)

SIGUSR1 starts profiling the event loop's thread (the whole gateway: uvicorn, FastAPI,
the handlers, the producer, Redis); SIGUSR2 stops it and writes the stats to
``BENCH_PROFILE_OUT``. Profiling slows the process, so the benchmark profiles a phase of
its own and never a measured one.
"""

from __future__ import annotations

import cProfile
import os
import signal
import time
from types import FrameType

from gateway.app import create_app
from gateway.settings import GatewaySettings
from helpdesk_common.service import run


def main() -> None:
    out = os.environ["BENCH_PROFILE_OUT"]
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits in epoll are not work

    def start(_sig: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    settings = GatewaySettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()

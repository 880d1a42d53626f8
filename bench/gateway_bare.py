"""The gateway benchmark's baseline: the least any webhook edge on this stack can do.

    BARE_PORT=... BARE_TOPIC=... KAFKA_BOOTSTRAP_SERVERS=... python -m bench.gateway_bare

A FastAPI app under uvicorn, served exactly as the services are (``log_config=None``,
no access log, the same event loop and HTTP parser), with one route,
``POST /webhooks/{channel}/{account}``: it reads the body, produces it with a plain
aiokafka producer (``acks=all``, ``linger_ms=0``, the services' producer settings) keyed
``<channel>:<account>`` (the gateway's key, so the same single partition), and answers
200 once the broker acked. No signature, no rate limit, no account lookup, no record
model, no logging.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response


def create_app(bootstrap: str, topic: str) -> FastAPI:
    producers: list[AIOKafkaProducer] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = AIOKafkaProducer(  # made here: aiokafka wants the running loop
            bootstrap_servers=bootstrap, acks="all", linger_ms=0, max_batch_size=1024 * 1024
        )
        await producer.start()
        producers.append(producer)
        try:
            yield
        finally:
            await producer.stop()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> Response:
        return Response(status_code=200)

    @app.post("/webhooks/{channel}/{account}")
    async def webhook(channel: str, account: str, request: Request) -> Response:
        body = await request.body()
        await producers[0].send_and_wait(topic, body, key=f"{channel}:{account}".encode())
        return Response(status_code=200)

    return app


def main() -> None:
    app = create_app(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["BARE_TOPIC"])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["BARE_PORT"]),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()

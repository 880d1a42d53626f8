"""Direct routes answer exactly as the same endpoint under FastAPI's router would."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from helpdesk_common.direct_routes import DirectRoutes, add_to_openapi
from helpdesk_common.service import CorrelationIdMiddleware
from starlette.routing import Route


async def hook(request: Request) -> Response:
    name = request.path_params["account"]
    if name == "missing":
        raise HTTPException(404, "unknown channel account")
    if name == "busy":
        raise HTTPException(429, "too many requests", headers={"Retry-After": "60"})
    return Response(f"{name}:{len(await request.body())}", status_code=200)


def direct_app() -> FastAPI:
    app = FastAPI()
    other = APIRouter()

    @other.get("/other/{x}")
    async def elsewhere(x: str) -> dict[str, str]:
        return {"x": x}

    app.include_router(other)
    app.add_middleware(DirectRoutes, routes=[Route("/hooks/{account}", hook, methods=["POST"])])
    app.add_middleware(CorrelationIdMiddleware)
    return app


def routed_app() -> FastAPI:
    app = FastAPI()

    @app.post("/hooks/{account}")
    async def routed(request: Request, account: str) -> Response:
        return await hook(request)

    app.add_middleware(CorrelationIdMiddleware)
    return app


async def answers(app: FastAPI) -> list[tuple[int, bytes, str | None, str | bool]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        calls = [
            client.post("/hooks/bot", content=b"12345", headers={"X-Correlation-ID": "c-1"}),
            client.post("/hooks/missing", content=b"x"),
            client.post("/hooks/busy", content=b"x"),
            client.get("/hooks/bot"),
        ]
        out = []
        for call in calls:
            r = await call
            cid = r.headers.get("x-correlation-id")
            out.append(
                (
                    r.status_code,
                    r.content,
                    r.headers.get("retry-after") or r.headers.get("allow"),
                    cid if cid == "c-1" else bool(cid),
                )
            )
        return out


async def test_direct_routes_answer_like_fastapi_routes() -> None:
    direct, routed = await answers(direct_app()), await answers(routed_app())
    assert direct == routed
    assert direct[0][:2] == (200, b"bot:5") and direct[0][3] == "c-1"
    assert direct[1][:2] == (404, b'{"detail":"unknown channel account"}')
    assert direct[2][0] == 429 and direct[2][2] == "60"
    assert direct[3][0] == 405 and direct[3][2] == "POST"
    assert all(a[3] for a in direct)  # a correlation id on every answer (a new one or given)


async def test_other_paths_go_on_to_fastapi() -> None:
    transport = httpx.ASGITransport(app=direct_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/other/7")).json() == {"x": "7"}
        assert (await client.post("/nowhere")).status_code == 404


def test_direct_routes_are_added_to_the_openapi_document_and_must_all_be_described() -> None:
    app = direct_app()
    routes = [Route("/hooks/{account}", hook, methods=["POST"])]
    item = {"post": {"summary": "a hook", "responses": {"200": {"description": "ok"}}}}
    add_to_openapi(app, routes, {"/hooks/{account}": item})
    paths = app.openapi()["paths"]
    assert paths["/hooks/{account}"] == item and "/other/{x}" in paths
    assert app.openapi() is app.openapi()  # built once

    with pytest.raises(ValueError, match="undescribed"):
        add_to_openapi(direct_app(), routes, {"/hooks/{account}": {"put": {}}})
    with pytest.raises(ValueError, match="not served"):
        add_to_openapi(direct_app(), routes, {**{"/hooks/{account}": item}, "/gone": item})

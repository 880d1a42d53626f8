"""The REST API's contract, read from the running app's own OpenAPI document: it is
published with every router in it, every list is paginated, and every write refuses a
body of the wrong shape with a 4xx (never a 500)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ticket_core.app import create_app
from ticket_core.settings import TicketCoreSettings

Api = httpx.AsyncClient
INTERNAL_TOKEN = "internal-token-of-the-contract-test"

# GET routes answering a JSON array that are not paginated, with the reason.
UNPAGINATED_LISTS = {
    # one row per configured channel account: a handful, bounded by the admin's setup
    "/api/v1/channel-accounts": "a handful of accounts per desk",
    # the ingest services' own lookup of one channel's accounts (service token only)
    "/internal/v1/channel-accounts/{channel}": "internal lookup of a channel's few accounts",
}

# One path of every router app.py includes (the REST ones): the document lists them all.
ROUTER_PATHS = [
    "/api/v1/tickets",  # api
    "/api/v1/attachments",  # attachments
    "/api/v1/tickets/bulk",  # workflow
    "/api/v1/tickets/{ticket_id}/escalate",  # collab
    "/api/v1/canned-responses",  # canned
    "/api/v1/tickets/{ticket_id}/rating",  # ratings for agents
    "/rate/{token}",  # public ratings
    "/api/v1/macros",  # macros
    "/api/v1/tickets/{ticket_id}/links",  # ticket links
    "/api/v1/agents",  # agents
    "/api/v1/company-categories",  # company categories
    "/api/v1/companies",  # org
    "/api/v1/groups",  # org
    "/api/v1/contacts",  # contacts
    "/api/v1/contacts/{contact_id}/merge-into/{target_id}",  # contact merge
    "/api/v1/ticket-types",  # catalog
    "/api/v1/priorities",  # catalog
    "/api/v1/statuses",  # catalog
    "/api/v1/channel-accounts",  # channel accounts
    "/api/v1/channel-accounts/sms/{name}/test",  # sms
    "/api/v1/triggers",  # triggers
    "/api/v1/service-calendars",  # sla
    "/api/v1/sla-rules",  # sla
    "/api/v1/routing/rules",  # routing
    "/api/v1/service-objects",  # service objects
    "/api/v1/ticket-attributes",  # custom attributes
    "/api/v1/auth/login",  # auth
    "/api/v1/dashboard",  # desk routers
    "/api/v1/notifications/types",  # notifications
    "/api/v1/portal/tickets",  # portal API
]


@pytest.fixture(scope="module")
def app(infra: Any) -> Iterator[FastAPI]:
    # the internal routes read their token from the environment when they are built
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TICKET_CORE_INTERNAL_TOKEN", INTERNAL_TOKEN)
        env.setenv("TICKET_CORE_RATING_SECRET", "rating-secret-of-the-contract-test")
        yield _app(infra)


def _app(infra: Any) -> FastAPI:
    return create_app(
        TicketCoreSettings(
            database_url=infra.database_url,
            redis_url=infra.redis_url,
            kafka_bootstrap_servers=infra.kafka,
            blob_dir=str(infra.blob_dir),
            internal_token=INTERNAL_TOKEN,
        )
    )


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        yield client


def _spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _operations(spec: dict[str, Any], methods: set[str]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in methods
    ]


def _answers_a_list(spec: dict[str, Any], op: dict[str, Any]) -> str | None:
    """'array' for a bare JSON array, 'page' for an object with items, else None."""
    ok = op.get("responses", {}).get("200", {})
    schema = ok.get("content", {}).get("application/json", {}).get("schema")
    if not schema:
        return None
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return "array"
    if "items" in schema.get("properties", {}):
        return "page"
    return None


def _concrete(path: str) -> str:
    """Fill the path's parameters: ids that do not exist, words elsewhere."""
    return re.sub(
        r"\{(\w+)\}",
        lambda m: "999999" if m.group(1).endswith("id") else "nothing",
        path,
    )


def _write_routes() -> list[tuple[str, str, bool]]:
    spec = create_app(TicketCoreSettings()).openapi()
    routes = []
    for path, method, op in _operations(spec, {"post", "put", "patch"}):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = _resolve(spec, content["application/json"]["schema"])
        routes.append((path, method, schema.get("type") == "array"))
    return routes


WRITES = _write_routes()


def test_openapi_is_published_with_every_router(app: FastAPI) -> None:
    spec = _spec(app)
    missing = [p for p in ROUTER_PATHS if p not in spec["paths"]]
    assert not missing, missing
    assert spec["info"]["version"]
    assert len(WRITES) > 50  # the write test below really walks the API


async def test_openapi_json_is_served(api: Api) -> None:
    answer = await api.get("/openapi.json")
    assert answer.status_code == 200
    assert set(ROUTER_PATHS) <= set(answer.json()["paths"])


def test_every_list_is_paginated_with_limit_and_offset(app: FastAPI) -> None:
    spec = _spec(app)
    unpaginated = []
    lists = 0
    for path, _method, op in _operations(spec, {"get"}):
        kind = _answers_a_list(spec, op)
        if kind is None:
            continue
        lists += 1
        query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if {"limit", "offset"} <= query:
            continue
        if path not in UNPAGINATED_LISTS:
            unpaginated.append(path)
    assert lists > 25
    assert not unpaginated, f"list routes without limit/offset: {unpaginated}"
    for path in UNPAGINATED_LISTS:
        assert path in spec["paths"], f"stale exception {path}"


async def test_paging_parameters_are_validated(api: Api) -> None:
    for params in ({"limit": 0}, {"limit": 10_000}, {"offset": -1}, {"limit": "ten"}):
        answer = await api.get("/api/v1/agents", params=params)
        assert answer.status_code == 422, (params, answer.text)
    page = await api.get("/api/v1/statuses", params={"limit": 1, "offset": 0})
    assert page.status_code == 200
    assert len(page.json()["items"]) == 1 and page.json()["total"] >= 4


@pytest.mark.parametrize(
    ("path", "method", "list_body"), WRITES, ids=[f"{m} {p}" for p, m, _ in WRITES]
)
@pytest.mark.parametrize("body", [[], {"unexpected": 1}], ids=["list", "unknown-field"])
async def test_a_body_of_the_wrong_shape_is_a_4xx(
    api: Api, path: str, method: str, list_body: bool, body: Any
) -> None:
    headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"} if path.startswith("/internal/") else {}
    answer = await api.request(method.upper(), _concrete(path), json=body, headers=headers)
    assert answer.status_code < 500, (answer.status_code, answer.text)
    if list_body and body == []:
        # an empty order is a list: refused or a no-op, never a crash
        assert answer.status_code in (200, 404, 409, 422), answer.text
        return
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    if path.startswith("/api/v1/portal/") and path != "/api/v1/portal/auth/login":
        # a contact's session is checked before the body: anonymous callers never get in
        assert answer.status_code == 401, answer.text
        return
    if body == []:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"], answer.text


async def test_ids_beyond_the_databases_range_are_a_4xx(api: Api, app: FastAPI) -> None:
    """Every GET and DELETE with path parameters, given ids no integer column holds."""
    crashed, answered = [], 0
    for path, method, _op in _operations(_spec(app), {"get", "delete"}):
        if "{" not in path:
            continue
        url = re.sub(
            r"\{(\w+)\}",
            lambda m: str(2**40) if m.group(1).endswith("id") else "nothing",
            path,
        )
        headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"} if "/internal/" in path else {}
        answer = await api.request(method.upper(), url, headers=headers)
        answered += 1
        if not 400 <= answer.status_code < 500:
            crashed.append((method, path, answer.status_code))
    assert answered > 40
    assert not crashed, crashed


def _nul_body(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Every text field of the body's schema set to a text with a NUL character."""
    body: dict[str, Any] = {}
    for name, prop in _resolve(spec, schema).get("properties", {}).items():
        kinds = {prop.get("type")} | {a.get("type") for a in prop.get("anyOf", [])}
        if "string" in kinds and "format" not in prop and "enum" not in prop:
            body[name] = "nul\x00here"
    return body


def _nul_writes() -> list[tuple[str, str, dict[str, Any]]]:
    spec = create_app(TicketCoreSettings()).openapi()
    found = []
    for path, method, op in _operations(spec, {"post", "put", "patch"}):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = _nul_body(spec, content["application/json"]["schema"])
            if body:
                found.append((path, method, body))
    return found


NUL_WRITES = _nul_writes()


async def test_text_with_nul_characters_is_a_4xx_everywhere(api: Api, app: FastAPI) -> None:
    """PostgreSQL cannot store NUL in a text: query strings and JSON bodies carrying one
    are refused with a 4xx on every route (ids that exist, so the database is reached)."""
    crashed = []
    for path, _method, op in _operations(_spec(app), {"get"}):
        if "{" in path:
            continue
        headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"} if "/internal/" in path else {}
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            answer = await api.get(path, params={param["name"]: "nul\x00"}, headers=headers)
            if answer.status_code >= 500:
                crashed.append(("get", path, param["name"], answer.status_code))
    assert len(NUL_WRITES) > 30
    for path, method, body in NUL_WRITES:
        headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"} if "/internal/" in path else {}
        url = re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "x", path)
        answer = await api.request(method.upper(), url, json=body, headers=headers)
        if answer.status_code >= 500 or answer.status_code < 400:
            crashed.append((method, path, sorted(body), answer.status_code))
    assert not crashed, crashed
    refused = await api.get("/api/v1/contacts", params={"q": "a\x00b"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "text must not contain NUL characters"


def _big_body(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Every unbounded integer (or list of integers) field set beyond any column's range."""
    body: dict[str, Any] = {}
    for name, prop in _resolve(spec, schema).get("properties", {}).items():
        kinds = {prop.get("type")} | {a.get("type") for a in prop.get("anyOf", [])}
        arrays = [a.get("items", {}) for a in prop.get("anyOf", []) if a.get("type") == "array"]
        items = prop.get("items", {}) or (arrays[0] if arrays else {})
        if "integer" in kinds and "maximum" not in prop:
            body[name] = 2**40
        elif "array" in kinds and items.get("type") == "integer":
            body[name] = [2**40]
    return body


async def test_numbers_beyond_the_databases_range_in_bodies_are_a_4xx(
    api: Api, app: FastAPI
) -> None:
    spec = _spec(app)
    crashed = []
    walked = 0
    for path, method, op in _operations(spec, {"post", "put", "patch"}):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        body = _big_body(spec, content["application/json"]["schema"])
        if not body:
            continue
        walked += 1
        headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"} if "/internal/" in path else {}
        url = re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "x", path)
        answer = await api.request(method.upper(), url, json=body, headers=headers)
        if answer.status_code >= 500 or answer.status_code < 400:
            crashed.append((method, path, sorted(body), answer.status_code, answer.text[:80]))
    assert walked > 20
    assert not crashed, crashed

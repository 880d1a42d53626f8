"""The messenger webhooks are direct Starlette routes (not FastAPI's), described by hand in
the running gateway's OpenAPI document: path, POST, the account parameter, the headers
they check, a JSON object body and the answers they give."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

HOOKS = {
    "/webhooks/telegram/{account}": ["x-telegram-bot-api-secret-token"],
    "/webhooks/viber/{account}": ["x-viber-content-signature"],
    "/webhooks/vk/{account}": [],
}
ANSWERS = {"200", "400", "403", "404", "413", "429", "503"}


async def test_the_messenger_webhooks_are_in_the_gateways_openapi_document(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await gateway.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    paths: dict[str, Any] = answer.json()["paths"]
    assert "/api/v1/webform/{account}" in paths  # FastAPI's own routes are still there
    for path, headers in HOOKS.items():
        assert set(paths[path]) == {"post"}, path
        post = paths[path]["post"]
        given = {(p["in"], p["name"].lower(), p["required"]) for p in post["parameters"]}
        assert given == {("path", "account", True), *(("header", h, True) for h in headers)}
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body["type"] == "object"
        assert set(post["responses"]) == ANSWERS, path
        assert "Retry-After" in post["responses"]["429"]["headers"]

        # what the document says is what the route answers: an unknown account is a 404
        url = path.replace("{account}", "no_such_bot")
        refused = await gateway.post(url, json={}, headers={h: "x" for h in headers})
        assert refused.status_code == 404, (path, refused.text)
        assert refused.json() == {"detail": "unknown channel account"}

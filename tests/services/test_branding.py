"""Branding and desk settings: administrators change the colour, titles, logo and favicon
(images into the real blob store, checked by their bytes); anyone reads the public
branding and images; other roles only read the settings."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ticket_core.app import create_app
from ticket_core.desk_settings import sniff_image
from ticket_core.settings import TicketCoreSettings

from .conftest import Desk, unique

Api = httpx.AsyncClient
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + unique("png").encode()
ICO = b"\x00\x00\x01\x00" + unique("ico").encode()


def test_images_are_recognised_by_their_bytes() -> None:
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(ICO) == "image/x-icon"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image(b"<svg onload=alert(1)>") is None
    assert sniff_image(b"") is None


@pytest.fixture
async def api(infra: Any) -> AsyncIterator[Api]:
    app: FastAPI = create_app(
        TicketCoreSettings(
            database_url=infra.database_url,
            redis_url=infra.redis_url,
            kafka_bootstrap_servers=infra.kafka,
            blob_dir=str(infra.blob_dir),
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        yield client


async def test_administrators_brand_the_pages_and_anyone_reads_it(api: Api, desk: Desk) -> None:
    title = unique("Acme support ")
    changed = await api.put(
        "/api/v1/settings/branding", json={"main_colour": "#12ab34", "portal_title": title}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["main_colour"] == "#12ab34" and changed.json()["console_title"]
    logo = await api.post(
        "/api/v1/settings/branding/logo", files={"file": ("logo.png", io.BytesIO(PNG), "text/html")}
    )
    assert logo.status_code == 200, logo.text
    assert logo.json()["logo"]["content_type"] == "image/png"  # the bytes, not the client's word
    icon = await api.post(
        "/api/v1/settings/branding/favicon", files={"file": ("f.ico", io.BytesIO(ICO))}
    )
    assert icon.status_code == 200 and icon.json()["portal_title"] == title

    public = (await api.get("/api/v1/branding")).json()
    assert public["main_colour"] == "#12ab34" and public["portal_title"] == title
    image = await api.get(public["logo_url"])
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert (await api.get(public["favicon_url"])).content == ICO

    for bad in (
        {"main_colour": "red"},
        {"console_title": ""},
        {"unknown": 1},
    ):
        assert (await api.put("/api/v1/settings/branding", json=bad)).status_code == 422
    svg = await api.post(
        "/api/v1/settings/branding/logo",
        files={"file": ("x.svg", io.BytesIO(b"<svg onload=alert(1)/>"), "image/svg+xml")},
    )
    assert svg.status_code == 415
    huge = await api.post(
        "/api/v1/settings/branding/logo",
        files={"file": ("big.png", io.BytesIO(PNG + b"\x00" * (1024 * 1024)))},
    )
    assert huge.status_code == 413
    assert (
        await api.post("/api/v1/settings/branding/banner", files={"file": ("x", b"x")})
    ).status_code == 422

    for role in ("specialist", "lead_specialist"):
        agent = await desk.agent(role)
        login = unique("brand.")
        await api.put(
            f"/api/v1/agents/{agent}/credentials", json={"login": login, "password": "Passw0rd-x"}
        )
        signed_in = await api.post(
            "/api/v1/auth/login", json={"login": login, "password": "Passw0rd-x"}
        )
        headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        assert (await api.get("/api/v1/settings/branding", headers=headers)).status_code == 200
        refused = await api.put(
            "/api/v1/settings/branding", json={"main_colour": "#000000"}, headers=headers
        )
        assert refused.status_code == 403
        api.cookies.clear()

    removed = await api.delete("/api/v1/settings/branding/logo")
    assert removed.status_code == 200 and removed.json()["logo"] is None
    assert (await api.get("/branding/logo")).status_code == 404
    assert (await api.get("/api/v1/branding")).json()["logo_url"] is None

"""The branding page: an administrator sets the colour, title, logo and favicon and every
console page shows them (the colour through /console/branding.css, the images through
console routes); a file that is not an image (SVG included) is refused; leads and
specialists get 403 on GET and POST."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import httpx
from devstack.probes import eventually

from .console_helpers import TIMEOUT, Console, unique
from .page_client import logged_in_client


def png(width: int = 4, height: int = 2, rgb: tuple[int, int, int] = (170, 51, 0)) -> bytes:
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


async def test_branding_is_applied_to_every_page_and_non_images_are_refused(
    console: Console, tmp_path: Path
) -> None:
    admin = await console.agent("administrator")
    title = unique("Acme desk ")
    logo, favicon, fake = tmp_path / "logo.png", tmp_path / "fav.png", tmp_path / "evil.png"
    logo.write_bytes(png())
    favicon.write_bytes(png(1, 1, (0, 0, 255)))
    fake.write_bytes(SVG)
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.goto(console.url("/settings/branding"))
        assert await page.get_attribute("a[href='/console/settings']", "href")
        await page.fill("#main_colour", "#aa3300")
        await page.fill("#console_title", title)
        await page.set_input_files("#logo", str(logo))
        await page.set_input_files("#favicon", str(favicon))
        await page.click("#save-branding")
        await page.wait_for_selector("p.notice")

        # Every page now carries the branding: the inbox, for one.
        await page.goto(console.url("/"))
        assert (await page.title()).endswith(title)
        assert await page.text_content("#brand-title") == title
        colour = await page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"
        )
        assert colour == "#aa3300"
        logo_img = page.locator("img.brand-logo")
        # (polled from here: wait_for_function would eval in the page, which the CSP forbids)
        await eventually(
            lambda: page.evaluate("document.querySelector('img.brand-logo').naturalWidth"),
            lambda width: width == 4,
            TIMEOUT,
            "the logo loaded",
        )
        logo_url = await logo_img.get_attribute("src")
        assert logo_url and logo_url.startswith("/console/branding/logo?v=")
        icon = await page.get_attribute("link[rel=icon]", "href")
        assert icon and icon.startswith("/console/branding/favicon?v=")
        await console.shot(page, "branding-inbox")

        # A non-image (an SVG with script, named .png) is refused; nothing changes.
        await page.goto(console.url("/settings/branding"))
        await page.set_input_files("#logo", str(fake))
        await page.click("#save-branding")
        await page.wait_for_selector("#branding-errors")
        assert "PNG, JPEG, GIF, ICO or WebP" in (await page.text_content("#branding-errors") or "")
        await console.shot(page, "branding-refused")
        assert await page.get_attribute("img.brand-logo", "src") == logo_url
        assert opened.errors == []
    finally:
        await opened.close()

    async with httpx.AsyncClient(base_url=console.base) as anonymous:
        # served by the console, cached for long under the versioned URL, not sniffable
        image = await anonymous.get(logo_url)
        assert image.status_code == 200 and image.content == png()
        assert image.headers["content-type"] == "image/png"
        assert "immutable" in image.headers["cache-control"]
        assert image.headers["x-content-type-options"] == "nosniff"
        css = await anonymous.get("/console/branding.css?v=aa3300")
        assert "--brand: #aa3300;" in css.text and css.headers["content-type"].startswith(
            "text/css"
        )
        login = await anonymous.get("/console/login")
        assert f"<title>Log in · {title}</title>" in login.text

    # put the defaults back for the other tests of the session
    reset = await console.api.put(
        "/api/v1/settings/branding", json={"main_colour": "#1f6feb", "console_title": "Help desk"}
    )
    assert reset.status_code == 200, reset.text


async def test_only_administrators_change_branding_and_bad_values_are_422(
    console: Console,
) -> None:
    before = (await console.api.get("/api/v1/settings/branding")).json()
    for role in ("specialist", "lead_specialist"):
        agent = await console.agent(role)
        async with logged_in_client(console, agent.login) as (client, csrf):
            assert (await client.get("/console/settings/branding")).status_code == 403
            refused = await client.post(
                "/console/settings/branding",
                data={"csrf_token": csrf, "main_colour": "#000000", "console_title": "Mine"},
            )
            assert refused.status_code == 403
    admin = await console.agent("administrator")
    async with logged_in_client(console, admin.login) as (client, csrf):
        good = {"main_colour": "#00aa00", "console_title": "T", "portal_title": "P"}
        assert (await client.post("/console/settings/branding", data=good)).status_code == 403
        for bad in (
            {**good, "main_colour": "red"},
            {**good, "main_colour": "#12345g"},
            {**good, "console_title": ""},
            {**good, "console_title": "x" * 121},
        ):
            answer = await client.post(
                "/console/settings/branding", data={**bad, "csrf_token": csrf}
            )
            assert answer.status_code == 422, bad
            assert 'role="alert"' in answer.text
        too_big = await client.post(
            "/console/settings/branding",
            data={**good, "csrf_token": csrf},
            files={"favicon": ("big.png", png() + b"\0" * (1024 * 1024), "image/png")},
        )
        assert too_big.status_code == 413
    assert (await console.api.get("/api/v1/settings/branding")).json() == before

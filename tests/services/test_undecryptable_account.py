"""An account whose stored secrets do not decrypt (the key was replaced without keeping the
old one, or the row was written by other means) must not take its channel down: the other
services' lookup of the channel leaves it out, its own lookup is a clear 503, the public API
shows it as unreadable, and setting its secrets again repairs it. Against the running
ticket-core."""

from __future__ import annotations

import httpx
import pytest
from devstack.test_system import INTERNAL_TOKEN
from helpdesk_common.channel_accounts import INTERNAL_PATH
from ticket_core.channel_accounts import table as accounts

from .conftest import Desk, unique

pytestmark = pytest.mark.asyncio
INTERNAL = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


async def test_an_undecryptable_account_is_left_out_and_can_be_repaired(
    tickets_api: httpx.AsyncClient, desk: Desk
) -> None:
    good, bad = unique("good"), unique("bad")
    made = await tickets_api.post(
        "/api/v1/channel-accounts",
        json={"channel": "telegram", "name": good, "secrets": {"token": "1:good"}},
    )
    assert made.status_code == 201, made.text
    async with desk.sessions() as session, session.begin():
        await session.execute(
            accounts.insert().values(
                channel="telegram", name=bad, config={}, secrets_encrypted="not-a-fernet-token"
            )
        )
    try:
        listed = await tickets_api.get(f"{INTERNAL_PATH}/telegram", headers=INTERNAL)
        assert listed.status_code == 200, listed.text
        names = {a["name"] for a in listed.json()}
        assert good in names and bad not in names

        lookup = await tickets_api.get(f"{INTERNAL_PATH}/telegram/{bad}", headers=INTERNAL)
        assert lookup.status_code == 503
        assert "do not decrypt" in lookup.json()["detail"]

        public = await tickets_api.get("/api/v1/channel-accounts", params={"channel": "telegram"})
        shown = {a["name"]: a for a in public.json()}
        assert shown[bad]["secrets_readable"] is False and shown[bad]["secret_names"] == []
        assert shown[good]["secrets_readable"] is True and "token" in shown[good]["secret_names"]

        repaired = await tickets_api.patch(
            f"/api/v1/channel-accounts/telegram/{bad}", json={"secrets": {"token": "2:again"}}
        )
        assert repaired.status_code == 200, repaired.text
        assert repaired.json()["secrets_readable"] is True
        lookup = await tickets_api.get(f"{INTERNAL_PATH}/telegram/{bad}", headers=INTERNAL)
        assert lookup.status_code == 200 and lookup.json()["secrets"]["token"] == "2:again"
    finally:
        for name in (good, bad):
            await tickets_api.delete(f"/api/v1/channel-accounts/telegram/{name}")

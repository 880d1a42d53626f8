"""Channel accounts in the console's settings: the browser flow (a mailbox created on the
test Dovecot passes "Test connection", fails it with a wrong password (the server's words
shown), its password is never sent back to the browser, and enable/disable work; the
account is disabled again at the end) and the form's refusals (422 with the reason, 404)."""

from __future__ import annotations

from devstack.dovecot import USER, Dovecot
from devstack.test_system import TELEGRAM_TOKEN

from .channel_probe_helpers import (  # the dovecot fixture
    IMAP_PASSWORD,
    dovecot_server,  # noqa: F401
)
from .console_helpers import Console, unique


async def test_mailbox_account_test_connection_in_the_browser(
    console: Console, dovecot: Dovecot
) -> None:
    admin = await console.agent("administrator")
    opened = await console.log_in(admin)
    page = opened.page
    name = unique("desk")
    try:
        await page.click("#nav-settings")
        await page.click("text=Channel accounts")
        await page.click("a[href='/console/settings/channels/new/email']")
        await page.fill("input[name=name]", name)
        await page.fill("input[name=display_name]", "Support mailbox")
        await page.uncheck("input[name=enabled]")  # email-ingest leaves it alone
        await page.fill("input[name=f_host]", "127.0.0.1")
        await page.fill("input[name=f_port]", str(dovecot.imap_port))
        await page.select_option("select[name=f_security]", "none")
        await page.fill("input[name=f_login]", USER)
        await page.fill("input[name=f_password]", IMAP_PASSWORD)
        await page.click("#account-form button[type=submit]")
        await page.wait_for_url(f"**/settings/channels/email/{name}?done=created")

        # The password is never sent back: an empty field that says "set".
        assert await page.input_value("input[name=f_password]") == ""
        assert await page.is_visible(".secret-set")
        assert IMAP_PASSWORD not in await page.content()

        await page.click("button.test-connection")
        result = page.locator("#test-result .probe")
        await result.wait_for()
        assert await result.get_attribute("data-ok") == "true", await result.inner_text()
        assert "logged in" in await result.inner_text()
        await console.shot(page, "settings-channel-test-ok")

        # A wrong password: saved, and the test shows the server's refusal.
        await page.fill("input[name=f_password]", "wrong-password")
        await page.click("#account-form button[type=submit]")
        await page.wait_for_url(f"**/settings/channels/email/{name}?done=saved")
        await page.click("button.test-connection")
        await result.wait_for()
        assert await result.get_attribute("data-ok") == "false"
        text = await result.inner_text()
        assert text.startswith("Failed: login refused:") and "wrong-password" not in text
        await console.shot(page, "settings-channel-test-failed")

        # An edit that leaves the password empty keeps it (the test still fails the same).
        await page.fill("input[name=display_name]", "Support (renamed)")
        await page.click("#account-form button[type=submit]")
        await page.wait_for_url(f"**/settings/channels/email/{name}?done=saved")
        account = (await console.api.get(f"/api/v1/channel-accounts/email/{name}")).json()
        assert account["display_name"] == "Support (renamed)"
        assert account["secret_names"] == ["password"] and account["enabled"] is False

        # The list: address, the last failure, enable from the row.
        await page.goto(console.url("/settings/channels"))
        row = page.locator(f"tr[data-account='email/{name}']")
        assert USER in await row.inner_text()
        assert "login refused" in await row.locator(".error-text").inner_text()
        await row.locator("button:has-text('enable')").click()
        await page.wait_for_url("**/settings/channels?done=saved")
        account = (await console.api.get(f"/api/v1/channel-accounts/email/{name}")).json()
        assert account["enabled"] is True

        # Telegram's row test (the running system's bot against the fake).
        telegram = page.locator("tr[data-account='telegram/support_bot']")
        await telegram.locator("button.test-connection").click()
        await telegram.locator(".probe").wait_for()
        assert "fake_bot" in await telegram.locator(".probe").inner_text()
        await console.shot(page, "settings-channels")
        assert not opened.errors
    finally:
        await console.api.patch(f"/api/v1/channel-accounts/email/{name}", json={"enabled": False})
        await opened.close()


async def test_account_form_refusals_are_422_with_the_reason(console: Console) -> None:
    from .test_settings_http import logged_in_client  # the session-cookie client

    admin = await console.agent("administrator")
    async with logged_in_client(console.base, admin.login) as (client, csrf):
        missing = await client.post(
            "/console/settings/channels/new/email",
            data={"csrf_token": csrf, "name": unique("m"), "f_host": "127.0.0.1"},
        )
        assert missing.status_code == 422
        assert "email accounts need secrets: password" in missing.text
        bad_port = await client.post(
            "/console/settings/channels/new/email",
            data={"csrf_token": csrf, "name": unique("m"), "f_port": "abc"},
        )
        assert bad_port.status_code == 422 and "IMAP port: a whole number" in bad_port.text
        unknown = await client.get("/console/settings/channels/new/fax")
        assert unknown.status_code == 404
        nothing = await client.get("/console/settings/channels/email/no-such-box")
        assert nothing.status_code == 404
        # the telegram bot's token is never in its edit page
        page = await client.get("/console/settings/channels/telegram/support_bot")
        assert page.status_code == 200
        assert TELEGRAM_TOKEN not in page.text and "secret-set" in page.text

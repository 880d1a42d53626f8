"""Settings for administrators: channel accounts (mailboxes, messenger bots, SMS
providers, telephony) and their "Test connection".

Creating and editing go through the REST API's functions (``channel_accounts_api.
create_account``/``patch_account``: the same validation, encryption and refusals). Secrets
are never sent back to the browser: the edit form says which are set, and an empty field
keeps the stored value. "Test connection" (an HTMX fragment, or a page without JS)
runs ``connection_probe.probe_account`` with the stored config and secrets.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel
from redis.exceptions import RedisError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from .. import channel_accounts as store
from ..channel_accounts_api import (
    AccountIn,
    AccountPatch,
    ChannelAccountSettings,
    create_account,
    load_account,
    patch_account,
)
from ..connection_probe import ProviderUrls, probe_account
from .console_auth import ConsoleAgent
from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit
from .settings_forms import (
    ACCOUNT_FIELDS,
    CHANNEL_TITLES,
    REFUSALS,
    FormRefused,
    account_values,
    address_of,
    bool_value,
    checkbox,
    form_value,
    managed_channel,
    refusal,
    text,
)

log = get_logger(__name__)
LAST_TEST_KEY = "console:channel-test:{channel}:{name}"


def settings_channel_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()
    own = ChannelAccountSettings()
    box = store.SecretBox(own.secrets_key)
    urls = ProviderUrls(
        own.telegram_api_base_url,
        own.viber_api_base_url,
        own.vk_api_base_url,
        gateway=own.gateway_public_url,
    )

    def sealer() -> store.SecretBox:
        if not box.available:
            raise ConsoleError(
                status_code=503,
                detail="TICKET_CORE_SECRETS_KEY is not set: channel accounts cannot be managed",
            )
        return box

    async def last_tests(rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
        """The last failed test per account (Redis, a day), shown as its last error."""
        redis = kit.access.store.redis
        keys = [LAST_TEST_KEY.format(channel=r["channel"], name=r["name"]) for r in rows]
        if not keys:
            return {}
        try:
            values = await redis.mget(keys)
        except RedisError:
            log.warning("channel_test_results_unavailable")
            return {}
        found: dict[tuple[str, str], str] = {}
        for row, value in zip(rows, values, strict=True):
            if value:
                raw = value.decode() if isinstance(value, bytes) else str(value)
                found[(row["channel"], row["name"])] = raw
        return found

    async def list_page(
        request: Request, agent: ConsoleAgent, *, error: str | None = None, status_code: int = 200
    ) -> Response:
        sealer()
        async with kit.sessions() as db:
            rows = await store.list_accounts(db, None)
        errors = await last_tests(rows)
        accounts = [
            {
                "channel": r["channel"],
                "channel_title": CHANNEL_TITLES.get(Channel(r["channel"]), r["channel"]),
                "name": r["name"],
                "display_name": r["display_name"],
                "enabled": r["enabled"],
                "address": address_of(r["config"]),
                "last_error": errors.get((r["channel"], r["name"])),
            }
            for r in rows
        ]
        context = {
            "accounts": accounts,
            "channels": CHANNEL_TITLES,
            "error": error,
            "done": request.query_params.get("done"),
        }
        return kit.page(request, "settings/channels.html", context, agent, status_code)

    @router.get("/settings/channels", include_in_schema=False)
    async def channels(request: Request) -> Response:
        agent = await kit.administrator(request)
        return await list_page(request, agent)

    def form_page(
        request: Request,
        agent: ConsoleAgent,
        channel: Channel,
        *,
        account: dict[str, Any] | None,
        values: dict[str, Any],
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        """``values``: what the fields show (config values, never secrets)."""
        fields = [
            {
                "spec": spec,
                "value": form_value(spec, values),
                "checked": bool_value(spec, values),
                "is_set": spec.key in (account or {}).get("secret_names", ()),
            }
            for spec in ACCOUNT_FIELDS[channel]
        ]
        context = {
            "channel": channel.value,
            "channel_title": CHANNEL_TITLES[channel],
            "account": account,
            "fields": fields,
            "error": error,
            "done": request.query_params.get("done"),
            "draft_name": values.get("__name", ""),
            "draft_display": values.get("__display_name", (account or {}).get("display_name", "")),
        }
        return kit.page(request, "settings/channel_form.html", context, agent, status_code)

    def posted_values(form: Any) -> dict[str, Any]:
        """The non-secret fields as posted, to show them again after a refusal."""
        values: dict[str, Any] = {}
        for key, value in form.items():
            if key.startswith("f_"):
                values[key[2:]] = value
        values["__name"] = str(form.get("name") or "")[:64]
        values["__display_name"] = str(form.get("display_name") or "")[:256]
        return values

    def without_secrets(channel: Channel, values: dict[str, Any]) -> dict[str, Any]:
        secret_keys = {s.key for s in ACCOUNT_FIELDS[channel] if s.secret}
        return {k: v for k, v in values.items() if k not in secret_keys}

    def channel_of(raw: str) -> Channel:
        try:
            return managed_channel(raw)
        except FormRefused as exc:
            raise ConsoleError(status_code=404, detail=str(exc)) from exc

    async def save(
        request: Request,
        agent: ConsoleAgent,
        form: FormData,
        channel: Channel,
        name: str | None,
        view: dict[str, Any] | None,
    ) -> Response:
        """Create the account (``name`` None) or change it; a refusal shows the form
        again with the posted values (never secrets) and the reason."""
        try:
            config, secrets = account_values(channel, form, editing=name is not None)
            new_name = text(form, "name", 64) if name is None else None
            values = {
                "display_name": text(form, "display_name", 256),
                "enabled": checkbox(form, "enabled"),
                "config": config,
                "secrets": secrets,  # when editing, empty fields are left out: kept
            }
            if name is None:
                body = AccountIn.model_validate({"channel": channel, "name": new_name, **values})
                await create_account(kit.sessions, sealer(), body)
                name, what = body.name, "created"
            else:
                patch = AccountPatch.model_validate(values)
                await patch_account(kit.sessions, sealer(), channel, name, patch)
                what = "saved"
        except REFUSALS as exc:
            error, status_code = refusal(exc)
            shown = without_secrets(channel, posted_values(form))
            return form_page(
                request,
                agent,
                channel,
                account=view,
                values=shown,
                error=error,
                status_code=status_code,
            )
        return RedirectResponse(
            f"{PREFIX}/settings/channels/{channel.value}/{name}?done={what}", status_code=303
        )

    @router.get("/settings/channels/new/{channel}", include_in_schema=False)
    async def new_form(request: Request, channel: str) -> Response:
        agent = await kit.administrator(request)
        return form_page(request, agent, channel_of(channel), account=None, values={})

    @router.post("/settings/channels/new/{channel}", include_in_schema=False)
    async def create(request: Request, channel: str) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        return await save(request, agent, form, channel_of(channel), None, None)

    async def stored(channel: str, name: str) -> tuple[Channel, dict[str, Any], dict[str, str]]:
        chosen = channel_of(channel)
        async with kit.sessions() as db:
            row = await load_account(db, chosen, name)  # 404 when missing
        secrets = sealer().readable(row["secrets_encrypted"]) or {}  # unreadable: set again
        return chosen, row, secrets

    def account_view(row: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        return {
            "name": row["name"],
            "display_name": row["display_name"],
            "enabled": row["enabled"],
            "secret_names": sorted(secrets),
        }

    @router.get("/settings/channels/{channel}/{name}", include_in_schema=False)
    async def edit_form(request: Request, channel: str, name: str) -> Response:
        agent = await kit.administrator(request)
        chosen, row, secrets = await stored(channel, name)
        return form_page(
            request, agent, chosen, account=account_view(row, secrets), values=row["config"]
        )

    @router.post("/settings/channels/{channel}/{name}", include_in_schema=False)
    async def change(request: Request, channel: str, name: str) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        chosen, row, secrets = await stored(channel, name)
        return await save(request, agent, form, chosen, name, account_view(row, secrets))

    @router.post("/settings/channels/{channel}/{name}/enabled", include_in_schema=False)
    async def toggle(request: Request, channel: str, name: str) -> Response:
        """Enable or disable from the list (``enabled`` = 1 or 0)."""
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        chosen, _, _ = await stored(channel, name)
        body = AccountPatch(enabled=str(form.get("enabled")) == "1")
        try:
            await patch_account(kit.sessions, sealer(), chosen, name, body)
        except HTTPException as exc:
            return await list_page(
                request, agent, error=str(exc.detail), status_code=exc.status_code
            )
        return RedirectResponse(f"{PREFIX}/settings/channels?done=saved", status_code=303)

    @router.post("/settings/channels/{channel}/{name}/test", include_in_schema=False)
    async def test(request: Request, channel: str, name: str) -> Response:
        """Contact the provider with the stored settings; the answer as a fragment."""
        agent = await kit.administrator(request)
        await kit.checked_form(request, agent)
        chosen, row, secrets = await stored(channel, name)
        account = ChannelAccount.model_validate(
            {
                "channel": chosen,
                "name": row["name"],
                "display_name": row["display_name"],
                "enabled": row["enabled"],
                "config": row["config"],
                "secrets": secrets,
            }
        )
        result = await probe_account(account, urls, own.connection_test_timeout_seconds)
        log.info("channel_connection_tested", channel=chosen.value, account=name, ok=result.ok)
        key = LAST_TEST_KEY.format(channel=chosen.value, name=name)
        redis = kit.access.store.redis
        try:
            if result.ok:
                await redis.delete(key)
            else:
                await redis.set(key, result.message[:500], ex=86_400)
        except RedisError:  # the answer matters more than remembering it
            log.warning("channel_test_result_not_kept", channel=chosen.value, account=name)
        context = {"result": result, "channel": chosen.value, "name": name}
        if request.headers.get("hx-request"):
            return kit.page(request, "settings/_test_result.html", context, agent)
        return kit.page(request, "settings/test_page.html", context, agent)

    return router

"""``gateway-webhooks register <telegram|viber> <account> [--public-url URL]``.

Reads the account (with its secrets) from ticket-core's internal API
(``GATEWAY_TICKET_CORE_URL``, ``GATEWAY_INTERNAL_TOKEN``) and registers
``<public url>/webhooks/<channel>/<account>`` with the provider
(``GATEWAY_TELEGRAM_API_BASE_URL``, ``GATEWAY_VIBER_API_BASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from helpdesk_common import logs
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.records import Channel

from .settings import GatewaySettings
from .webhook_registration import RegistrationError, register


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway-webhooks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    reg = commands.add_parser("register", help="register a channel account's webhook URL")
    reg.add_argument("channel", choices=[Channel.TELEGRAM.value, Channel.VIBER.value])
    reg.add_argument("account")
    reg.add_argument("--public-url", help="public base URL of the gateway (https://...)")
    reg.add_argument("--drop-pending", action="store_true", help="telegram: drop queued updates")
    return parser


async def _register(args: argparse.Namespace, settings: GatewaySettings) -> int:
    public_url = args.public_url or settings.public_base_url
    if not public_url:
        print("error: give --public-url or set GATEWAY_PUBLIC_BASE_URL", file=sys.stderr)
        return 2
    directory = ChannelAccountDirectory(settings.ticket_core_url, settings.internal_token)
    try:
        account = await directory.get(Channel(args.channel), args.account)
        if account is None:
            print(f"error: no {args.channel} account {args.account!r}", file=sys.stderr)
            return 1
        url = await register(
            account,
            public_url,
            telegram_api_base_url=settings.telegram_api_base_url,
            viber_api_base_url=settings.viber_api_base_url,
            drop_pending=args.drop_pending,
        )
    except (RegistrationError, TransientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await directory.aclose()
    print(f"registered {args.channel} account {args.account}: {url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = GatewaySettings()
    logs.configure("gateway-webhooks", settings.log_level)
    return asyncio.run(_register(args, settings))


if __name__ == "__main__":
    sys.exit(main())

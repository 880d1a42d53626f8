"""How the services of one local system find each other and share their keys.

``make up`` creates the keys once (``<data dir>/local-keys.json``, mode 0600) and keeps
them, so channel-account secrets encrypted on one run can be read on the next. A
variable already set in the environment wins over the generated one.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.fernet import Fernet

LOCAL_ADMIN = "admin@helpdesk.local"


@dataclass(frozen=True)
class LocalKeys:
    secrets_key: str
    internal_token: str
    media_link_key: str
    admin_password: str = ""  # the local administrator's (files from before it: added)
    api_token: str = ""  # the REST API's service token (files from before it: added)

    @classmethod
    def load_or_create(cls, path: Path) -> LocalKeys:
        if path.exists():
            keys = cls(**json.loads(path.read_text()))
            if keys.admin_password and keys.api_token:
                return keys
            keys = cls(
                **{
                    **asdict(keys),
                    "admin_password": keys.admin_password or secrets.token_urlsafe(12),
                    "api_token": keys.api_token or secrets.token_urlsafe(32),
                }
            )
            path.unlink()
        else:
            keys = cls(
                secrets_key=Fernet.generate_key().decode(),
                internal_token=secrets.token_urlsafe(32),
                media_link_key=secrets.token_urlsafe(32),
                admin_password=secrets.token_urlsafe(12),
                api_token=secrets.token_urlsafe(32),
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(keys), handle)
        return keys


def service_wiring(ports: dict[str, int], keys: LocalKeys) -> dict[str, dict[str, str]]:
    """Environment per service: ticket-core's URL, the internal token, the shared keys."""
    core = f"http://127.0.0.1:{ports['ticket-core']}"
    media = {"MEDIA_LINK_KEY": keys.media_link_key}
    wiring = {
        "ticket-core": {
            "TICKET_CORE_SECRETS_KEY": keys.secrets_key,
            "TICKET_CORE_INTERNAL_TOKEN": keys.internal_token,
            "TICKET_CORE_API_TOKEN": keys.api_token,
            "TICKET_CORE_CONSOLE_PUSH_URL": f"ws://127.0.0.1:{ports['gateway']}/ws/agents",
        },
        "gateway": {
            **media,
            "GATEWAY_TICKET_CORE_URL": core,
            "GATEWAY_INTERNAL_TOKEN": keys.internal_token,
        },
        "messenger-ingest": {
            "MESSENGER_INGEST_TICKET_CORE_URL": core,
            "MESSENGER_INGEST_INTERNAL_TOKEN": keys.internal_token,
        },
        "notifier": {
            **media,
            "NOTIFIER_TICKET_CORE_URL": core,
            "NOTIFIER_INTERNAL_TOKEN": keys.internal_token,
            "NOTIFIER_PUBLIC_MEDIA_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
        },
        "email-ingest": {
            "EMAIL_INGEST_TICKET_CORE_URL": core,
            "EMAIL_INGEST_INTERNAL_TOKEN": keys.internal_token,
        },
        "telephony": {
            "TELEPHONY_TICKET_CORE_URL": core,
            "TELEPHONY_INTERNAL_TOKEN": keys.internal_token,
            "TELEPHONY_API_TOKEN": keys.api_token,
        },
    }
    return {
        service: {k: v for k, v in env.items() if k not in os.environ}
        for service, env in wiring.items()
    }

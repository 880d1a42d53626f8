"""``make up``'s keys: created once with a service token, kept across runs, and a file
from before the token existed gets one without losing the keys it holds."""

from __future__ import annotations

import json
from pathlib import Path

from devstack.wiring import LocalKeys, service_wiring

PORTS = {
    "gateway": 1,
    "ticket-core": 2,
    "email-ingest": 3,
    "messenger-ingest": 4,
    "telephony": 5,
    "notifier": 6,
}


def test_keys_are_created_with_a_token_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "local-keys.json"
    first = LocalKeys.load_or_create(path)
    assert len(first.api_token) >= 32 and first.api_token != first.internal_token
    assert LocalKeys.load_or_create(path) == first
    assert path.stat().st_mode & 0o077 == 0


def test_an_old_file_gets_a_token_and_keeps_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "local-keys.json"
    old = {"secrets_key": "s", "internal_token": "i", "media_link_key": "m", "admin_password": "p"}
    path.write_text(json.dumps(old))
    keys = LocalKeys.load_or_create(path)
    assert (keys.secrets_key, keys.internal_token, keys.admin_password) == ("s", "i", "p")
    assert keys.api_token
    assert json.loads(path.read_text())["api_token"] == keys.api_token


def test_the_local_system_requires_the_token_rather_than_trusting_anonymous_callers(
    tmp_path: Path,
) -> None:
    keys = LocalKeys.load_or_create(tmp_path / "k.json")
    wiring = service_wiring(PORTS, keys)
    assert wiring["ticket-core"]["TICKET_CORE_API_TOKEN"] == keys.api_token
    assert wiring["telephony"]["TELEPHONY_API_TOKEN"] == keys.api_token
    assert not any("ALLOW_ANONYMOUS" in name for env in wiring.values() for name in env)

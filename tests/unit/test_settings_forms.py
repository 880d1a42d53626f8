"""The settings forms' meaning (pure): account forms to config and secrets (secrets never
shown, empty secret fields kept), values shown back, priority moves."""

from __future__ import annotations

import pytest
from helpdesk_common.records import Channel
from ticket_core.console.settings_forms import (
    ACCOUNT_FIELDS,
    FormRefused,
    account_values,
    address_of,
    form_value,
    managed_channel,
    moved,
    ordered_ids,
)


def test_email_form_to_config_and_secrets() -> None:
    form = {
        "f_host": " imap.example.com ",
        "f_port": "993",
        "f_security": "tls",
        "f_login": "support@example.com",
        "f_password": "pw",
        "f_own_addresses": "a@example.com, b@example.com,",
        "f_tls_verify": "1",
        "f_folder": "",
    }
    config, secrets = account_values(Channel.EMAIL, form, editing=False)
    assert config == {
        "host": "imap.example.com",
        "port": 993,
        "security": "tls",
        "login": "support@example.com",
        "own_addresses": ["a@example.com", "b@example.com"],
        "tls_verify": True,
    }
    assert secrets == {"password": "pw"}


def test_editing_clears_empty_config_and_keeps_empty_secrets() -> None:
    config, secrets = account_values(
        Channel.TELEGRAM, {"f_token": "", "f_webhook_secret": ""}, editing=True
    )
    assert config == {} and secrets == {}
    config, secrets = account_values(Channel.VK, {"f_group_id": "", "f_token": "new"}, editing=True)
    assert config == {"group_id": None} and secrets == {"token": "new"}


def test_bad_values_are_refused_by_name() -> None:
    with pytest.raises(FormRefused, match="IMAP port: a whole number"):
        account_values(Channel.EMAIL, {"f_port": "x"}, editing=False)
    with pytest.raises(FormRefused, match="Provider: choose one of"):
        account_values(Channel.SMS, {"f_provider": "carrier-pigeon"}, editing=False)
    with pytest.raises(FormRefused, match="unknown channel"):
        managed_channel("webform")
    with pytest.raises(FormRefused):
        managed_channel("fax")


def test_secrets_are_never_shown_back() -> None:
    for channel, specs in ACCOUNT_FIELDS.items():
        for spec in specs:
            if spec.secret:
                assert form_value(spec, {spec.key: "s3cret"}) == "", (channel, spec.key)
    email = {s.key: s for s in ACCOUNT_FIELDS[Channel.EMAIL]}
    assert form_value(email["own_addresses"], {"own_addresses": ["a@x", "b@x"]}) == "a@x, b@x"
    assert address_of({"host": "h", "login": "l"}) == "l"
    assert address_of({}) == ""


def test_priority_moves() -> None:
    assert moved([1, 2, 3], 2, "up") == [2, 1, 3]
    assert moved([1, 2, 3], 2, "down") == [1, 3, 2]
    assert moved([1, 2, 3], 1, "up") == [1, 2, 3]  # already on top
    with pytest.raises(FormRefused):
        moved([1, 2, 3], 9, "up")
    with pytest.raises(FormRefused):
        moved([1, 2, 3], 1, "sideways")
    assert ordered_ids(["3", "1"]) == [3, 1]
    with pytest.raises(FormRefused):
        ordered_ids(["1", "x"])

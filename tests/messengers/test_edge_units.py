"""Signature checks, text splitting, VK random ids, signed media links, secret sealing."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet
from gateway import signatures
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.records import Channel
from notifier.messenger_parts import split_text
from notifier.vk_sender import random_id
from ticket_core.channel_accounts import (
    InvalidAccount,
    SecretBox,
    SecretsUnavailable,
    check_account,
)


def test_telegram_secret_token() -> None:
    assert signatures.telegram_ok("s3cret", "s3cret")
    assert not signatures.telegram_ok("s3cret ", "s3cret")
    assert not signatures.telegram_ok(None, "s3cret")
    assert not signatures.telegram_ok("", "")
    assert not signatures.telegram_ok("секрет", "s3cret")  # non-ASCII does not raise


def test_viber_signature_is_over_the_raw_bytes() -> None:
    body = b'{"event":"message","text":"\\u043f"}'
    good = hmac.new(b"tok", body, hashlib.sha256).hexdigest()
    assert signatures.viber_ok(body, good, "tok")
    assert signatures.viber_ok(body, good.upper(), "tok")
    assert not signatures.viber_ok(body + b" ", good, "tok")
    assert not signatures.viber_ok(body, good, "other")
    assert not signatures.viber_ok(body, None, "tok")


def test_vk_secret_field() -> None:
    assert signatures.vk_ok("abc", "abc")
    assert not signatures.vk_ok(123, "123")
    assert not signatures.vk_ok(None, "abc")


def test_split_text_on_paragraphs_lines_words() -> None:
    assert split_text("", 10) == []
    assert split_text("short", 10) == ["short"]
    assert split_text("aaaa\n\nbbbb\n\ncccc", 10) == ["aaaa\n\nbbbb", "cccc"]
    assert split_text("aaaa bbbb cccc", 9) == ["aaaa bbbb", "cccc"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    text = "\n\n".join(f"p{i} " + "y" * 3000 for i in range(5))
    chunks = split_text(text, 4096)
    assert all(len(c) <= 4096 for c in chunks) and "\n\n".join(chunks) == text


def test_vk_random_id_is_stable_positive_int32() -> None:
    assert random_id("abc", 0) == random_id("abc", 0)
    assert random_id("abc", 0) != random_id("abc", 1) != random_id("abd", 0)
    assert all(0 < random_id(str(i), 0) < 2**31 for i in range(200))


def test_media_links_expire_and_cannot_be_forged() -> None:
    now = [1000.0]
    links = MediaLinks("k", "https://gw", ttl_seconds=60, clock=lambda: now[0])
    url = links.url("a" * 64, "act 1.pdf")
    assert url.startswith("https://gw/media/" + "a" * 64 + "/act%201.pdf?exp=1060&sig=")
    sig = url.rsplit("sig=", 1)[1]
    assert links.valid("a" * 64, "act 1.pdf", 1060, sig)
    assert not links.valid("b" * 64, "act 1.pdf", 1060, sig)
    assert not links.valid("a" * 64, "act 1.pdf", 1061, sig)
    now[0] = 2000.0
    assert not links.valid("a" * 64, "act 1.pdf", 1060, sig)


def test_secrets_are_sealed_and_need_a_key() -> None:
    key = Fernet.generate_key().decode()
    box = SecretBox(key)
    sealed = box.seal({"token": "123:abc"})
    assert "123:abc" not in sealed and box.open(sealed) == {"token": "123:abc"}
    with pytest.raises(SecretsUnavailable, match="TICKET_CORE_SECRETS_KEY is not set"):
        SecretBox(None).seal({"token": "x"})
    with pytest.raises(SecretsUnavailable, match="not a valid Fernet key"):
        SecretBox("short")
    rotated = SecretBox(f"{Fernet.generate_key().decode()},{key}")  # new key first
    assert rotated.open(sealed) == {"token": "123:abc"}
    with pytest.raises(SecretsUnavailable, match="do not decrypt"):
        SecretBox(Fernet.generate_key().decode()).open(sealed)


def test_account_checks() -> None:
    made = check_account(Channel.TELEGRAM, "bot", {"token": "1:a"})
    assert made["webhook_secret"]  # generated
    with pytest.raises(InvalidAccount, match="need secrets: confirmation"):
        check_account(Channel.VK, "club", {"token": "t", "webhook_secret": "s"})
    with pytest.raises(InvalidAccount, match="name"):
        check_account(Channel.VIBER, "bad name", {"token": "t"})
    with pytest.raises(InvalidAccount):
        check_account(Channel.EMAIL, "mail", {"token": "t"})


def test_channel_account_hides_secrets_in_repr() -> None:
    account = ChannelAccount(channel=Channel.VK, name="c", secrets={"token": "vk1.secret"})
    assert "vk1.secret" not in repr(account) and account.secret("token") == "vk1.secret"

"""Pure parts of agent auth: argon2 password hashing and the push envelope's routing."""

from __future__ import annotations

import json

import pytest
from helpdesk_common.agent_push import decode_push, encode_push
from ticket_core.passwords import (
    WeakPassword,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_a_password_hash_is_argon2id_salted_and_verifies_only_the_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and "correct horse" not in first
    assert first != second  # a fresh salt each time
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")
    assert not verify_password(first, "correct horsE")
    assert not verify_password(first, "")
    assert not needs_rehash(first)


def test_missing_or_malformed_hashes_never_verify() -> None:
    assert not verify_password(None, "not-a-password-of-anyone")  # the dummy's own password
    assert not verify_password("", "anything")
    assert not verify_password("$argon2id$garbage", "anything")
    assert not verify_password("plain-text-password", "plain-text-password")


@pytest.mark.parametrize("weak", ["short", "       ", "x" * 1025])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(WeakPassword):
        hash_password(weak)


def test_push_envelope_routing() -> None:
    targeted = decode_push(encode_push("status.changed", {"ticket_id": 7}, agent_ids=[3, 3, 1]))
    assert targeted is not None
    assert targeted.agent_ids == [1, 3] and targeted.model_extra == {"ticket_id": 7}
    assert targeted.reaches(3, "specialist") and not targeted.reaches(2, "administrator")

    supervised = decode_push(
        encode_push("x", {}, agent_ids=[5], roles=["administrator", "lead_specialist"])
    )
    assert supervised is not None
    assert supervised.reaches(5, "specialist") and supervised.reaches(9, "lead_specialist")
    assert not supervised.reaches(9, "specialist")

    everyone = decode_push(encode_push("call.ringing", {"call_id": "c1"}))
    assert everyone is not None and everyone.reaches(42, "specialist")
    # What older publishers sent (no routing fields) goes to everyone too.
    assert decode_push(json.dumps({"kind": "ticket.created", "ticket_id": 1})) is not None
    for junk in (b"not json", "{}", json.dumps({"kind": ""}), json.dumps([1])):
        assert decode_push(junk) is None

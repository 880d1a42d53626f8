"""Mailbox configuration, mailbox-name encoding and backoff (no servers needed)."""

from __future__ import annotations

import itertools
import json

import pytest
from email_ingest.backoff import Backoff
from email_ingest.imap_names import encode_mailbox, mailbox_arg
from email_ingest.mailboxes import MailboxConfig, parse_mailboxes
from email_ingest.settings import EmailIngestSettings
from pydantic import ValidationError

BASE = {"name": "support", "host": "imap.example.com", "login": "s@example.com", "password": "pw-9"}


def test_mailboxes_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    boxes = [
        {**BASE, "own_addresses": ["Support@Example.com"], "processed": "move: Done "},
        {**BASE, "name": "sales", "channel_account": "sales-ru", "security": "starttls"},
    ]
    monkeypatch.setenv("EMAIL_INGEST_MAILBOXES", json.dumps(boxes))
    support, sales = EmailIngestSettings().mailboxes
    assert (support.effective_port, support.folder, support.move_to) == (993, "INBOX", "Done")
    assert support.context().own_addresses == frozenset({"support@example.com"})
    assert support.context().channel_account == "support"
    assert (sales.effective_port, sales.account, sales.move_to) == (143, "sales-ru", None)


def test_the_password_is_never_shown() -> None:
    box = MailboxConfig.model_validate(BASE)
    assert box.password.get_secret_value() == "pw-9"
    for text in (repr(box), str(box), json.dumps(box.describe()), box.model_dump_json()):
        assert "pw-9" not in text


@pytest.mark.parametrize("processed", ["delete", "move:", "move:  ", "flagged"])
def test_processed_action_is_flag_or_move(processed: str) -> None:
    with pytest.raises(ValidationError, match="processed"):
        MailboxConfig.model_validate({**BASE, "processed": processed})


def test_mailbox_names_are_unique() -> None:
    with pytest.raises(ValueError, match="duplicate mailbox names: support"):
        parse_mailboxes(json.dumps([BASE, BASE]))
    assert parse_mailboxes("") == []


def test_ticket_token_pattern_needs_one_group() -> None:
    with pytest.raises(ValidationError, match="one group"):
        MailboxConfig.model_validate({**BASE, "ticket_token_pattern": r"\[#\d+\]"})
    box = MailboxConfig.model_validate({**BASE, "ticket_token_pattern": r"\[T-(\d+)\]"})
    assert box.context().ticket_token_pattern == r"\[T-(\d+)\]"


def test_folder_names_use_modified_utf7() -> None:
    # RFC 3501 section 5.1.3 example, and a Cyrillic folder as Thunderbird names it.
    assert encode_mailbox("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert encode_mailbox("Отправленные") == "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"
    assert encode_mailbox("R&D") == "R&-D"
    assert mailbox_arg('a "b"') == '"a \\"b\\""'


def test_backoff_grows_to_the_cap_and_resets() -> None:
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next() for _ in range(6)]
    assert all(a < b for a, b in itertools.pairwise(delays[:4]))
    assert all(6.4 <= d <= 9.6 for d in delays[3:])
    backoff.reset()
    assert 0.8 <= backoff.next() <= 1.2

"""The pure parts of registering a ticket by hand: the request's checks and how the
console's contact input is read."""

from __future__ import annotations

import pytest
from ticket_core.console.new_ticket_routes import contact_of, ids_of
from ticket_core.ticket_create import NewTicket, TicketCreateRefused, checked


def test_checked_trims_and_keeps_what_was_given() -> None:
    wanted = checked(
        NewTicket(subject="  Printer ", text=" jams ", email=" a@b.test ", idempotency_key=" k ")
    )
    assert (wanted.subject, wanted.text, wanted.email) == ("Printer", "jams", "a@b.test")
    assert wanted.phone is None and wanted.idempotency_key == "k"


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (NewTicket(subject=" ", text="", email="a@b.test"), "subject is empty"),
        (NewTicket(subject="x", text="", email=" ", phone=""), "give the contact"),
        (NewTicket(subject="x" * 501, text="", contact_id=1), "too long"),
        (NewTicket(subject="x", text="", contact_id=1, channel="fax"), "channel must be"),
        (NewTicket(subject="x", text="", contact_id=1, idempotency_key="k" * 201), "key"),
    ],
)
def test_checked_refuses_with_a_reason(request_: NewTicket, reason: str) -> None:
    with pytest.raises(TicketCreateRefused, match=reason):
        checked(request_)


def test_the_contact_input_names_an_id_an_email_a_phone_or_a_name() -> None:
    assert contact_of("#42") == {"contact_id": 42}
    assert contact_of(" ann@example.test ") == {"email": "ann@example.test"}
    assert contact_of("+49 30 1234-567") == {"phone": "+49 30 1234-567"}
    assert contact_of("Ann Smith") == {"name": "Ann Smith"}
    assert contact_of("  ") == {}


def test_id_selects_are_numbers_or_blank() -> None:
    assert ids_of({"type_id": "3", "priority_id": ""}) == {
        "type_id": 3,
        "priority_id": None,
        "responsible_agent_id": None,
        "responsible_group_id": None,
    }
    with pytest.raises(TicketCreateRefused, match="type id must be a number"):
        ids_of({"type_id": "3; drop"})

"""Who wrote: every sender of a batch resolved to a contact from the identities' owners
read with the batch's first statement, and the new contacts and identities written with
one more.

A sender is known by identities in order of trust: the channel's own user id, then email,
then phone. The first identity that exists names the contact; otherwise a new contact is
made (one per sender, even when the sender wrote several messages in the batch). The
identities seen are added to the contact, and empty contact fields are filled in, so
the same email on the web form and by email is one contact. A new contact whose email
domain is a company's domain joins that company (the domains come with the batch's
cached configuration).

An account with ``create_unknown_contacts`` false makes no contact for a sender none is
known by: the message gets no contact (``None``), only the company its email domain
belongs to, and no identity is recorded.

Two phases, so a batch's ids come from one statement: ``plan_contacts`` decides (a plain
function; a new contact is a ``NewContact`` without an id), the caller allocates the new
contacts' ids with its own and ``ContactPlan.write`` stores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from helpdesk_common.records import InboundMessage
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo as batch
from . import repository as repo
from .threading import PUBLIC_MAIL_DOMAINS, peer_id


def sender_identities(message: InboundMessage) -> list[repo.Identity]:
    sender = message.sender
    found: list[repo.Identity] = [
        (message.channel.value, peer_id(message.channel, sender.channel_user_id))
    ]
    if sender.email:
        found.append(("email", sender.email.strip().lower()))
    if sender.phone:
        found.append(("phone", sender.phone.strip()))
    return list(dict.fromkeys(found))


def _gaps(contact: dict[str, Any], message: InboundMessage) -> dict[str, Any] | None:
    sender = message.sender
    filled = {
        "email": contact["email"] or sender.email,
        "phone": contact["phone"] or sender.phone,
        "display_name": contact["display_name"] or sender.display_name,
    }
    if all(filled[k] == contact[k] for k in filled):
        return None
    contact.update(filled)
    return {f"b_{k}": v for k, v in filled.items()} | {"b_id": contact["id"]}


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().lower()
    return domain if domain and domain not in PUBLIC_MAIL_DOMAINS else None


DomainOwners = Mapping[str, int]
"""company domain -> company id"""


class NewContact:
    """A contact this batch makes: its row, whose ``id`` comes with the batch's other ids
    (``ContactPlan.write``). Equal only to itself."""

    __slots__ = ("row",)

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row


ContactRef = int | NewContact
"""A known contact's id, or a contact made in this batch."""


def contact_id(ref: ContactRef | None) -> int | None:
    """The id behind a reference (a new contact's once ``ContactPlan.write`` has run)."""
    return int(ref.row["id"]) if isinstance(ref, NewContact) else ref


@dataclass
class ContactPlan:
    """Who wrote each message of a batch, decided from the identities' owners; nothing
    written yet.

    ``resolved``: per message, the contact (or None) and its company. ``write`` stores the
    new contacts and identities, and fills empty fields of known ones."""

    resolved: list[tuple[ContactRef | None, int | None]]
    new_contacts: list[NewContact]
    identity_rows: list[tuple[ContactRef, repo.Identity]]
    gap_updates: list[dict[str, Any]]

    async def write(self, session: AsyncSession, ids: Sequence[int]) -> None:
        """Give the new contacts ``ids`` (one per new contact), then write: one statement
        for the contacts and identities, one for the filled gaps (when any)."""
        for new, new_id in zip(self.new_contacts, ids, strict=True):
            new.row["id"] = new_id
        await batch.insert_contacts_and_identities(
            session,
            [c.row for c in self.new_contacts],
            [
                {"contact_id": contact_id(owner), "kind": kind, "value": value}
                for owner, (kind, value) in self.identity_rows
            ],
        )
        await batch.update_contacts(session, self.gap_updates)


def plan_contacts(
    messages: Sequence[InboundMessage],
    may_create: Sequence[bool],
    domain_owners: DomainOwners,
    found: batch.Owners,
) -> ContactPlan:
    """The contact (and its company) of each message's sender: found by identity, or a new
    contact for a message whose ``may_create`` is true. ``domain_owners``: every company
    domain (a batch's cached ``IngestConfig``); ``found``: the owners of (at least) the
    senders' identities (``batch_repo.batch_start``), with their contact fields."""
    per_message = [sender_identities(m) for m in messages]
    owners = dict(found.ids)
    new_contacts: list[NewContact] = []
    new_owners: dict[repo.Identity, NewContact] = {}
    identity_rows: list[tuple[ContactRef, repo.Identity]] = []
    chosen: list[ContactRef | None] = []
    for message, idents, create in zip(messages, per_message, may_create, strict=True):
        owner: ContactRef | None = next((owners[i] for i in idents if i in owners), None)
        if owner is None:
            owner = next((new_owners[i] for i in idents if i in new_owners), None)
        if owner is None and not create:
            chosen.append(None)
            continue
        if owner is None:
            sender = message.sender
            owner = NewContact(
                {
                    "display_name": sender.display_name,
                    "email": sender.email,
                    "phone": sender.phone,
                    "company_id": domain_owners.get(email_domain(sender.email) or ""),
                }
            )
            new_contacts.append(owner)
        for ident in idents:
            if ident in owners or ident in new_owners:
                continue
            identity_rows.append((owner, ident))
            if isinstance(owner, NewContact):
                new_owners[ident] = owner
            else:
                owners[ident] = owner
        chosen.append(owner)
    existing = found.contacts
    return ContactPlan(
        [
            (c, c.row["company_id"])
            if isinstance(c, NewContact)
            else (c, existing[c]["company_id"] if c in existing else None)
            if c is not None
            else (None, domain_owners.get(email_domain(m.sender.email) or ""))
            for m, c in zip(messages, chosen, strict=True)
        ],
        new_contacts,
        identity_rows,
        _gap_updates(messages, chosen, existing),
    )


def _gap_updates(
    messages: Sequence[InboundMessage],
    chosen: Sequence[ContactRef | None],
    existing: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Empty fields of contacts that existed before the batch (``existing``, read with
    their identities) completed from the messages; never overwritten."""
    updates: dict[int, dict[str, Any]] = {}
    for message, contact in zip(messages, chosen, strict=True):
        if isinstance(contact, int) and contact in existing:
            change = _gaps(existing[contact], message)
            if change is not None:
                updates[contact] = change
    return list(updates.values())

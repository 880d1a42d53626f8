"""Who wrote: every sender of a batch resolved to a contact with a few set-based queries.

A sender is known by identities in order of trust: the channel's own user id, then email,
then phone. The first identity that exists names the contact; otherwise a new contact is
made (one per sender, even when the sender wrote several messages in the batch). The
identities seen are added to the contact, and empty contact fields are filled in, so
the same email on the web form and by email is one contact. A new contact whose email
domain is a company's domain joins that company (one lookup for the whole batch).

An account with ``create_unknown_contacts`` false makes no contact for a sender none is
known by: the message gets no contact (``None``), only the company its email domain
belongs to, and no identity is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helpdesk_common.records import InboundMessage
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo as batch
from . import repository as repo
from .org_repo import companies_by_domain
from .threading import PUBLIC_MAIL_DOMAINS, peer_id

# (contact id, the contact's company id) per message; no contact for an unknown sender
# of an account that creates none
ResolvedContact = tuple[int | None, int | None]


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


async def _domain_owners(
    session: AsyncSession, domains: set[str], known: DomainOwners | None
) -> DomainOwners:
    return known if known is not None else await companies_by_domain(session, domains)


async def _link_companies(
    session: AsyncSession, new_rows: list[dict[str, Any]], known: DomainOwners | None
) -> None:
    domains = {d for row in new_rows if (d := email_domain(row["email"]))}
    owners = await _domain_owners(session, domains, known) if domains else {}
    for row in new_rows:
        row["company_id"] = owners.get(email_domain(row["email"]) or "")


async def resolve_contacts(
    session: AsyncSession,
    messages: Sequence[InboundMessage],
    may_create: Sequence[bool] | None = None,
    domain_owners: DomainOwners | None = None,
) -> list[ResolvedContact]:
    """The contact (and its company) of each message's sender, creating contacts and
    identities as needed (for a message whose ``may_create`` is true: all by default).
    ``domain_owners``: every company domain, when the caller has them (a batch's cached
    ``IngestConfig``); otherwise the domains needed are looked up."""
    per_message = [sender_identities(m) for m in messages]
    creating = list(may_create) if may_create is not None else [True] * len(messages)
    found = await batch.identity_owners(session, (i for ids in per_message for i in ids))
    owners = found.ids
    new_rows: list[dict[str, Any]] = []  # contacts made in this batch, ids assigned below
    new_owners: dict[repo.Identity, dict[str, Any]] = {}
    identity_rows: list[tuple[int | dict[str, Any], repo.Identity]] = []
    chosen: list[int | dict[str, Any] | None] = []
    for message, idents, create in zip(messages, per_message, creating, strict=True):
        owner: int | dict[str, Any] | None = next((owners[i] for i in idents if i in owners), None)
        if owner is None:
            owner = next((new_owners[i] for i in idents if i in new_owners), None)
        if owner is None and not create:
            chosen.append(None)
            continue
        if owner is None:
            sender = message.sender
            owner = {
                "display_name": sender.display_name,
                "email": sender.email,
                "phone": sender.phone,
            }
            new_rows.append(owner)
        for ident in idents:
            if ident in owners or ident in new_owners:
                continue
            identity_rows.append((owner, ident))
            if isinstance(owner, dict):
                new_owners[ident] = owner
            else:
                owners[ident] = owner
        chosen.append(owner)

    new_ids = await repo.allocate_ids(session, "contacts_id_seq", len(new_rows))
    for row, new_id in zip(new_rows, new_ids, strict=True):
        row["id"] = new_id
    await _link_companies(session, new_rows, domain_owners)
    await repo.insert_rows(session, repo.contacts, new_rows)
    await batch.insert_identity_rows(
        session,
        [
            {"contact_id": o["id"] if isinstance(o, dict) else o, "kind": kind, "value": value}
            for o, (kind, value) in identity_rows
        ],
    )
    existing = await _fill_gaps(session, messages, chosen, found.contacts)
    unknown_domains = {
        d
        for m, c in zip(messages, chosen, strict=True)
        if c is None and (d := email_domain(m.sender.email))
    }
    unknown = (
        await _domain_owners(session, unknown_domains, domain_owners) if unknown_domains else {}
    )
    return [
        (c["id"], c["company_id"])
        if isinstance(c, dict)
        else (c, existing[c]["company_id"] if c in existing else None)
        if c is not None
        else (None, unknown.get(email_domain(m.sender.email) or ""))
        for m, c in zip(messages, chosen, strict=True)
    ]


async def _fill_gaps(
    session: AsyncSession,
    messages: Sequence[InboundMessage],
    chosen: list[int | dict[str, Any] | None],
    existing: dict[int, dict[str, Any]],
) -> dict[int, dict[str, Any]]:
    """Complete empty fields of contacts that existed before the batch (``existing``, read
    with their identities); never overwrite. Returns those contacts."""
    updates: dict[int, dict[str, Any]] = {}
    for message, contact in zip(messages, chosen, strict=True):
        if isinstance(contact, int) and contact in existing:
            change = _gaps(existing[contact], message)
            if change is not None:
                updates[contact] = change
    await batch.update_contacts(session, list(updates.values()))
    return existing

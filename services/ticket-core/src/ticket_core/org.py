"""Organisation rules, pure: mail domains of companies, agent emails, the deactivation rule."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .threading import PUBLIC_MAIL_DOMAINS

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_DOMAINS = 50


class OrgError(ValueError):
    """Input the organisation rules refuse (the API answers 422)."""


class AgentBusy(Exception):
    """The agent still has tickets to finish (the API answers 409)."""


def normalise_domains(domains: Iterable[str]) -> list[str]:
    """Lower-case, deduplicated, valid host names; never a public mail provider (a shared
    gmail.com would put every gmail sender into one company)."""
    found: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().lstrip("@").rstrip(".")
        if not _DOMAIN.match(domain):
            raise OrgError(f"{raw!r} is not a mail domain")
        if domain in PUBLIC_MAIL_DOMAINS:
            raise OrgError(f"{domain} is a public mail provider, not a company domain")
        if domain not in found:
            found.append(domain)
    if len(found) > MAX_DOMAINS:
        raise OrgError(f"at most {MAX_DOMAINS} domains per company")
    return found


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise OrgError(f"{raw!r} is not an email address")
    return email


def deactivation_refusal(agent_id: int, open_count: int, numbers: list[int]) -> str | None:
    """Why the agent cannot be deactivated (None: it can)."""
    if open_count == 0:
        return None
    shown = ", ".join(f"#{n}" for n in numbers)
    more = f" and {open_count - len(numbers)} more" if open_count > len(numbers) else ""
    return (
        f"agent {agent_id} is responsible for {open_count} open or pending ticket(s) "
        f"({shown}{more}); reassign them before deactivating the agent"
    )

"""Prometheus counters of the IMAP pollers (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

MAILS = Counter(
    "email_ingest_mails_total",
    "Mails handled per mailbox, by outcome (published, skipped, failed).",
    ["mailbox", "outcome"],
)
SESSION_FAILURES = Counter(
    "email_ingest_session_failures_total",
    "IMAP sessions that failed (connect, auth, connection lost, publish errors).",
    ["mailbox"],
)

"""Web-form submissions become inbound messages (the desks we replace do the same).

Extra fields become "Field: value" lines of the description; a missing subject becomes
the first line of the text, or "Request via web form".
"""

from __future__ import annotations

from helpdesk_common.records import Channel, InboundMessage, RawWebhook, SenderIdentity, ThreadHints
from helpdesk_common.webform import WebformSubmission

DEFAULT_SUBJECT = "Request via web form"


def field_label(name: str) -> str:
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def description(submission: WebformSubmission) -> str:
    lines = [f"{field_label(k)}: {v}" for k, v in submission.extra.items()]
    return submission.text + ("\n\n" + "\n".join(lines) if lines else "")


def subject(submission: WebformSubmission) -> str:
    if submission.subject:
        return submission.subject
    first = next((line.strip() for line in submission.text.splitlines() if line.strip()), "")
    return first[:120] or DEFAULT_SUBJECT


def normalise(raw: RawWebhook) -> InboundMessage:
    submission = WebformSubmission.model_validate_json(raw.body)
    identity = submission.email or submission.phone
    assert identity is not None  # the submission model requires one of them
    return InboundMessage(
        idempotency_key=f"webform:{raw.channel_account}:{raw.raw_id}",
        correlation_id=raw.correlation_id,
        channel=Channel.WEBFORM,
        channel_account=raw.channel_account,
        sender=SenderIdentity(
            channel_user_id=identity,
            display_name=submission.name,
            email=submission.email,
            phone=submission.phone,
        ),
        thread=ThreadHints(conversation_id=identity),
        subject=subject(submission),
        text=description(submission),
        fields=submission.extra,
        received_at=raw.received_at,
    )

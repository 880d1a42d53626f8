"""The inbound filters, in the manner of Zammad's postmaster filters.

Each filter takes the mail in progress and returns it with what it derived; they run in
the order of ``FILTERS``: parse -> loop / bounce / auto-reply detection -> sender ->
thread hints -> body (text, sanitised HTML, files) -> quote cutting. Storing the blobs
and building the record are the async tail in ``pipeline``.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_common.records import SenderIdentity, ThreadHints

from . import detection, identity, quotes
from . import html as html_body
from .charsets import clean
from .mail import UNKNOWN_SENDER, InboundMail, Skip
from .mime import collect_body, header_text, parse_bytes, raw_headers

Filter = Callable[[InboundMail], InboundMail]


def parse(mail: InboundMail) -> InboundMail:
    mail.msg = parse_bytes(mail.raw)
    mail.headers = raw_headers(mail.msg)
    mail.subject = header_text(mail.msg, "subject")[:998] if "subject" in mail.headers else ""
    mail.from_address, mail.from_name = identity.sender_of(mail.msg, mail.headers)
    return mail


def detect_loop(mail: InboundMail) -> InboundMail:
    if detection.is_loop(mail.from_address, mail.ctx.own_addresses):
        raise Skip(f"loop: mail from our own address {mail.from_address}")
    return mail


def detect_bounce(mail: InboundMail) -> InboundMail:
    is_bounce, automatic, info = detection.bounce_info(mail.msg, mail.headers, mail.from_address)
    mail.is_bounce, mail.bounce = is_bounce, info
    if automatic:
        mail.auto_submitted = True
        mail.auto_reason = "bounce" if is_bounce else "report"
    return mail


def detect_auto_reply(mail: InboundMail) -> InboundMail:
    reason = detection.auto_reply_reason(mail.headers, mail.subject)
    if reason and not mail.auto_submitted:
        mail.auto_submitted, mail.auto_reason = True, reason
    return mail


def identify_sender(mail: InboundMail) -> InboundMail:
    address = mail.from_address or UNKNOWN_SENDER
    mail.sender = SenderIdentity(
        channel_user_id=address, email=address, display_name=mail.from_name[:512]
    )
    mail.recipients = identity.recipients_of(mail.msg, mail.from_address)
    return mail


def thread_hints(mail: InboundMail) -> InboundMail:
    headers = mail.headers
    assert mail.sender is not None
    mail.thread = ThreadHints(
        conversation_id=mail.sender.channel_user_id,
        message_id=identity.first_message_id(clean(headers.get("message-id", ""))),
        in_reply_to=identity.first_message_id(clean(headers.get("in-reply-to", ""))),
        references=tuple(identity.message_ids(clean(headers.get("references", "")))),
        ticket_number=identity.ticket_number(mail.subject, mail.ctx.ticket_token_pattern),
    )
    mail.sent_at = identity.sent_at(headers)
    mail.forwarded = identity.is_forward(mail.subject)
    return mail


def body(mail: InboundMail) -> InboundMail:
    found = collect_body(mail.msg)
    limit = mail.ctx.max_body_chars
    if found.html:
        safe = html_body.sanitize("\n".join(found.html))
        cut = limit
        while len(safe) > limit and cut > 0:  # cut, then sanitise again: no tag left open
            mail.truncated = True
            cut -= len(safe) - limit + 16
            safe = html_body.sanitize(safe[: max(cut, 0)])
        mail.html = safe.replace("\x00", "")
    if found.plain:
        text = "\n\n".join(t.strip("\n") for t in found.plain)
    elif found.html:
        text = html_body.to_text("\n".join(found.html)[: limit * 4])
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    mail.truncated |= len(text) > limit
    mail.text = text[:limit]
    mail.parts = found.parts
    return mail


def cut_quotes(mail: InboundMail) -> InboundMail:
    kept, cut = quotes.cut_quotes(mail.text, forwarded=mail.forwarded)
    if cut:
        mail.full_text, mail.text = mail.text, kept
    return mail


FILTERS: tuple[Filter, ...] = (
    parse,
    detect_loop,
    detect_bounce,
    detect_auto_reply,
    identify_sender,
    thread_hints,
    body,
    cut_quotes,
)


def run_filters(mail: InboundMail, filters: tuple[Filter, ...] = FILTERS) -> InboundMail:
    for step in filters:
        mail = step(mail)
    return mail

"""Ticket events become email and SMS notifications (consumer group
``notifier.notifications``), each sent once.

Per batch: the events that may notify anyone (``candidate_types``) are looked up in one
call to ticket-core (their tickets' notification contexts), planned
(``notification_plan.plan``) and sent in order. Each notice has a stable outbound id made
of (event id, type, channel, address); the send log records it as ``sending`` before the
provider call and ``sent``/``failed`` after, exactly like replies, so a redelivered event
sends nothing twice. ticket-core, SMTP or an SMS provider that cannot answer now raise
``TransientError``: the batch is rewound and retried later, nothing is lost. A refusal
(SMTP 5xx, an invalid number) is logged and recorded as ``failed``: the other
notifications go on.
"""

from __future__ import annotations

from typing import Any

from helpdesk_common import correlation
from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, OutboundMessage, TicketEvent, TicketEventKind

from .notification_email import compose_notification
from .notification_plan import Notice, candidate_types, mentioned_ids, plan
from .notification_source import NotificationSource
from .rate_limits import RateLimited
from .send_log import SendLog, SendState
from .settings import NotifierSettings
from .sms_sender import SmsChannel
from .smtp_sender import PermanentSendError, SmtpSender

log = get_logger(__name__)
DEFAULT_SMS_ACCOUNT = "default"


class NotificationsHandler:
    def __init__(
        self,
        settings: NotifierSettings,
        source: NotificationSource,
        send_log: SendLog,
        smtp: SmtpSender,
        sms: SmsChannel,
    ) -> None:
        self._settings = settings
        self._source = source
        self._log = send_log
        self._smtp = smtp
        self._sms = sms

    async def __call__(self, batch: list[Delivery[TicketEvent]]) -> None:
        events = [d.record for d in batch if candidate_types(d.record)]
        if not events:
            return
        config = await self._source.config()
        enabled = {t["key"] for t in config.get("types", []) if t.get("enabled")}
        events = [e for e in events if enabled & set(candidate_types(e))]
        if not events:
            return
        contexts = await self._source.contexts([_context_request(e) for e in events])
        sent = 0
        held: set[int] = set()  # tickets held by a rate limit: their later events wait too
        limited: RateLimited | None = None
        for event, context in zip(events, contexts, strict=True):
            if context is None:
                log.info("notification_ticket_gone", ticket_id=event.ticket_id)
                continue
            if event.ticket_id in held:
                continue
            with correlation.bound(event.correlation_id):
                try:
                    for notice in plan(event, context, config):
                        sent += await self._send(event, notice, config.get("settings", {}))
                except RateLimited as exc:
                    held.add(event.ticket_id)
                    limited = limited or exc
        log.info("notifications_handled", events=len(events), sent=sent)
        if limited is not None:
            raise limited  # the batch is retried; what was sent is skipped then

    async def _send(self, event: TicketEvent, notice: Notice, settings: dict[str, Any]) -> int:
        outbound_id = notice.outbound_id(event.event_id)
        state = await self._log.state(outbound_id)
        if state in (SendState.SENT, SendState.FAILED):
            return 0
        await self._log.record(outbound_id, SendState.SENDING)
        try:
            if notice.channel is Channel.EMAIL:
                s = self._settings
                message = compose_notification(
                    notice, settings, s.email_from, s.email_domain, s.email_reply_to
                )
                await self._smtp.send(message)
            else:
                await self._sms(
                    OutboundMessage(
                        outbound_id=outbound_id,
                        ticket_id=event.ticket_id,
                        channel=Channel.SMS,
                        channel_account=settings.get("sms_account") or DEFAULT_SMS_ACCOUNT,
                        recipient=notice.address,
                        text=notice.text,
                        automatic=True,
                        correlation_id=event.correlation_id,
                    )
                )
        except PermanentSendError as exc:
            await self._log.record(outbound_id, SendState.FAILED)
            log.warning(
                "notification_failed",
                type=notice.type_key,
                channel=notice.channel.value,
                reason=str(exc)[:300],
            )
            return 0
        await self._log.record(outbound_id, SendState.SENT)
        log.info(
            "notification_sent",
            type=notice.type_key,
            channel=notice.channel.value,
            role=notice.recipient.role,
            ticket_id=event.ticket_id,
        )
        return 1


def _context_request(event: TicketEvent) -> dict[str, Any]:
    agents = mentioned_ids(event)
    if event.actor_agent_id is not None:
        agents.append(event.actor_agent_id)
    return {
        "ticket_id": event.ticket_id,
        "message_id": event.message_id,
        "agent_ids": agents,
        "first_message": event.kind is TicketEventKind.TICKET_CREATED,
    }

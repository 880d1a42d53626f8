"""Pure: template checks and rendering, and who gets which notification on which channel."""

from __future__ import annotations

from typing import Any

import pytest
from helpdesk_common.notification_templates import (
    DEFAULT_LAYOUT,
    DEFAULT_TYPES,
    TYPES,
    TemplateProblem,
    check_layout,
    check_template,
    render_layout,
)
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind
from notifier.notification_plan import plan

K = TicketEventKind


def config(**overrides: Any) -> dict[str, Any]:
    types = []
    for t in DEFAULT_TYPES:
        item = {
            "key": t.key,
            "enabled": True,
            "email_on": t.email_on,
            "sms_on": t.sms_on,
            "subject": t.subject,
            "body": t.body,
            "sms": t.sms,
            "status_ids": [],
        }
        item.update(overrides.get(t.key, {}))
        types.append(item)
    settings = {
        "sender_name": "Acme",
        "layout": DEFAULT_LAYOUT,
        "fallback_to_company_email": True,
        "company_copy": "never",
        "copy_to_author": False,
        **overrides.get("settings", {}),
    }
    return {"types": types, "settings": settings}


def agent(agent_id: int, phone: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "id": agent_id,
        "name": f"Agent {agent_id}",
        "email": f"a{agent_id}@desk.test",
        "phone": phone,
        "active": True,
        "email_on": True,
        "sms_on": True,
        **kw,
    }


def context(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ticket": {
            "id": 7,
            "number": 1007,
            "subject": "Printer <jams>",
            "status": "open",
            "status_id": 1,
            "status_name": "Open",
            "priority": "Normal",
            "type": "",
            "internal": False,
            "channel": "email",
        },
        "contact": {"id": 3, "name": "Ann", "email": "ann@client.test", "phone": "+79001112233"},
        "company": {"id": 5, "name": "Client Ltd", "email": "office@client.test"},
        "responsible_agent_id": 1,
        "observer_agent_ids": [2],
        "group_agent_ids": [4, 1],
        "agents": {str(i): agent(i) for i in (1, 2, 4)},
        "message": None,
        "first_message_id": 100,
        "statuses": {"1": "Open", "9": "Done"},
        "rating_url": None,
    }
    base.update(kw)
    return base


def event(kind: TicketEventKind, **kw: Any) -> TicketEvent:
    return TicketEvent(kind=kind, ticket_id=7, ticket_number=1007, **kw)


def addresses(notices: list[Any], key: str, channel: Channel = Channel.EMAIL) -> list[str]:
    return [n.address for n in notices if n.type_key == key and n.channel is channel]


def test_every_default_template_is_valid_and_the_layout_keeps_its_slot() -> None:
    for t in DEFAULT_TYPES:
        for source in (t.subject, t.body, t.sms):
            check_template(source, t.variables(), t.key)
    check_layout(DEFAULT_LAYOUT)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ ticket.number ", "syntax error"),
        ("{% if ticket.number %}open", "syntax error"),
        ("{{ password }}", "unknown variable(s) password"),
        ("{{ rating_url }}", "unknown variable(s) rating_url"),  # not a variable of this type
    ],
)
def test_bad_templates_are_refused_with_the_reason(source: str, reason: str) -> None:
    with pytest.raises(TemplateProblem, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_template(source, TYPES["agent.ticket_created"].variables(), "body")


def test_a_layout_without_the_content_slot_is_refused() -> None:
    with pytest.raises(TemplateProblem, match="content"):
        check_layout("<html><body>{{ subject }}</body></html>")


def test_the_sandbox_refuses_python_internals() -> None:
    from helpdesk_common.notification_templates import render_text
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        render_text("{{ ticket.__class__.__mro__[1].__subclasses__() }}", {"ticket": object()})


def test_layout_escapes_the_body_and_keeps_line_breaks() -> None:
    html = render_layout(
        "<div>{{ content }}</div><i>{{ ticket.subject }}</i>",
        "Hello <b>\nline two",
        {"ticket": {"subject": "a<b"}},
    )
    assert "<div><p>Hello &lt;b&gt;<br>\nline two</p></div>" in html
    assert "<i>a&lt;b</i>" in html


def test_new_ticket_goes_to_responsible_observers_and_group_lists_once_each() -> None:
    notices = plan(event(K.TICKET_CREATED), context(), config())
    assert addresses(notices, "agent.ticket_created") == [
        "a1@desk.test",
        "a2@desk.test",
        "a4@desk.test",
    ]
    first = next(n for n in notices if n.address == "a1@desk.test")
    assert first.subject == "New ticket: Printer <jams> [#1007]"
    assert first.text.startswith("Hello Agent 1,")
    # contact notifications are enabled in this config: the contact hears of it
    assert addresses(notices, "contact.ticket_registered") == ["ann@client.test"]


def test_the_acting_agent_is_not_notified_of_their_own_change() -> None:
    notices = plan(event(K.RESPONSIBLE_CHANGED, actor_agent_id=2), context(), config())
    assert addresses(notices, "agent.responsible_changed") == ["a1@desk.test", "a4@desk.test"]
    assert "by Agent 2" in notices[0].text


def test_deactivated_agents_and_opted_out_channels_get_nothing() -> None:
    agents = {"1": agent(1, active=False), "2": agent(2, email_on=False), "4": agent(4)}
    notices = plan(event(K.TICKET_CREATED), context(agents=agents), config())
    assert addresses(notices, "agent.ticket_created") == ["a4@desk.test"]


def test_agent_sms_goes_to_the_mobile_when_the_type_allows_it() -> None:
    agents = {"1": agent(1, phone="+79990001122"), "2": agent(2), "4": agent(4)}
    notices = plan(event(K.TICKET_CREATED), context(agents=agents), config())
    sms = [n for n in notices if n.channel is Channel.SMS]
    assert [(n.type_key, n.address) for n in sms] == [("agent.ticket_created", "+79990001122")]
    assert sms[0].text == "New ticket #1007: Printer <jams>"
    off = config(**{"agent.ticket_created": {"sms_on": False}})
    assert not [
        n
        for n in plan(event(K.TICKET_CREATED), context(agents=agents), off)
        if n.channel is Channel.SMS
    ]


def test_contact_sms_only_when_switched_on() -> None:
    assert not addresses(
        plan(event(K.TICKET_CREATED), context(), config()), "contact.ticket_registered", Channel.SMS
    )
    on = config(**{"contact.ticket_registered": {"sms_on": True}})
    notices = plan(event(K.TICKET_CREATED), context(), on)
    assert addresses(notices, "contact.ticket_registered", Channel.SMS) == ["+79001112233"]


def test_internal_tickets_never_notify_contacts() -> None:
    notices = plan(event(K.TICKET_CREATED, internal=True), context(), config())
    assert addresses(notices, "agent.ticket_created")
    assert not [n for n in notices if n.type_key.startswith("contact.")]


def test_auto_replies_never_cause_contact_notifications() -> None:
    message = {"id": 100, "kind": "customer", "text": "Out of office", "automatic": True}
    notices = plan(event(K.TICKET_CREATED), context(message=message), config())
    assert not addresses(notices, "contact.ticket_registered")


def test_contact_without_email_falls_back_to_the_company_email() -> None:
    contact = {"id": 3, "name": "Ann", "email": None, "phone": None}
    notices = plan(event(K.TICKET_CREATED), context(contact=contact), config())
    assert addresses(notices, "contact.ticket_registered") == ["office@client.test"]
    no_fallback = config(settings={"fallback_to_company_email": False})
    assert not addresses(
        plan(event(K.TICKET_CREATED), context(contact=contact), no_fallback),
        "contact.ticket_registered",
    )


@pytest.mark.parametrize(
    ("copy", "contact", "expected"),
    [
        (
            "always",
            {"id": 3, "email": "ann@client.test"},
            ["ann@client.test", "office@client.test"],
        ),
        ("no_contact_email", {"id": 3, "email": "ann@client.test"}, ["ann@client.test"]),
        ("no_contact_email", {"id": 3, "email": None}, ["office@client.test"]),
        ("no_contact", {"id": 3, "email": "ann@client.test"}, ["ann@client.test"]),
        ("no_contact", None, ["office@client.test"]),
        ("never", None, []),
    ],
)
def test_company_copies(copy: str, contact: dict[str, Any] | None, expected: list[str]) -> None:
    settings = {"company_copy": copy, "fallback_to_company_email": False}
    notices = plan(event(K.TICKET_CREATED), context(contact=contact), config(settings=settings))
    assert addresses(notices, "contact.ticket_registered") == expected


def test_copy_to_the_author_of_the_event() -> None:
    message = {
        "id": 101,
        "kind": "public_reply",
        "text": "Fixed",
        "recipients": [],
        "author": None,
    }
    notices = plan(
        event(K.MESSAGE_ADDED, message_id=101, actor_agent_id=2),
        context(message=message),
        config(settings={"copy_to_author": True}),
    )
    assert addresses(notices, "contact.agent_comment") == ["ann@client.test", "a2@desk.test"]


def test_public_reply_does_not_notify_the_address_it_was_sent_to() -> None:
    message = {
        "id": 101,
        "kind": "public_reply",
        "text": "Fixed",
        "recipients": ["ann@client.test"],
    }
    notices = plan(event(K.MESSAGE_ADDED, message_id=101), context(message=message), config())
    assert not addresses(notices, "contact.agent_comment")
    assert addresses(notices, "agent.new_comment")  # colleagues hear of it


def test_first_customer_message_of_a_new_ticket_is_not_a_new_comment() -> None:
    first = {"id": 100, "kind": "customer", "text": "Hi"}
    later = {"id": 105, "kind": "customer", "text": "Any news?", "author": {"name": "Ann"}}
    assert not plan(event(K.MESSAGE_ADDED, message_id=100), context(message=first), config())
    notices = plan(event(K.MESSAGE_ADDED, message_id=105), context(message=later), config())
    assert addresses(notices, "agent.new_comment") == [
        "a1@desk.test",
        "a2@desk.test",
        "a4@desk.test",
    ]
    assert "Ann wrote on ticket #1007" in notices[0].text


def test_mentions_go_to_the_mentioned_agents_only() -> None:
    agents = {str(i): agent(i) for i in (1, 2, 4, 9)}
    notices = plan(
        event(K.AGENT_MENTIONED, actor_agent_id=1, details={"agent_ids": "9,1"}),
        context(agents=agents),
        config(),
    )
    assert [n.address for n in notices] == ["a9@desk.test"]
    assert "Agent 1 mentioned you" in notices[0].text


def test_contact_status_change_only_to_selected_statuses_and_resolution_with_rating() -> None:
    ctx = context(rating_url="https://help.example.com/rate/abc")
    ctx["ticket"].update(status="resolved", status_id=9, status_name="Done")
    changed = event(K.STATUS_CHANGED, status="resolved", previous_status="open")
    unselected = plan(changed, ctx, config())
    assert not addresses(unselected, "contact.status_changed")
    resolved = next(n for n in unselected if n.type_key == "contact.ticket_resolved")
    assert "https://help.example.com/rate/abc" in resolved.text
    selected = plan(changed, ctx, config(**{"contact.status_changed": {"status_ids": [9]}}))
    assert addresses(selected, "contact.status_changed") == ["ann@client.test"]


def test_sla_and_trigger_events() -> None:
    breach = event(K.SLA_BREACHED, details={"target": "reaction", "due_at": "12:00"})
    notices = plan(breach, context(), config())
    assert notices[0].subject == "SLA reaction breached: Printer <jams> [#1007]"
    trigger = event(K.NOTIFY_REQUESTED, details={"template": "contact.ticket_registered"})
    assert [n.type_key for n in plan(trigger, context(), config())] == ["contact.ticket_registered"]
    plain = event(K.NOTIFY_REQUESTED, details={"text": "Call the client back"})
    notices = plan(plain, context(), config())
    assert {n.type_key for n in notices} == {"agent.trigger_requested"}
    assert "Call the client back" in notices[0].text


def test_disabled_types_send_nothing_and_ids_are_stable() -> None:
    off = config(
        **{
            "agent.ticket_created": {"enabled": False},
            "contact.ticket_registered": {"enabled": False},
        }
    )
    assert plan(event(K.TICKET_CREATED), context(), off) == []
    e = event(K.TICKET_CREATED)
    first, again = plan(e, context(), config()), plan(e, context(), config())
    assert [n.outbound_id(e.event_id) for n in first] == [n.outbound_id(e.event_id) for n in again]
    assert len({n.outbound_id(e.event_id) for n in first}) == len(first)


def test_a_template_failing_on_the_data_skips_its_notice_only() -> None:
    broken = config(**{"agent.ticket_created": {"subject": "{{ ticket.number / 0 }}"}})
    notices = plan(event(K.TICKET_CREATED), context(), broken)
    assert not addresses(notices, "agent.ticket_created")
    assert addresses(notices, "contact.ticket_registered") == ["ann@client.test"]


@pytest.mark.parametrize(
    ("line", "subject", "phrase"),
    [
        ("2", "Escalated to the second line: Printer <jams> [#1007]", "to the second line"),
        ("1", "Returned to the first line: Printer <jams> [#1007]", "to the first line"),
    ],
)
def test_a_second_line_decision_reaches_the_agents_with_its_note(
    line: str, subject: str, phrase: str
) -> None:
    note = {"id": 101, "kind": "internal_note", "text": "Needs a firmware fix", "author": None}
    decided = event(K.ESCALATED, actor_agent_id=2, details={"line": line, "group_id": "8"})
    notices = plan(decided, context(message=note), config())
    assert addresses(notices, "agent.escalated") == ["a1@desk.test", "a4@desk.test"]
    mail = next(n for n in notices if n.channel is Channel.EMAIL)
    assert mail.subject == subject
    assert "Agent 2" in mail.text and phrase in mail.text and "Needs a firmware fix" in mail.text
    assert {n.type_key for n in notices} == {"agent.escalated"}  # never the contact


@pytest.mark.parametrize("kind", ["public_reply", "internal_note"])
def test_the_agent_who_wrote_a_reply_or_note_is_not_told_of_it(kind: str) -> None:
    written = {"id": 101, "kind": kind, "text": "Done", "author": None, "recipients": []}
    reply = event(K.MESSAGE_ADDED, message_id=101, actor_agent_id=1)
    notices = plan(reply, context(message=written), config())
    assert addresses(notices, "agent.new_comment") == ["a2@desk.test", "a4@desk.test"]
    assert all(
        n.text.split("\n\n")[1].startswith("Agent 1 wrote")
        for n in notices
        if n.type_key == "agent.new_comment"
    )


def test_a_status_change_renders_the_status_it_moved_to_not_the_current_one() -> None:
    """Handled late: the ticket went on to Done (9) after moving from Done to Open (1)."""
    ctx = context(statuses={"1": "Open", "9": "Done"})
    ctx["ticket"].update(status="resolved", status_id=9, status_name="Done")
    moved = event(
        K.STATUS_CHANGED,
        status="open",
        previous_status="resolved",
        details={"status_id": "1", "previous_status_id": "9"},
    )
    notices = plan(moved, ctx, config(**{"contact.status_changed": {"status_ids": [1]}}))
    agent_notice = next(n for n in notices if n.type_key == "agent.status_changed")
    assert agent_notice.subject == "Status Open: Printer <jams> [#1007]"
    assert "moved from Done to Open" in agent_notice.text
    assert addresses(notices, "contact.status_changed") == ["ann@client.test"]
    assert not addresses(notices, "contact.ticket_resolved")
    not_selected = plan(moved, ctx, config(**{"contact.status_changed": {"status_ids": [9]}}))
    assert not addresses(not_selected, "contact.status_changed")

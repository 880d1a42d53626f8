"""Settings part B, pure parts: the ordered table's moves and order parsing, the forms
read into the REST API's models (refusals name the field), the notification preview's
refusals (renderer's message, layout slot) and the summaries of rules."""

from __future__ import annotations

import pytest
from helpdesk_common.notification_templates import (
    DEFAULT_LAYOUT,
    TYPES,
    TemplateProblem,
    check_template,
)
from starlette.datastructures import FormData
from ticket_core.console import settings_rules_forms as forms
from ticket_core.console.forms import ConsoleError
from ticket_core.console.notification_preview import preview
from ticket_core.console.ordered_table import moved, parse_order, wants_enabled


def test_moves_and_order_parsing() -> None:
    assert moved([1, 2, 3], 3, "up") == [1, 3, 2]
    assert moved([1, 2, 3], 1, "down") == [2, 1, 3]
    assert moved([1, 2, 3], 1, "up") == [1, 2, 3]  # already first
    assert moved([1, 2, 3], 3, "down") == [1, 2, 3]
    with pytest.raises(ConsoleError) as missing:
        moved([1, 2], 9, "up")
    assert missing.value.status_code == 404
    with pytest.raises(ConsoleError):
        moved([1, 2], 1, "sideways")
    assert parse_order("3, 1,2") == [3, 1, 2]
    for bad in ("", "1,x", "0", "-4"):
        with pytest.raises(ConsoleError) as refused:
            parse_order(bad)
        assert refused.value.status_code == 422
    assert wants_enabled({"enabled": "1"}) is True
    with pytest.raises(ConsoleError):
        wants_enabled({"enabled": "yes"})


def _form(*pairs: tuple[str, str]) -> FormData:
    return FormData(list(pairs))


def test_routing_form_becomes_the_api_model() -> None:
    rule = forms.routing_rule(
        _form(
            ("name", "VIP"),
            ("enabled", "1"),
            ("type_ids", "2"),
            ("channels", "email"),
            ("channels", "telegram"),
            ("channel_accounts", "support, sales"),
            ("attributes", "tier: gold, silver"),
            ("window_on", "1"),
            ("window_weekdays", "1"),
            ("window_weekdays", "5"),
            ("window_start", "09:00"),
            ("window_end", "18:00"),
            ("window_timezone", "Europe/Berlin"),
            ("group_id", "4"),
            ("distribution", "least_loaded"),
            ("observer_agent_ids", "7"),
        )
    )
    assert rule.conditions.channel_accounts == ["support", "sales"]
    assert rule.conditions.attributes == {"tier": ["gold", "silver"]}
    assert rule.conditions.time_window is not None and rule.conditions.time_window.weekdays == [
        1,
        5,
    ]
    assert rule.group_id == 4 and rule.distribution.value == "least_loaded"
    back = forms.routing_values(
        {**rule.model_dump(mode="json"), "conditions": rule.conditions.model_dump(mode="json")}
    )
    assert back.has("channels", "telegram") and back.get("window_start") == "09:00"
    patch = forms.routing_patch(rule)
    assert "position" not in patch.model_fields_set and patch.agent_id is None
    with pytest.raises(ConsoleError) as refused:
        forms.routing_rule(_form(("name", "x"), ("channels", "pigeon")))
    assert "channels" in refused.value.detail
    with pytest.raises(ConsoleError) as bad_attr:
        forms.routing_rule(_form(("name", "x"), ("attributes", "no colon here")))
    assert "key: option" in bad_attr.value.detail


def test_sla_and_calendar_forms() -> None:
    rule = forms.sla_rule(
        _form(
            ("name", "Gold"),
            ("calendar_id", "3"),
            ("company_ids", "9"),
            ("reaction_minutes", "60"),
            ("resolution_minutes", "480"),
        )
    )
    assert rule.company_ids == [9] and rule.registered_within == [] and rule.enabled is False
    with pytest.raises(ConsoleError) as refused:
        forms.sla_rule(_form(("name", "Gold"), ("calendar_id", "3"), ("reaction_minutes", "0")))
    assert "reaction_minutes" in refused.value.detail
    calendar = forms.calendar(
        _form(
            ("name", "Office"),
            ("timezone", "Europe/Berlin"),
            ("hours_monday", "09:00-18:00"),
            ("exception_days", "2026-12-31 shortened 09:00-14:00\n\n2027-01-01 holiday"),
        )
    )
    assert [d.kind for d in calendar.exception_days] == ["shortened", "holiday"]
    assert calendar.exception_days[0].hours == "09:00-14:00"
    assert forms.exception_text(
        calendar.model_dump(mode="json")["exception_days"]
    ).splitlines() == [
        "2026-12-31 shortened 09:00-14:00",
        "2027-01-01 holiday",
    ]
    with pytest.raises(ConsoleError):
        forms.calendar(
            _form(("name", "x"), ("timezone", "UTC"), ("exception_days", "2027-01-01 party"))
        )


def test_trigger_form_json_and_common_actions() -> None:
    trigger = forms.trigger(
        _form(
            ("name", "Tag VIP"),
            ("event", "ticket.created"),
            ("conditions", '{"all": []}'),
            ("actions", '[{"type": "add_note", "text": "hi"}]'),
            ("quick_tag", "vip"),
            ("quick_group_id", "2"),
        )
    )
    assert [a.type for a in trigger.actions] == ["add_note", "add_tag", "assign"]
    with pytest.raises(ConsoleError) as not_json:
        forms.trigger(_form(("name", "x"), ("event", "ticket.created"), ("actions", "[{")))
    assert "not valid JSON" in not_json.value.detail
    with pytest.raises(ConsoleError) as no_actions:
        forms.trigger(_form(("name", "x"), ("event", "ticket.created")))
    assert "actions" in no_actions.value.detail
    with pytest.raises(ConsoleError) as bad_event:
        forms.trigger(_form(("name", "x"), ("event", "lunch"), ("quick_tag", "t")))
    assert "event" in bad_event.value.detail


def test_notification_preview_and_refusals() -> None:
    kind = TYPES["contact.ticket_resolved"]
    shown = preview(
        kind.key, "Done #{{ ticket.number }}", "Hi {{ recipient.name }}", "ok", DEFAULT_LAYOUT
    )
    assert shown.subject == "Done #1042"
    assert "<p>Hi Carla Customer</p>" in shown.html
    with pytest.raises(TemplateProblem, match="nosuchfilter"):
        preview(
            kind.key, kind.subject, "{{ ticket.number | nosuchfilter }}", kind.sms, DEFAULT_LAYOUT
        )
    with pytest.raises(TemplateProblem, match="content"):
        preview(kind.key, kind.subject, kind.body, kind.sms, "<p>{{ subject }}</p>")
    with pytest.raises(TemplateProblem, match="unknown variable"):
        preview(kind.key, "{{ secret }}", kind.body, kind.sms, DEFAULT_LAYOUT)
    with pytest.raises(TemplateProblem, match="body"):  # fails only when rendered
        preview(kind.key, kind.subject, "{{ ticket.number / 0 }}", kind.sms, DEFAULT_LAYOUT)


def test_check_template_refuses_an_unknown_filter_as_a_problem() -> None:
    """It used to escape as a TemplateAssertionError (a 500 in the REST API)."""
    with pytest.raises(TemplateProblem, match="No filter named 'nosuchfilter'"):
        check_template("{{ ticket.number | nosuchfilter }}", {"ticket": ""}, "body")

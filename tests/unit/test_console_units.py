"""The console's pure parts: SLA countdowns, bold rows, the display-time HTML sanitiser,
CSRF tokens and headers, redirect targets, inbox query parsing, call-ticket input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ticket_core.console import phone_tickets, security, views
from ticket_core.console.forms import PREFIX, ConsoleError, inbox_query
from ticket_core.form_fields import safe_next

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_countdown_follows_reaction_then_resolution_and_pauses_while_pending() -> None:
    row = {
        "status": "open",
        "first_response_at": None,
        "reaction_due_at": NOW + timedelta(minutes=90),
        "resolution_due_at": NOW + timedelta(days=2, hours=3),
    }
    assert views.sla_countdown(row, NOW).text == "reaction in 1h 30m"
    answered = {**row, "first_response_at": NOW}
    assert views.sla_countdown(answered, NOW).text == "resolution in 2d 3h"
    late = {**answered, "resolution_due_at": NOW - timedelta(minutes=5)}
    assert (views.sla_countdown(late, NOW).state, views.sla_countdown(late, NOW).text) == (
        "late",
        "resolution overdue 5m",
    )
    paused = {**answered, "status": "pending", "sla_paused_at": NOW - timedelta(hours=1)}
    countdown = views.sla_countdown(paused, NOW)
    assert countdown.state == "paused" and countdown.due is None
    assert countdown.text == "paused, 2d 4h left"
    assert views.sla_countdown({**row, "status": "resolved"}, NOW).text == ""
    assert views.sla_countdown({"status": "open"}, NOW).state == "none"


def test_bold_when_new_or_waiting_on_us() -> None:
    assert views.is_bold({"status": "open", "first_response_at": None, "last_kind": "customer"})
    answered = {"status": "open", "first_response_at": NOW}
    assert not views.is_bold({**answered, "last_kind": "public_reply"})
    assert views.is_bold({**answered, "last_kind": "customer"})
    assert not views.is_bold({**answered, "status": "closed", "last_kind": "customer"})


def test_customer_html_is_sanitised_at_display() -> None:
    dirty = (
        '<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif" onerror="alert(2)">'
        '<a href="javascript:alert(3)">a</a><a href="https://ok.example">b</a>'
        '<iframe src="https://evil.example"></iframe><style>body{}</style>'
        '<form action="https://evil.example"><input name="pw"></form>'
        '<div style="position:fixed">s</div>'
    )
    clean = views.safe_html(dirty)
    for banned in (
        "script",
        "onclick",
        "onerror",
        "<img",
        "javascript:",
        "iframe",
        "<style",
        "<form",
        "<input",
        "style=",
    ):
        assert banned not in clean, banned
    assert "<b>there</b>" in clean
    assert 'href="https://ok.example"' in clean and "noopener" in clean


def test_csrf_token_is_per_session_and_headers_forbid_inline_script() -> None:
    one, two = security.csrf_token("session-a"), security.csrf_token("session-b")
    assert one != two and one == security.csrf_token("session-a")
    assert security.same_token(one, one) and not security.same_token(one, two)
    assert not security.same_token(one, None) and not security.same_token(one, "")
    headers = security.security_headers("wss://push.example:8443/ws/agents")
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe" not in csp
    assert "connect-src 'self' wss://push.example:8443" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    with pytest.raises(ValueError):
        security.push_origin("javascript:alert(1)")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/console/tickets/5", "/console/tickets/5"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/api/v1/tickets", "/console/"),
        (None, "/console/"),
    ],
)
def test_login_only_redirects_inside_the_console(given: str | None, expected: str) -> None:
    assert safe_next(given, PREFIX) == expected


def test_inbox_query_parses_filters_and_refuses_garbage() -> None:
    query = inbox_query(
        {"mine": "1", "status": "pending", "priority_id": "3", "q": " #1042 ", "sort": "due"}
    )
    assert query.mine and query.status == "pending" and query.priority_id == 3
    assert query.q == "#1042" and query.sort == "due" and query.offset == 0
    for bad in (
        {"status": "deleted"},
        {"sort": "random()"},
        {"priority_id": "1; drop"},
        {"channel": "pigeon"},
        {"offset": "-1"},
        {"q": "x" * 201},
    ):
        with pytest.raises(ConsoleError) as refused:
            inbox_query(bad)
        assert refused.value.status_code == 422


def test_call_ticket_input_is_checked() -> None:
    wanted = phone_tickets.checked("+1 (555) 0100", "", "", "", 7)
    assert (wanted.phone, wanted.account, wanted.subject) == (
        "+15550100",
        "phone",
        "Call from +15550100",
    )
    for phone, account in (("<script>", "pbx"), ("+15550100", "../etc"), ("", "pbx")):
        with pytest.raises(phone_tickets.PhoneTicketRefused):
            phone_tickets.checked(phone, account, "", "", 7)

"""Customer satisfaction: signed one-click links (bound to the ticket, forgeries refused),
ratings and comments on Resolved/Closed tickets, reopening a Resolved ticket."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from devstack.stack import Stack
from ticket_core.ratings import (
    RatingSettings,
    TokenExpired,
    TokenRefused,
    make_token,
    page_url,
    rating_url,
    verify_token,
)

from .collab_helpers import Api, as_agent, new_agent, ticket_events
from .conftest import Desk

SECRET = "test-rating-secret"


def test_tokens_are_bound_to_their_ticket_and_expire() -> None:
    token = make_token(SECRET, 42, ttl_seconds=60, now=1_000_000)
    assert verify_token(SECRET, token, now=1_000_030) == 42
    ticket, expires, signature = token.split(".")
    forged = [
        f"43.{expires}.{signature}",  # another ticket
        f"{ticket}.{int(expires) + 3600}.{signature}",  # a longer life
        f"{ticket}.{expires}.{signature[:-2]}AA",
        f"{ticket}.{expires}",
        "not-a-token",
        f"-1.{expires}.{signature}",
    ]
    for bad in forged:
        with pytest.raises(TokenRefused):
            verify_token(SECRET, bad, now=1_000_030)
    with pytest.raises(TokenRefused):
        verify_token("another secret", token, now=1_000_030)
    with pytest.raises(TokenExpired):
        verify_token(SECRET, token, now=1_000_061)
    forever = make_token(SECRET, 42, ttl_seconds=0)
    assert forever.split(".")[1] == "0" and verify_token(SECRET, forever, now=10**12) == 42


def test_rating_urls_and_the_secret_setting() -> None:
    url = rating_url("https://desk.example/", 7, "good", secret=SECRET, ttl_seconds=0)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.query) == ("https", "desk.example", "rating=good")
    assert verify_token(SECRET, parts.path.removeprefix("/rate/")) == 7
    with pytest.raises(ValueError):
        rating_url("https://desk.example", 7, "excellent", secret=SECRET)
    derived = RatingSettings(rating_secret=None, secrets_key="fernet-key").secret()
    assert derived and derived != "fernet-key"
    assert RatingSettings(rating_secret=None, secrets_key="fernet-key").secret() == derived
    assert RatingSettings(rating_secret="own", secrets_key="fernet-key").secret() == "own"
    assert RatingSettings(rating_secret=None, secrets_key=None).secret() is None


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def _links(api: Api, ticket_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/v1/tickets/{ticket_id}/rating")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _status(api: Api, ticket_id: int, agent: int, status: str) -> None:
    response = await api.patch(
        f"/api/v1/tickets/{ticket_id}", json={"status": status}, headers=as_agent(agent)
    )
    assert response.status_code == 200, response.text


async def test_a_resolved_ticket_is_rated_commented_and_rated_again(
    desk: Desk, tickets_api: Api, running: Stack
) -> None:
    agent = (await new_agent(tickets_api))["id"]
    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    info = await _links(tickets_api, tid)
    assert info["rating"] is None and info["rated_at"] is None
    good, bad = _path(info["links"]["good"]), _path(info["links"]["bad"])

    early = await tickets_api.get(good)
    assert early.status_code == 409 and "only resolved tickets are rated" in early.text
    await _status(tickets_api, tid, agent, "resolved")

    async with ticket_events(running) as events:
        page = await tickets_api.get(good)  # no agent credentials: the token is enough
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "Thank you" in page.text and "<textarea" in page.text and "/reopen" in page.text
        (rated,) = await events.wait_for(tid, "ticket.rated")
        assert rated.details == {"rating": "good"} and rated.actor_agent_id is None

        comment = "Quick & <b>friendly</b>"
        saved = await tickets_api.post(good.split("?")[0], data={"comment": comment})
        assert saved.status_code == 200, saved.text
        info = await _links(tickets_api, tid)
        assert (info["rating"], info["comment"]) == ("good", comment) and info["rated_at"]
        again = await tickets_api.get(good)
        assert "Quick &amp; &lt;b&gt;friendly&lt;/b&gt;" in again.text  # escaped, kept

        changed = await tickets_api.get(bad)
        assert changed.status_code == 200
        second = (await events.wait_for(tid, "ticket.rated", count=2))[1]
        assert second.details == {"rating": "bad"}
    info = await _links(tickets_api, tid)
    assert (info["rating"], info["comment"]) == ("bad", comment)
    audit = (await tickets_api.get(f"/api/v1/tickets/{tid}/audit", params={"limit": 200})).json()
    rows = [
        (r["actor"], r["field"], r["old_value"], r["new_value"])
        for r in audit["items"]
        if r["field"].startswith("rating")
    ]
    assert rows == [
        ("customer", "rating", None, "good"),
        ("customer", "rating_comment", None, comment),
        ("customer", "rating", "good", "bad"),
    ]

    # Closed tickets can still be rated; a rating link never reopens them.
    await _status(tickets_api, tid, agent, "closed")
    assert (await tickets_api.get(_path(info["links"]["neutral"]))).status_code == 200
    assert (await _links(tickets_api, tid))["rating"] == "neutral"
    closed = await tickets_api.post(_path(info["links"]["reopen"]))
    assert closed.status_code == 409 and "closed" in closed.text
    assert (await desk.ticket(tid))["status"] == "closed"


async def test_the_customer_reopens_a_resolved_ticket(desk: Desk, tickets_api: Api) -> None:
    agent = (await new_agent(tickets_api))["id"]
    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    reopen = _path((await _links(tickets_api, tid))["links"]["reopen"])
    assert (await tickets_api.post(reopen)).status_code == 409  # still open
    await _status(tickets_api, tid, agent, "resolved")
    response = await tickets_api.post(reopen)
    assert response.status_code == 200 and "open again" in response.text
    after = await desk.ticket(tid)
    assert (after["status"], after["reopen_count"], after["auto_close_at"]) == ("open", 1, None)
    moves = [
        (r["actor"], r["old_value"], r["new_value"])
        for r in await desk.audit(tid)
        if r["field"] == "status"
    ]
    assert moves[-1] == ("customer", "resolved", "open")
    assert (await tickets_api.post(reopen)).status_code == 409


async def test_forged_links_and_bad_input_are_refused(desk: Desk, tickets_api: Api) -> None:
    agent = (await new_agent(tickets_api))["id"]
    mine, other = await desk.tickets(2)
    for ticket in (mine, other):
        await _status(tickets_api, ticket["id"], agent, "resolved")
    link = urlsplit((await _links(tickets_api, mine["id"]))["links"]["good"])
    token = link.path.removeprefix("/rate/")
    _, expires, signature = token.split(".")
    for forged in (
        f"{other['id']}.{expires}.{signature}",
        f"{mine['id']}.{int(expires) + 1}.{signature}",
        f"{mine['id']}.{expires}.{signature[:-3]}abc",
        "garbage",
    ):
        for method, path in (
            ("GET", f"/rate/{forged}?rating=good"),
            ("POST", f"/rate/{forged}"),
            ("POST", f"/rate/{forged}/reopen"),
        ):
            response = await tickets_api.request(method, path, data={"comment": "x"})
            assert response.status_code == 403, (forged, method, path, response.text)
    assert (await desk.ticket(other["id"]))["rating"] is None
    assert (await desk.ticket(other["id"]))["status"] == "resolved"

    base = f"/rate/{token}"
    assert (await tickets_api.get(base, params={"rating": "excellent"})).status_code == 422
    assert (await tickets_api.get(base)).status_code == 200  # the page offering the three
    unrated = await tickets_api.post(base, data={"comment": "no rating yet"})
    assert unrated.status_code == 422 and "choose a rating" in unrated.text
    too_long = await tickets_api.post(base, data={"comment": "x" * 5001, "rating": "good"})
    assert too_long.status_code == 422
    assert (await desk.ticket(mine["id"]))["rating"] is None
    types = (await tickets_api.get("/api/v1/ticket-types", params={"limit": 200})).json()
    internal = next(t["id"] for t in types["items"] if t["name"] == "internal")
    retyped = await tickets_api.patch(
        f"/api/v1/tickets/{other['id']}", json={"type_id": internal}, headers=as_agent(agent)
    )
    assert retyped.status_code == 200, retyped.text
    other_link = _path((await _links(tickets_api, other["id"]))["links"]["good"])
    refused = await tickets_api.get(other_link)
    assert refused.status_code == 409 and "internal tickets are not rated" in refused.text
    missing = await tickets_api.get("/api/v1/tickets/999999999/rating")
    assert missing.status_code == 404


async def test_the_notification_link_offers_the_ratings_and_records_nothing(
    desk: Desk, tickets_api: Api
) -> None:
    agent = (await new_agent(tickets_api))["id"]
    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    await _status(tickets_api, tid, agent, "resolved")
    page_path = urlsplit((await _links(tickets_api, tid))["links"]["good"]).path
    page = await tickets_api.get(page_path)  # what a mail scanner or the customer opens
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    token = page_path.rsplit("/", 1)[1]
    for rating in ("good", "neutral", "bad"):
        assert f"href='{token}?rating={rating}'" in page.text
    assert f"#{ticket['number']}" in page.text
    assert (await _links(tickets_api, tid))["rating"] is None
    forged = await tickets_api.get(page_path[:-3] + "AAA")
    assert forged.status_code == 403


def test_the_notification_link_is_a_signed_page_of_the_ticket() -> None:
    settings = RatingSettings(rating_secret=SECRET, public_base_url="https://desk.example/")
    url = page_url(7, settings)
    assert url is not None and url.startswith("https://desk.example/rate/")
    assert verify_token(SECRET, url.rsplit("/", 1)[1]) == 7
    assert page_url(7, RatingSettings(rating_secret=None, secrets_key=None)) is None

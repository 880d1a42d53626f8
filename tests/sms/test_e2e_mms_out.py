"""An agent's reply with a file on an SMS ticket goes out as an MMS: the file is uploaded
to ticket-core, Twilio gets a signed gateway link as MediaUrl, and that link serves the
very bytes. Without MMS a provider gets the links as lines of the text."""

from __future__ import annotations

import uuid

import httpx
import pytest
from devstack.probes import eventually
from devstack.test_system import Fakes
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.records import AttachmentRef, BlobRef, Channel, OutboundMessage
from notifier.sms_sender import with_media
from notifier.smtp_sender import PermanentSendError
from sms_helpers import TIMEOUT, message_state, new_number, post_signed, ticket_by_subject
from sms_helpers import twilio_form as form_of

pytestmark = pytest.mark.e2e
INBOUND = "/webhooks/sms/sms_twilio"


async def _calls(fakes: Fakes, to: str) -> list[object]:
    return list(fakes.twilio.calls_of("messages.create", To=to))


async def test_reply_with_an_attachment_goes_out_as_mms_with_a_working_link(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, fakes: Fakes
) -> None:
    national, e164 = new_number()
    subject = f"Broken tap {uuid.uuid4().hex[:8]}"
    assert (await post_signed(gateway, INBOUND, form_of(national, subject))).status_code == 200
    found = await ticket_by_subject(core, subject)

    photo = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 50
    uploaded = await core.post(
        "/api/v1/attachments", files={"file": ("scheme.png", photo, "image/png")}
    )
    assert uploaded.status_code == 201, uploaded.text
    file = uploaded.json()
    assert file["size"] == len(photo) and file["filename"] == "scheme.png"

    sent = await core.post(
        f"/api/v1/tickets/{found['id']}/replies",
        json={"text": "Here is the scheme", "attachments": [file]},
    )
    assert sent.status_code == 201, sent.text
    assert [a["blob"]["sha256"] for a in sent.json()["attachments"]] == [file["sha256"]]
    calls = await eventually(
        lambda: _calls(fakes, e164), lambda c: len(c) == 1, TIMEOUT, "twilio MMS"
    )
    params = calls[0].params  # type: ignore[attr-defined]
    assert params["Body"] == "Here is the scheme"
    link = params["MediaUrl"]
    assert isinstance(link, str) and f"/media/{file['sha256']}/scheme.png?" in link
    async with httpx.AsyncClient(timeout=10) as client:
        served = await client.get(link)
    assert served.status_code == 200 and served.content == photo
    await message_state(core, found["id"], sent.json()["id"], "sent")

    # The console downloads it from the ticket, always as a download.
    download = await core.get(f"/api/v1/tickets/{found['id']}/attachments/{file['sha256']}")
    assert download.status_code == 200 and download.content == photo
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    # ... and only from a ticket that carries it.
    other = await core.get(f"/api/v1/tickets/{found['id'] + 1}/attachments/{file['sha256']}")
    assert other.status_code == 404


async def test_uploads_and_reply_attachments_are_checked(core: httpx.AsyncClient) -> None:
    too_big = await core.post(
        "/api/v1/attachments", files={"file": ("big.bin", b"x" * (1024 * 1024 + 1))}
    )
    assert too_big.status_code == 413
    empty = await core.post("/api/v1/attachments", files={"file": ("e.txt", b"")})
    assert empty.status_code == 422
    national, _ = new_number()
    tickets = (await core.get("/api/v1/tickets", params={"limit": 1})).json()["items"]
    assert tickets, national
    never = {"sha256": "0" * 64, "filename": "ghost.pdf", "content_type": "application/pdf"}
    refused = await core.post(
        f"/api/v1/tickets/{tickets[0]['id']}/replies",
        json={"text": "see file", "attachments": [never]},
    )
    assert refused.status_code == 422 and "ghost.pdf" in refused.text


def _outbound(*names: str) -> OutboundMessage:
    files = tuple(
        AttachmentRef(filename=name, size=3, blob=BlobRef(sha256=f"{i:064x}", size=3))
        for i, name in enumerate(names, start=1)
    )
    return OutboundMessage(
        channel=Channel.SMS,
        channel_account="sms",
        recipient="+79990000000",
        text="Hi",
        attachments=files,
    )


def test_without_mms_the_links_follow_the_text_and_without_links_nothing_is_sent() -> None:
    links = MediaLinks("k", "https://desk.example", clock=lambda: 1000.0)
    text, media = with_media(_outbound("a.pdf", "b.jpg"), "Hi", False, links)
    lines = text.split("\n")
    assert media == [] and lines[0] == "Hi" and len(lines) == 3
    assert lines[1].startswith("a.pdf: https://desk.example/media/" + f"{1:064x}/a.pdf?exp=")
    assert lines[2].startswith("b.jpg: https://desk.example/media/" + f"{2:064x}/b.jpg?exp=")
    assert with_media(_outbound(), "Hi", False, None) == ("Hi", [])
    with pytest.raises(PermanentSendError, match="public media links"):
        with_media(_outbound("a.pdf"), "Hi", True, None)

# ruff: noqa: RUF001  (Cyrillic quote headers are the test data)
"""Quoted history and our reply separator are cut from the text; the full text is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from email_ingest.context import MailboxContext
from email_ingest.html import sanitize, to_text
from email_ingest.pipeline import build_inbound
from email_ingest.quotes import REPLY_SEPARATOR, cut_quotes
from helpdesk_common import email_markers
from helpdesk_common.blobstore import digest
from helpdesk_common.records import BlobRef, InboundMessage

CORPUS = Path(__file__).parent / "corpus"
CTX = MailboxContext(channel_account="support", own_addresses=frozenset({"support@example.com"}))


class DigestBlobs:
    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef:
        return BlobRef(sha256=digest(data), size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        raise KeyError(sha256)

    async def exists(self, sha256: str) -> bool:
        return False


async def parse_file(name: str) -> InboundMessage:
    return await build_inbound((CORPUS / name).read_bytes(), CTX, DigestBlobs())


def test_separator_is_the_one_the_notifier_sends() -> None:
    assert REPLY_SEPARATOR == email_markers.REPLY_SEPARATOR
    assert REPLY_SEPARATOR == "##- Please type your reply above this line -##"


@pytest.mark.parametrize(
    ("name", "text", "ticket", "in_reply_to"),
    [
        (
            "reply-outlook.eml",
            "Thanks, the printer works again.\n\nLisa",
            10023,
            "<a1b2.t10023@helpdesk.example.com>",
        ),
        (
            "reply-outlook-original-message.eml",
            "Funktioniert wieder, danke!",
            10024,
            "<b2.t10024@helpdesk.example.com>",
        ),
        (
            "reply-gmail.eml",
            "Yes, I can log in now. Thank you!",
            10025,
            "<c3.t10025@helpdesk.example.com>",
        ),
        (
            "reply-thunderbird.eml",
            "The backup ran fine last night.\n\nRegards,\nOtto",
            10026,
            "<d4.t10026@helpdesk.example.com>",
        ),
        (
            "reply-russian.eml",
            "Спасибо, всё заработало.",
            10027,
            "<e5.t10027@helpdesk.example.com>",
        ),
        ("reply-separator-only.eml", "A new keyboard would be great.", 10028, None),
    ],
)
async def test_corpus_replies_are_cut(
    name: str, text: str, ticket: int, in_reply_to: str | None
) -> None:
    message = await parse_file(name)
    assert message.text == text
    assert message.full_text is not None
    assert message.full_text.startswith(text)
    assert len(message.full_text) > len(text)
    assert message.thread.ticket_number == ticket
    assert message.thread.in_reply_to == in_reply_to
    assert not message.auto_submitted


async def test_gmail_reply_keeps_full_html_and_quoted_separator_in_full_text() -> None:
    message = await parse_file("reply-gmail.eml")
    assert message.full_text is not None and f"> {REPLY_SEPARATOR}" in message.full_text
    assert message.html is not None and "gmail_quote" not in message.html  # class dropped
    assert "<blockquote>" in message.html
    assert message.thread.references == ("<c3.t10025@helpdesk.example.com>",)


async def test_bottom_posted_reply_is_not_cut() -> None:
    message = await parse_file("reply-bottom-posted.eml")
    assert message.full_text is None
    assert "The X200." in message.text and message.text.endswith("SN-12345.")


def cut(text: str, forwarded: bool = False) -> str:
    kept, _ = cut_quotes(text, forwarded=forwarded)
    return kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Gmail, one line and wrapped over two lines
        ("Ok.\n\nOn Mon, Nov 2, 2026 at 10:00 AM Bob <bob@x.org> wrote:\n> old\n", "Ok."),
        ("Ok.\n\nOn Mon, Nov 2, 2026 at 10:00 AM Bob <\nbob@x.org> wrote:\n\n> old\n", "Ok."),
        # Thunderbird, both header styles
        ("Fine.\n\nOn 02.11.26 10:00, Support Team wrote:\n> old\n>\n> older\n", "Fine."),
        ("Fine.\n\nSupport Team wrote:\n> old\n", "Fine."),
        # Apple Mail / German / French clients
        ("Ja.\n\nAm 02.11.2026 um 10:00 schrieb Support <s@x.de>:\n> alt\n", "Ja."),
        ("Oui.\n\nLe lun. 2 nov. 2026 à 10:00, Support <s@x.fr> a écrit :\n> old\n", "Oui."),
        # Russian clients: Thunderbird, Apple Mail, Gmail, Mail.ru
        ("Да.\n\n02.11.2026 10:00, Иван Петров пишет:\n> старое\n", "Да."),
        ("Да.\n\n2 нояб. 2026 г., в 10:00, Иван <i@x.ru> написал(а):\n> старое\n", "Да."),
        ("Да.\n\nпн, 2 нояб. 2026 г. в 10:00, Support <s@x.ru>:\n> старое\n", "Да."),
        ("Да.\n\nПонедельник, 2 ноября 2026, 10:00 +03:00 от Support <s@x.ru>:\n> c\n", "Да."),
        # Outlook: underscores + From/Sent, bare From/Sent, German, Russian, Original Message
        (
            "Done.\n\n________________________________\nFrom: Support\nSent: Monday\nTo: me\n\nx",
            "Done.",
        ),
        ("Done.\n\nFrom: Support <s@x.org>\nSent: Monday, 2 Nov\nSubject: y\n\nold", "Done."),
        ("Erledigt.\n\nVon: Support\nGesendet: Montag\nAn: ich\n\nalt", "Erledigt."),
        ("Готово.\n\nОт: Support\nОтправлено: 2 ноября\nКому: я\n\nстарое", "Готово."),
        ("Done.\n\n-----Original Message-----\nFrom: Support\n\nold", "Done."),
        ("Done.\n\n----- Original Message -----\nold", "Done."),
        # Outlook web/mobile: bold markers
        ("Done.\n\n*From:* Support\n*Sent:* Monday\n\nold", "Done."),
        # our separator, plain and quoted, without any quote header
        (f"Yes please.\n\n{REPLY_SEPARATOR}\n\nHello, ...", "Yes please."),
        (f"Yes please.\n\n> {REPLY_SEPARATOR}\n> Hello, ...", "Yes please."),
        ("Yes.\n##- Bitte schreiben Sie Ihre Antwort über dieser Zeile -##\nx", "Yes."),
        # a trailing block of quoted lines without a header
        ("Thanks!\n\n> old line\n> another\n\n", "Thanks!"),
    ],
)
def test_quote_shapes_are_cut(text: str, expected: str) -> None:
    kept, was_cut = cut_quotes(text)
    assert was_cut
    assert kept == expected


@pytest.mark.parametrize(
    "text",
    [
        "Just a message.\nNo quotes here.",
        # inline answers between quoted lines
        "> Which model?\nX200.\n> Serial?\nSN-1.",
        # bottom posting after a reply header
        "On Mon, Nov 2, 2026 at 10:00 AM Bob <bob@x.org> wrote:\n> question\nanswer",
        # "wrote:" in prose, not a reply header
        "Here is what my boss wrote:\nwe need this by Friday.",
        "Please check what the vendor wrote: the manual is wrong.",
        # a From: line that is not an Outlook header block
        "From: the accounting department we heard nothing.\nPlease advise.",
        "",
    ],
)
def test_text_without_quoted_history_is_kept(text: str) -> None:
    kept, was_cut = cut_quotes(text)
    assert not was_cut
    assert kept == text


def test_forwarded_mail_keeps_the_forwarded_history() -> None:
    text = (
        "FYI\n\n________________________________\nFrom: Customer\nSent: Monday\n\nHelp!\n"
        "\nOn Mon, Nov 2, 2026 at 10:00 AM Bob <bob@x.org> wrote:\n> old"
    )
    assert cut(text, forwarded=True) == text
    assert cut(f"FYI\n{REPLY_SEPARATOR}\nours", forwarded=True) == "FYI"


def test_html_to_text_quotes_blockquotes() -> None:
    html = (
        "<div>Answer</div><div class=gmail_quote>On Mon, Bob wrote:<br>"
        "<blockquote><p>old</p><blockquote>older</blockquote></blockquote></div><p>tail</p>"
    )
    assert to_text(html) == "Answer\nOn Mon, Bob wrote:\n\n> old\n>\n> > older\n\ntail"


def test_html_to_text_entities_pre_lists_and_scripts() -> None:
    html = (
        "<html><head><title>T</title><style>b{}</style></head><body>"
        "A&amp;B&nbsp;C &lt;x&gt;<script>var a=1;</script><pre>  keep\n    spacing</pre>"
        "<ol><li>one</li><li>two</li></ol><table><tr><td>a</td><td>b</td></tr></table></body>"
    )
    assert to_text(html) == "A&B C <x>\n  keep\n    spacing\n- one\n- two\na b"


def test_sanitize_keeps_cid_images_and_drops_active_content() -> None:
    dirty = (
        '<p style="x" onmouseover="evil()">Hi</p><img src="cid:a@b" onerror="x()">'
        '<img src="javascript:alert(1)"><a href="JaVaScRiPt:alert(1)">l</a>'
        "<iframe src=https://evil.example></iframe><form action=/x><input></form>"
        "<script>alert(1)</script><svg onload=alert(1)></svg>"
        '<a href="https://ok.example/">ok</a><a href="mailto:a@b.c">m</a>'
    )
    clean = sanitize(dirty)
    for bad in ("onmouseover", "onerror", "javascript", "<iframe", "<script", "alert", "<svg"):
        assert bad not in clean.lower()
    assert '<img src="cid:a@b">' in clean
    assert 'href="https://ok.example/"' in clean and 'href="mailto:a@b.c"' in clean


async def test_html_only_reply_is_cut_on_the_derived_text() -> None:
    raw = (
        b"From: Zoe <zoe@example.com>\nSubject: Re: [#10060] Printer\n"
        b"Content-Type: text/html; charset=utf-8\n\n"
        b"<div>It works, thanks!</div><div class=gmail_quote>"
        b"<div>On Mon, Nov 2, 2026 at 10:00 AM Support &lt;support@example.com&gt; wrote:</div>"
        b"<blockquote><div>##- Please type your reply above this line -##</div>"
        b"<p>Did you restart it?</p></blockquote></div>"
    )
    message = await build_inbound(raw, CTX, DigestBlobs())
    assert message.text == "It works, thanks!"
    assert message.full_text is not None and "> Did you restart it?" in message.full_text
    assert message.html is not None and "Did you restart it?" in message.html
    assert message.thread.ticket_number == 10060

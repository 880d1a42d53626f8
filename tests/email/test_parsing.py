# ruff: noqa: RUF001  (mail in Cyrillic, Japanese and full-width forms is the test data)
"""The inbound filter chain on the committed corpus: concrete parsed values per mail."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from email_ingest.context import MailboxContext
from email_ingest.pipeline import UnparseableMail, build_inbound, idempotency_key
from helpdesk_common.blobstore import digest
from helpdesk_common.records import BlobRef, InboundMessage

CORPUS = Path(__file__).parent / "corpus"
OWN = frozenset({"support@example.com"})
CTX = MailboxContext(channel_account="support", own_addresses=OWN)


class MemoryBlobs:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef:
        sha = digest(data)
        self.blobs[sha] = data
        return BlobRef(sha256=sha, size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        return self.blobs[sha256]

    async def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs


async def parse(
    name: str, ctx: MailboxContext = CTX, blobs: MemoryBlobs | None = None
) -> InboundMessage:
    return await build_inbound((CORPUS / name).read_bytes(), ctx, blobs or MemoryBlobs())


ALL = sorted(p.name for p in CORPUS.glob("*.eml"))
PUBLISHED = [n for n in ALL if not n.startswith("loop-")]


def test_corpus_covers_the_issue() -> None:
    assert len(ALL) >= 25
    for prefix in ("charset-", "reply-", "ooo-", "bounce-", "malformed-", "forwarded-"):
        assert any(n.startswith(prefix) for n in ALL), prefix


@pytest.mark.parametrize("name", PUBLISHED)
async def test_every_corpus_mail_builds_a_publishable_record(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    blobs = MemoryBlobs()
    message = await build_inbound(raw, CTX, blobs)
    again = InboundMessage.model_validate_json(message.model_dump_json())
    assert again == message
    assert message.raw == BlobRef(
        sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), content_type="message/rfc822"
    )
    assert blobs.blobs[message.raw.sha256] == raw
    assert message.channel_account == "support"
    assert message.partition_key() == f"email:{message.sender.email}"


CHARSETS = [
    (
        "charset-utf8-qp.eml",
        "maria.ivanova@example.org",
        "Мария Иванова",
        "Принтер не печатает",
        "Здравствуйте!\n\nПринтер в офисе 3 не печатает. Ошибка «E-05».\nGrüße, Zoë — ☺",
    ),
    (
        "charset-windows-1251.eml",
        "petr@firma.ru",
        "Пётр Сидоров",
        "Счёт за ноябрь",
        "Добрый день.\nПрошу выставить счёт на оплату за ноябрь.\nС уважением, Пётр",
    ),
    (
        "charset-koi8r.eml",
        "oleg@corp.ru",
        "Олег",
        "Нет интернета",
        "Привет!\nНе работает интернет в переговорной.",
    ),
    (
        "charset-iso-8859-1.eml",
        "j.mueller@beispiel.de",
        "Jürgen Müller",
        "Lieferung beschädigt",
        "Sehr geehrte Damen und Herren,\n\ndie Lieferung ist beschädigt angekommen. "
        "Bitte um Rückruf.\n\nMit freundlichen Grüßen\nJürgen Müller",
    ),
    (
        "charset-iso-8859-2.eml",
        "rehor@firma.cz",
        "Řehoř Žák",
        "Špatná faktura",
        "Dobrý den,\nfaktura č. 2026/11 nesedí. Děkuji, Řehoř Žák",
    ),
    (
        "charset-iso-8859-15.eml",
        "lea@exemple.fr",
        "Lea Dubois",
        "Facture erronée",
        "Le total est de 120 € au lieu de 100 €. Merci, Léa",
    ),
    (
        "charset-iso-2022-jp.eml",
        "yamada@example.jp",
        "山田太郎",
        "請求書の再送",
        "お世話になっております。\n請求書を再送してください。\n山田",
    ),
    ("charset-unknown.eml", "anna@example.net", "Anna", "Unknown charset", "Straße, café, Ärger"),
    (
        "charset-broken-declared.eml",
        "bob@example.net",
        "Bob",
        "Mislabelled body",
        "The café’s bill: 5€",
    ),
    (
        "headers-8bit-raw.eml",
        "zhanna@example.ru",
        "Жанна Петрова",
        "Вопрос по договору [#4711]",
        "Когда будет готов договор?",
    ),
]


@pytest.mark.parametrize(("name", "address", "display", "subject", "text"), CHARSETS)
async def test_charsets_decode(
    name: str, address: str, display: str, subject: str, text: str
) -> None:
    message = await parse(name)
    assert message.sender.email == address
    assert message.sender.channel_user_id == address
    assert message.sender.display_name == display
    assert message.thread.conversation_id == address
    assert message.subject == subject
    assert message.text == text
    assert message.html is None
    assert message.full_text is None
    assert not message.auto_submitted and not message.is_bounce


async def test_encoded_headers_recipients_and_threading() -> None:
    message = await parse("headers-encoded.eml")
    assert message.sender.email == "apfel@example.com"
    assert message.sender.display_name == "Dr. Äpfel"
    assert message.subject == "Frage zur Rechnung №5"
    # To + Cc, lower case, in order, deduplicated, without the sender; Reply-To is ignored.
    assert message.recipients == ("support@example.com", "olga@example.com", "bob@example.net")
    assert message.thread.message_id == "<hdr-enc-1@example.com>"
    assert message.thread.in_reply_to == "<out-1@helpdesk.example.com>"
    assert message.thread.references == ("<root-1@example.com>", "<out-1@helpdesk.example.com>")
    assert message.thread.ticket_number is None
    assert (
        message.sent_at is not None and message.sent_at.isoformat() == "2026-11-04T11:30:00+01:00"
    )
    assert message.idempotency_key == "email:mid:hdr-enc-1@example.com"


async def test_html_only_mail_is_sanitised_and_text_derived() -> None:
    message = await parse("html-only.eml")
    assert message.text == (
        "Hello team,\n\nthe portal shows an error:\nError 500 & timeout\n\n- Chrome\n- Firefox"
        "\n\nclick or here"
    )
    html = message.html
    assert html is not None
    for bad in ("<script", "alert(", "onclick", "onerror", "javascript:", "<style", "steal"):
        assert bad not in html
    assert "<p>Hello <b>team</b>,</p>" in html
    assert 'href="https://example.org/x"' in html


async def test_alternative_keeps_plain_text_and_sanitised_html() -> None:
    message = await parse("alternative.eml")
    assert message.text == "The reset link says expired."
    assert message.html == "<div>The reset link says <i>expired</i>.</div>"
    assert message.attachments == ()


async def test_attachments_with_rfc2231_and_rfc2047_names() -> None:
    blobs = MemoryBlobs()
    message = await parse("attachments-rfc2231.eml", blobs=blobs)
    assert message.text == "See the attached files."
    names = [(a.filename, a.content_type, a.size) for a in message.attachments]
    assert names == [
        ("Счёт №1.pdf", "application/pdf", 2064),
        ("Отчёт.csv", "text/csv", 28),
        ("Grüße aus Berlin.bin", "application/octet-stream", 4),
    ]
    for att in message.attachments:
        assert att.blob is not None and att.skipped_reason is None and att.inline_cid is None
        assert len(blobs.blobs[att.blob.sha256]) == att.size == att.blob.size
    pdf = blobs.blobs[message.attachments[0].blob.sha256]  # type: ignore[union-attr]
    assert pdf.startswith(b"%PDF-1.4") and pdf.endswith(b"%%EOF\n")
    assert blobs.blobs[message.attachments[1].blob.sha256].decode() == "name;amount\nмолоко;10\n"  # type: ignore[union-attr]


async def test_oversized_attachment_is_recorded_as_skipped() -> None:
    ctx = MailboxContext(channel_account="support", own_addresses=OWN, max_attachment_bytes=50_000)
    blobs = MemoryBlobs()
    message = await parse("attachment-oversized.eml", ctx, blobs)
    big, small = message.attachments
    assert (big.filename, big.content_type, big.size, big.blob) == (
        "scan.tif",
        "image/tiff",
        60_000,
        None,
    )
    assert big.skipped_reason == "over the size limit (60000 > 50000 bytes)"
    assert small.filename == "small.txt" and small.blob is not None and small.skipped_reason is None
    assert len(blobs.blobs) == 2  # the raw source and small.txt, not the scan
    default = await parse("attachment-oversized.eml")
    assert all(a.blob is not None for a in default.attachments)


async def test_inline_image_keeps_its_content_id() -> None:
    message = await parse("inline-image.eml")
    assert message.text == "See the screenshot:\n[image: shot.png]"
    assert (
        message.html == '<p>See the screenshot:</p><img src="cid:shot123@example.com" alt="shot">'
    )
    (image,) = message.attachments
    assert (image.filename, image.content_type, image.size) == ("shot.png", "image/png", 70)
    assert image.inline_cid == "shot123@example.com"
    assert image.blob is not None


async def test_nested_multiparts() -> None:
    message = await parse("nested-multipart.eml")
    assert message.text == "Contract draft attached, logo below."
    assert message.html == '<p>Contract draft attached, logo below.</p><img src="cid:logo@ch">'
    logo, docx = message.attachments
    assert (logo.inline_cid, logo.content_type, logo.size) == ("logo@ch", "image/png", 70)
    assert (docx.filename, docx.size, docx.inline_cid) == ("contract.docx", 130, None)


async def test_forwarded_inline_keeps_the_forwarded_text() -> None:
    message = await parse("forwarded-gmail.eml")
    assert message.full_text is None
    assert message.text.startswith("Please handle this one.\n\n---------- Forwarded message")
    assert "The parcel never arrived." in message.text
    assert message.text.endswith("> Did the parcel arrive?")


async def test_forwarded_as_attachment() -> None:
    blobs = MemoryBlobs()
    message = await parse("forwarded-as-attachment.eml", blobs=blobs)
    assert message.subject == "FW: Broken screen"
    assert message.text == "See the customer's mail attached."
    (eml,) = message.attachments
    assert (eml.filename, eml.content_type) == ("Broken screen.eml", "message/rfc822")
    inner = blobs.blobs[eml.blob.sha256]  # type: ignore[union-attr]
    assert b"Message-ID: <inner-1@client.com>" in inner and b"My screen is broken." in inner


async def test_mail_without_message_id_is_keyed_by_its_bytes() -> None:
    raw = (CORPUS / "no-message-id.eml").read_bytes()
    message = await parse("no-message-id.eml")
    assert message.thread.message_id is None
    assert message.idempotency_key == f"email:sha:{hashlib.sha256(raw).hexdigest()}"
    assert message.sent_at is None  # "Date: yesterday at noon"
    assert message.sender.display_name == ""
    assert message.text == "Just text."


async def test_crlf_mail() -> None:
    message = await parse("crlf-line-endings.eml")
    assert message.text == "Line one.\nLine two."
    assert message.html == "<p>Line one.<br>Line two.</p>"


async def test_malformed_mime_still_yields_messages() -> None:
    unclosed = await parse("malformed-no-closing-boundary.eml")
    assert unclosed.text == "The text survives."
    assert [(a.filename, a.size) for a in unclosed.attachments] == [("cut.pdf", 12)]

    bad64 = await parse("malformed-bad-base64.eml")
    assert bad64.text.startswith("Hello, this is ")

    no_boundary = await parse("malformed-missing-boundary.eml")
    assert no_boundary.text == "This body claims to be multipart but has no boundary."

    garbage = await parse("malformed-garbage-headers.eml")
    assert garbage.subject == "Garbage in headers"
    assert garbage.sender.email == "yuri@example.com"
    # Content-Disposition says attachment: the body is kept as a file, not lost.
    (body,) = garbage.attachments
    assert body.size == len(b"Body after weird headers.\n")


async def test_same_bytes_same_key_and_blob_refs() -> None:
    for name in ("attachments-rfc2231.eml", "no-message-id.eml", "inline-image.eml"):
        first = await parse(name)
        second = await parse(name, blobs=MemoryBlobs())
        assert first.idempotency_key == second.idempotency_key
        assert first.raw == second.raw
        assert first.attachments == second.attachments
        volatile = {"correlation_id", "received_at"}
        assert first.model_dump(exclude=volatile) == second.model_dump(exclude=volatile)


def test_idempotency_key_format() -> None:
    assert idempotency_key("<ABC.def@Example.COM>", b"x") == "email:mid:abc.def@example.com"
    assert idempotency_key(None, b"x") == f"email:sha:{hashlib.sha256(b'x').hexdigest()}"
    assert idempotency_key("<>", b"x").startswith("email:sha:")


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n\r\n", b"\x00\x01\x02 binary \xff\xfe", b"hello, this is not a mail at all\n"],
)
async def test_unusable_input_raises_unparseable_mail(raw: bytes) -> None:
    with pytest.raises(UnparseableMail) as info:
        await build_inbound(raw, CTX, MemoryBlobs())
    assert isinstance(info.value, ValueError)


async def test_sender_falls_back_when_from_is_missing() -> None:
    raw = b"Sender: Real Person <real@example.com>\nSubject: x\n\nbody\n"
    message = await build_inbound(raw, CTX, MemoryBlobs())
    assert message.sender.email == "real@example.com"
    nobody = await build_inbound(b"Subject: who?\n\nbody\n", CTX, MemoryBlobs())
    assert nobody.sender.channel_user_id == "unknown@invalid"


async def test_long_bodies_are_cut_to_the_context_limit() -> None:
    raw = b"From: a@example.com\nSubject: long\nContent-Type: text/html\n\n<p>" + b"x" * 5000
    ctx = MailboxContext(channel_account="support", max_body_chars=1000)
    message = await build_inbound(raw, ctx, MemoryBlobs())
    assert len(message.text) == 1000
    assert message.html is not None and len(message.html) <= 1000
    assert message.raw is not None and message.raw.size == len(raw)


async def test_ticket_token_in_mangled_subjects() -> None:
    cases = {
        "Re: [#12345] Printer": 12345,
        "AW: AW: [ # 12345 ] Printer": 12345,
        "Ответ: Fwd: [#  777 ] x": 777,
        "RE:[#1]": 1,
        "Re: ［＃４２］ full-width": 42,
        "no token 12345": None,
        "#12345 without brackets": None,
    }
    for subject, number in cases.items():
        raw = f"From: a@example.com\nSubject: {subject}\n\nx\n".encode()
        message = await build_inbound(raw, CTX, MemoryBlobs())
        assert message.thread.ticket_number == number, subject


async def test_custom_token_pattern() -> None:
    ctx = MailboxContext(channel_account="support", ticket_token_pattern=r"\[Ticket#(\d+)\]")
    raw = b"From: a@example.com\nSubject: Re: [Ticket#2026110001] help\n\nx\n"
    message = await build_inbound(raw, ctx, MemoryBlobs())
    assert message.thread.ticket_number == 2026110001


async def test_attached_message_keeps_its_own_filename() -> None:
    raw = (
        b'From: a@example.com\nSubject: s\nContent-Type: multipart/mixed; boundary="X"\n\n'
        b"--X\nContent-Type: text/plain\n\nsee attached\n"
        b'--X\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename="orig.eml"'
        b"\n\nFrom: b@example.org\nSubject: inner\n\nhi\n--X--\n"
    )
    message = await build_inbound(raw, CTX, MemoryBlobs())
    assert message.text == "see attached"
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("orig.eml", "message/rfc822")
    ]

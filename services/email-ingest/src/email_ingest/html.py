"""HTML bodies: sanitise what we keep (nh3), and derive plain text from it (html.parser).

Sanitising drops scripts, styles, event handlers and ``javascript:`` URLs, and keeps
``cid:`` image sources so inline images still resolve against the attachments.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid"})
_TAGS = frozenset(nh3.ALLOWED_TAGS | {"font", "center"})
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "font": {"color", "face", "size"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align", "valign", "width"},
    "th": {"colspan", "rowspan", "align", "valign", "width"},
    "table": {"width", "border", "cellpadding", "cellspacing", "align"},
}


def sanitize(html: str) -> str:
    """Safe HTML for the agent console: no script, no handlers, no javascript: URLs."""
    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes=_ATTRIBUTES,
        url_schemes=set(_URL_SCHEMES),
        clean_content_tags=set(_SKIP),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol",
        "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "address", "dl", "dt", "dd",
        "form", "fieldset", "center", "body", "html",
    }
)  # fmt: skip
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "object"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def _newline(self, force: bool = False) -> None:
        joined = "".join(self._line)
        text = joined.rstrip() if self._pre else joined.strip()
        if text or force:
            self.lines.append("> " * self._quote + text if text else ">" * self._quote)
        self._line = []

    def _blank(self) -> None:
        self._newline()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(">" * self._quote)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self._newline(force=True)
        elif tag == "blockquote":
            self._blank()
            self._quote += 1
        elif tag == "li":
            self._newline()
            self._line.append("- ")
        elif tag in ("td", "th"):
            self._line.append(" ")
        elif tag == "pre":
            self._newline()
            self._pre += 1
        elif tag == "p":
            self._blank()
        elif tag in _BLOCK:
            self._newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._newline(force=True)
        elif tag == "hr":
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._newline()
            while self.lines and not self.lines[-1].strip("> "):
                self.lines.pop()
            self._quote = max(0, self._quote - 1)
            self._blank()
        elif tag == "pre":
            self._newline()
            self._pre = max(0, self._pre - 1)
        elif tag == "p":
            self._blank()
        elif tag in _BLOCK or tag == "li":
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._line.append(first)
            for piece in rest:
                self._newline(force=True)
                self._line.append(piece)
            return
        self._line.append(_SPACES.sub(" ", data))

    def text(self) -> str:
        self._newline()
        out: list[str] = []
        for line in self.lines:
            line = line.rstrip()
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # collapse runs of blank lines
            out.append(line)
        return "\n".join(out).strip("\n")


def to_text(html: str) -> str:
    """Readable plain text from HTML; blockquotes become ``> `` quoted lines."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this is only a last guard
        return _SPACES.sub(" ", re.sub(r"<[^>]*>", " ", html)).strip()
    return parser.text()

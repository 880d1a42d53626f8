"""The small HTML pages customers see after following a satisfaction link."""

from __future__ import annotations

from html import escape

from .ratings import Rating

_LABELS = {Rating.GOOD: "Good", Rating.NEUTRAL: "Neutral", Rating.BAD: "Bad"}


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title></head>"
        f"<body style='font-family:sans-serif;max-width:40em;margin:2em auto'>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def thank_you(number: int, rating: str, comment: str | None, reopen_url: str | None) -> str:
    label = _LABELS.get(Rating(rating), rating)
    form = (
        "<form method='post'>"
        f"<input type='hidden' name='rating' value='{escape(rating)}'>"
        "<p><label for='comment'>Anything you would like to add?</label></p>"
        f"<p><textarea id='comment' name='comment' rows='5' cols='60' maxlength='5000'>"
        f"{escape(comment or '')}</textarea></p>"
        "<p><button type='submit'>Send comment</button></p></form>"
    )
    reopen = (
        f"<form method='post' action='{escape(reopen_url)}'>"
        "<p>Not solved after all? <button type='submit'>Reopen the request</button></p></form>"
        if reopen_url
        else ""
    )
    return _page(
        "Thank you for your feedback",
        f"<p>You rated request #{number}: <strong>{escape(label)}</strong>.</p>{form}{reopen}",
    )


def choose(number: int, token: str) -> str:
    """The page a notification links to: one link per rating (``token`` is URL-quoted)."""
    choices = " ".join(
        f"<a href='{escape(token)}?rating={r.value}' style='margin-right:1em'>"
        f"{escape(_LABELS[r])}</a>"
        for r in Rating
    )
    return _page(
        "How did we do?", f"<p>Please rate how request #{number} was handled:</p><p>{choices}</p>"
    )


def comment_saved(number: int) -> str:
    return _page("Thank you", f"<p>Your comment on request #{number} was saved.</p>")


def reopened(number: int) -> str:
    return _page(
        "Request reopened", f"<p>Request #{number} is open again; we will get back to you.</p>"
    )


def refusal(message: str) -> str:
    return _page("Sorry", f"<p>{escape(message)}</p>")

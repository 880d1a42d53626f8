"""Pure parts of the dashboard, branding, presence and reply-upload pages: the chart's
geometry, report ranges, durations, the branding stylesheet, attachment rules."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from ticket_core import attachment_rules
from ticket_core.attachment_rules import UploadRefused
from ticket_core.console import branding_view, chart, dashboard_view
from ticket_core.console.forms import ConsoleError
from ticket_core.dashboard import DayPoint
from ticket_core.desk_settings import Branding, ImageRefused, checked_image

TODAY = date(2026, 11, 26)


def _points(values: list[tuple[int, int]]) -> list[DayPoint]:
    start = TODAY - timedelta(days=len(values) - 1)
    return [
        DayPoint(day=start + timedelta(days=i), created=c, resolved=r)
        for i, (c, r) in enumerate(values)
    ]


def test_chart_has_two_bars_per_day_scaled_to_a_round_maximum() -> None:
    drawn = chart.bar_chart(_points([(0, 0), (3, 1), (7, 2)]))
    assert len(drawn.bars) == 6
    today = [b for b in drawn.bars if b.day == TODAY]
    created = next(b for b in today if b.series == "created")
    resolved = next(b for b in today if b.series == "resolved")
    plot = drawn.baseline - chart.TOP
    # the maximum 7 is drawn against 10 (1/2/5 steps): 70% of the plot height
    assert created.height == pytest.approx(plot * 0.7, abs=0.01)
    assert created.y + created.height == pytest.approx(drawn.baseline)
    assert resolved.height == pytest.approx(plot * 0.2, abs=0.01)
    assert resolved.x > created.x
    empty_day = [b for b in drawn.bars if b.day == TODAY - timedelta(days=2)]
    assert [b.height for b in empty_day] == [0, 0]
    assert [t.value for t in drawn.ticks] == [0, 5, 10]
    assert (drawn.total_created, drawn.total_resolved) == (10, 3)
    assert created.label == "26 Nov: 7 created"


def test_chart_thins_day_labels_but_keeps_today_and_handles_all_zero() -> None:
    drawn = chart.bar_chart(_points([(0, 0)] * 60))
    assert len(drawn.labels) <= chart.MAX_DAY_LABELS + 1
    assert drawn.labels[-1].text == "26.11"
    assert all(b.height == 0 for b in drawn.bars)
    assert [t.value for t in drawn.ticks] == [0, 1]


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (21, 50), (101, 200)]
)
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert chart.nice_ceiling(value) == ceiling


def test_report_range_defaults_bounds_and_refusals() -> None:
    default = dashboard_view.report_range({}, TODAY)
    assert (default.start, default.end, default.status) == (
        TODAY - timedelta(days=29),
        TODAY,
        None,
    )
    given = dashboard_view.report_range(
        {"from": "2026-03-28", "to": "2026-03-29", "status": "open"}, TODAY
    )
    start, end = given.bounds(ZoneInfo("Europe/Berlin"))
    # local midnight of the 28th (UTC+1) to local midnight after the 29th (UTC+2, DST)
    assert start.isoformat() == "2026-03-27T23:00:00+00:00"
    assert end.isoformat() == "2026-03-29T22:00:00+00:00"
    assert given.query() == "from=2026-03-28&to=2026-03-29&status=open"
    for bad in (
        {"from": "yesterday"},
        {"from": "2026-11-27", "to": "2026-11-26"},
        {"status": "lost"},
        {"to": "9999-12-31"},
    ):
        with pytest.raises(ConsoleError) as refused:
            dashboard_view.report_range(bad, TODAY)
        assert refused.value.status_code == 422


def test_chart_days_and_durations() -> None:
    assert dashboard_view.chart_days({}) == 14
    assert dashboard_view.chart_days({"days": "30"}) == 30
    for bad in ("0", "367", "-1", "x"):
        with pytest.raises(ConsoleError):
            dashboard_view.chart_days({"days": bad})
    assert dashboard_view.duration_text(None) == "—"
    assert dashboard_view.duration_text(42) == "42s"
    assert dashboard_view.duration_text(450) == "8m"
    assert dashboard_view.duration_text(3 * 3600 + 5 * 60) == "3h 05m"
    assert dashboard_view.duration_text(2 * 86400 + 3600) == "2d 1h"


def test_branding_stylesheet_only_ever_prints_a_hex_colour() -> None:
    css = branding_view.stylesheet(Branding(main_colour="#AA3300"))
    assert "--brand: #aa3300;" in css and "--accent: #aa3300;" in css
    # a stored value that somehow is not a colour never reaches the CSS
    forged = Branding.model_construct(main_colour="red; } body { display: none")
    assert branding_view.colour_of(forged) == branding_view.DEFAULT_COLOUR
    assert "display: none" not in branding_view.stylesheet(forged)
    shown = branding_view.brand(Branding(main_colour="#123456", console_title="Acme desk"))
    assert shown["title"] == "Acme desk" and shown["css_url"].endswith("?v=123456")
    assert shown["logo_url"] is None and shown["favicon_url"] is None


def test_branding_images_are_checked_by_their_bytes() -> None:
    assert checked_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 20) == "image/png"
    for data, status in (
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415),
        (b"just text", 415),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), 413),
    ):
        with pytest.raises(ImageRefused) as refused:
            checked_image(data)
        assert refused.value.status_code == status


def test_attachment_rules_refuse_programs_big_and_empty_files() -> None:
    fine = attachment_rules.check("../inv\x00oice.pdf", "application/pdf", b"%PDF", 100)
    assert (fine.filename, fine.content_type) == (".._invoice.pdf", "application/pdf")
    odd_type = attachment_rules.check("a.txt", "text/plain; charset=utf-8", b"x", 100)
    assert odd_type.content_type == "text/plain"
    assert attachment_rules.check("a", "not a type", b"x", 100).content_type == (
        "application/octet-stream"
    )
    for name, data, status in (
        ("big.bin", b"x" * 101, 413),
        ("empty.txt", b"", 422),
        ("setup.EXE", b"hello", 415),
        ("script.js", b"alert(1)", 415),
        ("renamed.pdf", b"MZ\x90\x00", 415),
        ("tool", b"\x7fELF\x02", 415),
    ):
        with pytest.raises(UploadRefused) as refused:
            attachment_rules.check(name, "application/octet-stream", data, 100)
        assert refused.value.status_code == status, name

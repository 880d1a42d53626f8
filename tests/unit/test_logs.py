"""JSON logging (helpdesk_common.logs) and correlation ids (helpdesk_common.correlation)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from helpdesk_common import correlation, logs

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "aiokafka")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in quiet.items():
        logging.getLogger(name).setLevel(lvl)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def configured(service: str = "svc", level: str = "INFO") -> Lines:
    """Configure logging and point the single root handler at an in-memory stream."""
    logs.configure(service, level)
    stream = io.StringIO()
    handlers = logging.getLogger().handlers
    assert len(handlers) == 1
    handlers[0].setStream(stream)  # type: ignore[attr-defined]

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    return lines


@pytest.mark.usefixtures("restore_logging")
def test_log_line_is_one_json_object_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("svc")
    with correlation.bound("abc"):
        logs.get_logger("helpdesk.test").info("ticket_created", ticket_id=7)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "ticket_created"
    assert record["correlation_id"] == "abc"
    assert record["service"] == "svc"
    assert record["ticket_id"] == 7
    assert record["level"] == "info"
    assert record["logger"] == "helpdesk.test"
    assert "timestamp" in record


@pytest.mark.usefixtures("restore_logging")
def test_secret_keys_are_redacted_and_others_kept() -> None:
    lines = configured()
    with correlation.bound("abc"):
        logs.get_logger("t").info(
            "login",
            password="hunter2",
            token="123:ABC",
            secret="s3cr3t",
            body="Dear support, my card is 4111",
            Authorization="Bearer xyz",
            API_KEY="k",
            user="ann",
            ticket_id=42,
        )
    (record,) = lines()
    for key in ("password", "token", "secret", "body", "Authorization", "API_KEY"):
        assert record[key] == "[redacted]", key
    assert record["user"] == "ann"
    assert record["ticket_id"] == 42
    text = json.dumps(record)
    for leaked in ("hunter2", "123:ABC", "s3cr3t", "4111", "xyz"):
        assert leaked not in text


@pytest.mark.usefixtures("restore_logging")
def test_no_correlation_id_outside_a_bound_block() -> None:
    lines = configured()
    log = logs.get_logger("t")
    with correlation.bound("inner"):
        log.info("inside")
    log.info("outside")
    inside, outside = lines()
    assert inside["correlation_id"] == "inner"
    assert "correlation_id" not in outside
    assert outside["service"] == "svc"


@pytest.mark.usefixtures("restore_logging")
def test_stdlib_logs_get_service_correlation_id_and_redaction() -> None:
    lines = configured("notifier")
    with correlation.bound("cid-9"):
        logging.getLogger("some.library").warning("plain stdlib message")
    (record,) = lines()
    assert record["event"] == "plain stdlib message"
    assert record["service"] == "notifier"
    assert record["correlation_id"] == "cid-9"
    assert record["level"] == "warning"


@pytest.mark.usefixtures("restore_logging")
def test_level_and_noisy_libraries_are_filtered() -> None:
    lines = configured(level="WARNING")
    logs.get_logger("t").info("dropped")
    logs.get_logger("t").warning("kept")
    assert [r["event"] for r in lines()] == ["kept"]

    lines = configured(level="INFO")
    logging.getLogger("httpx").info("GET https://api.telegram.org/bot123:SECRET/getMe")
    logging.getLogger("httpx").warning("httpx warning")
    assert [r["event"] for r in lines()] == ["httpx warning"]


@pytest.mark.usefixtures("restore_logging")
def test_exception_tracebacks_do_not_leak_frame_locals() -> None:
    lines = configured()
    log = logs.get_logger("t")

    def send(token: str) -> None:
        password = "hunter2"  # noqa: F841 - a local that must not reach the log
        raise RuntimeError("provider refused")

    try:
        send("123:BOTTOKEN")
    except RuntimeError:
        log.exception("send_failed")
    (record,) = lines()
    text = json.dumps(record)
    assert "provider refused" in text
    assert record["exception"][0]["exc_type"] == "RuntimeError"
    assert "hunter2" not in text
    assert "BOTTOKEN" not in text


# --- correlation ----------------------------------------------------------------------------


def test_bound_generates_an_id_when_none_given_and_restores_outer() -> None:
    assert correlation.current() is None
    with correlation.bound(None) as generated:
        assert generated
        assert correlation.current() == generated
        with correlation.bound("inner") as inner:
            assert inner == "inner"
            assert correlation.current() == "inner"
        assert correlation.current() == generated
    assert correlation.current() is None


def test_bound_generates_distinct_ids() -> None:
    with correlation.bound(None) as a:
        pass
    with correlation.bound("") as b:
        pass
    assert a and b and a != b


def test_header_value_finds_and_decodes() -> None:
    headers = [
        ("schema", b"inbound_message"),
        (correlation.KAFKA_HEADER, "cid-\u00e9".encode()),
        (correlation.KAFKA_HEADER, b"second"),
    ]
    assert correlation.header_value(headers, correlation.KAFKA_HEADER) == "cid-\u00e9"
    assert correlation.header_value(headers, "schema") == "inbound_message"


def test_header_value_absent_returns_none() -> None:
    assert correlation.header_value([("schema", b"x")], "correlation_id") is None
    assert correlation.header_value([], "correlation_id") is None
    assert correlation.header_value(None, "correlation_id") is None
    assert correlation.header_value([("Correlation_ID", b"x")], "correlation_id") is None


def test_header_value_tolerates_bad_utf8_and_null_value() -> None:
    assert correlation.header_value([("k", b"a\xffb")], "k") == "a\ufffdb"
    assert correlation.header_value([("k", None)], "k") is None  # type: ignore[list-item]

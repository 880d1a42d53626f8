"""Test connection for email: an IMAP mailbox (connect with TLS / STARTTLS / plain as
configured, LOGIN, SELECT the folder read-only) and an SMTP server (EHLO, STARTTLS,
AUTH). The stdlib clients are blocking: they run in a thread with socket timeouts."""

from __future__ import annotations

import imaplib
import smtplib

from helpdesk_common.email_accounts import ImapSettings

from .probe_result import ProbeResult, in_thread, text_of, tls_context


async def probe_imap(settings: ImapSettings, password: str, timeout: float = 5.0) -> ProbeResult:
    """Connect, LOGIN, SELECT the folder (read-only): the server's refusal, or the count."""
    port = settings.port or (993 if settings.security == "tls" else 143)
    where = f"IMAP {settings.host}:{port}"

    def work() -> ProbeResult:
        context = tls_context(settings.tls_verify, settings.tls_ca_file)
        client: imaplib.IMAP4
        if settings.security == "tls":
            client = imaplib.IMAP4_SSL(settings.host, port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(settings.host, port, timeout=timeout)
        try:
            if settings.security == "starttls":
                client.starttls(ssl_context=context)
            try:
                client.login(settings.login, password)
            except imaplib.IMAP4.error as exc:
                said = text_of(exc.args[0] if exc.args else exc)
                return ProbeResult(False, f"login refused: {said}")
            status, data = client.select(_quoted(settings.folder), readonly=True)
            if status != "OK":
                return ProbeResult(False, f"folder {settings.folder!r}: {text_of(data)}")
            return ProbeResult(
                True, f"logged in; {settings.folder} holds {text_of(data) or '0'} message(s)"
            )
        except imaplib.IMAP4.error as exc:
            return ProbeResult(False, f"{where}: {text_of(exc.args[0] if exc.args else exc)}")
        finally:
            try:
                client.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    return await in_thread(work, where, timeout)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def probe_smtp(
    host: str,
    port: int,
    *,
    security: str = "starttls",
    login: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
    tls_verify: bool = True,
) -> ProbeResult:
    """EHLO (STARTTLS when asked), then AUTH when a login is given."""
    where = f"SMTP {host}:{port}"

    def work() -> ProbeResult:
        context = tls_context(tls_verify)
        client: smtplib.SMTP
        if security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            code, banner = client.ehlo()
            if code != 250:
                return ProbeResult(False, f"EHLO refused: {code} {text_of(banner)}")
            if security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            said = text_of(banner).splitlines()[0] if banner else ""
            if login:
                try:
                    client.login(login, password or "")
                except smtplib.SMTPAuthenticationError as exc:
                    return ProbeResult(
                        False, f"login refused: {exc.smtp_code} {text_of(exc.smtp_error)}"
                    )
                except smtplib.SMTPNotSupportedError:
                    return ProbeResult(False, "the server offers no AUTH")
                return ProbeResult(True, f"EHLO answered by {said}; logged in")
            return ProbeResult(True, f"EHLO answered by {said}")
        except smtplib.SMTPException as exc:
            return ProbeResult(False, f"{where}: {exc}")
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass

    return await in_thread(work, where, timeout)

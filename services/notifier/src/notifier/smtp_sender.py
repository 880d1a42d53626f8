"""Sending over SMTP with aiosmtplib; errors sorted into transient and permanent."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from helpdesk_common.consuming import TransientError

from .settings import NotifierSettings


class PermanentSendError(Exception):
    """The provider refused for good (SMTP 5xx, invalid recipient): a failed delivery."""


class SmtpSender:
    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> str:
        """Send; returns the server's answer. Raises TransientError or PermanentSendError."""
        s = self._settings
        try:
            _, answer = await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if all(400 <= c < 500 for c in codes):
                raise TransientError(f"SMTP recipients deferred: {detail}") from exc
            raise PermanentSendError(f"SMTP recipients refused: {detail}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise TransientError(f"SMTP {exc.code} {exc.message}") from exc
            raise PermanentSendError(f"SMTP {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}: {exc}") from exc
        return answer

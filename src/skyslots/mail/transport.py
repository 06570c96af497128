"""Where mail goes: an SMTP server (SKYSLOTS_SMTP_URL), or .eml files in the data folder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from skyslots.outbox.retry import DeliveryFailed

log = logging.getLogger(__name__)


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over; DeliveryFailed when it was not accepted."""


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    timeout: float

    @classmethod
    def from_url(cls, url: str, *, timeout: float) -> SmtpTransport:
        """smtp://user:pass@host:port, smtps://… (implicit TLS), ?starttls=true."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SKYSLOTS_SMTP_URL must look like smtp://user:pass@host:port")
        implicit = parts.scheme == "smtps"
        flag = parse_qs(parts.query).get("starttls", ["false"])[0].lower()
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=flag in ("1", "true", "yes"),
            timeout=timeout,
        )

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # A refused address will be refused again; the reply text may name it, so it is kept
            # out of the message stored with the row.
            codes = sorted({reply.code for reply in exc.recipients})
            permanent = all(code >= 500 for code in codes)
            raise DeliveryFailed(
                f"SMTP refused the recipient ({codes})", permanent=permanent
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP answered {exc.code}", permanent=exc.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP unreachable: {type(exc).__name__}") from None


@dataclass(frozen=True)
class EmlFolder:
    """The embedded default: each mail becomes a file, so `make run` shows what would be sent."""

    folder: Path

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").split("@")[0] + ".eml"
        path = self.folder / name
        path.write_bytes(bytes(message))
        log.info("mail written to %s (no SKYSLOTS_SMTP_URL set)", path)


def mail_transport(smtp_url: str | None, *, data_dir: Path, timeout: float) -> MailTransport:
    if smtp_url:
        return SmtpTransport.from_url(smtp_url, timeout=timeout)
    return EmlFolder(data_dir / "outbox-mail")

"""A real SMTP server (aiosmtpd) on a free port that keeps what it accepts, for mail tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers import free_port


@dataclass
class Sink:
    """Accepted messages; `refuse` makes the server answer 451 (try later) to every mail."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    stall_seconds: float = 0.0  # hold each mail this long before taking its recipient
    recipients_seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        with self.lock:
            self.recipients_seen += 1
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} mails arrived, {count} expected")


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    """A running SMTP server and its URL, for a test's settings."""
    with smtp_sink() as running:
        yield running


@contextmanager
def smtp_sink(**options: Any) -> Iterator[tuple[Sink, str]]:
    """A running SMTP server and its SKYSLOTS_SMTP_URL."""
    sink = Sink(**options)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()

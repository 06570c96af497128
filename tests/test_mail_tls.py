"""SKYSLOTS_SMTP_URL's TLS modes against a real SMTP server with a certificate from a test CA:
smtps:// (implicit TLS) and ?starttls=true, each with a login; an untrusted certificate is
refused, and no password crosses without TLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from skyslots.mail.transport import SmtpTransport
from skyslots.outbox.retry import DeliveryFailed
from tests.servers import free_port
from tests.smtp_sink import Sink

USER, PASSWORD = "mailer", "s3cret/pass@word"


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's default trust store is the test CA (as an operator's CA bundle would be)."""
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:  # fmt: skip
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.seen.append((login, password))
        # handled=False: aiosmtpd answers (535 on a failure) rather than leaving it to us.
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


@pytest.fixture
def implicit_tls(authority: trustme.CA) -> Iterator[tuple[Sink, Logins, int]]:
    sink, logins, port = Sink(), Logins(), free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, ssl_context=server_context(authority),
        authenticator=logins, auth_require_tls=False,  # the whole connection is TLS already
    )  # fmt: skip
    controller.start()
    try:
        yield sink, logins, port
    finally:
        controller.stop()


@pytest.fixture
def starttls(authority: trustme.CA) -> Iterator[tuple[Sink, Logins, int]]:
    sink, logins, port = Sink(), Logins(), free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, tls_context=server_context(authority),
        require_starttls=True, authenticator=logins, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        yield sink, logins, port
    finally:
        controller.stop()


def mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "SkySlots <skyslots@example.com>"
    message["To"] = "pilot@example.com"
    message["Subject"] = "Booked"
    message["Message-ID"] = "<booking.confirmed.1@example.com>"
    message.set_content("See you on frequency.")
    return message


def transport(url: str) -> SmtpTransport:
    return SmtpTransport.from_url(url, timeout=10)


QUOTED = "s3cret%2Fpass%40word"  # the password, percent-encoded as a URL needs it


@pytest.mark.usefixtures("trusted")
async def test_smtps_sends_over_implicit_tls_with_a_login(
    implicit_tls: tuple[Sink, Logins, int],
) -> None:
    sink, logins, port = implicit_tls
    await transport(f"smtps://{USER}:{QUOTED}@127.0.0.1:{port}").send(mail())
    assert [m["Subject"] for m in sink.messages] == ["Booked"]
    assert logins.seen == [(USER, PASSWORD)]


@pytest.mark.usefixtures("trusted")
async def test_starttls_upgrades_before_the_login(starttls: tuple[Sink, Logins, int]) -> None:
    sink, logins, port = starttls
    await transport(f"smtp://{USER}:{QUOTED}@127.0.0.1:{port}?starttls=true").send(mail())
    assert [m["Subject"] for m in sink.messages] == ["Booked"]
    assert logins.seen == [(USER, PASSWORD)]


@pytest.mark.usefixtures("trusted")
async def test_a_wrong_password_is_refused_for_good(
    implicit_tls: tuple[Sink, Logins, int],
) -> None:
    sink, _, port = implicit_tls
    with pytest.raises(DeliveryFailed) as refused:
        await transport(f"smtps://{USER}:wrong@127.0.0.1:{port}").send(mail())
    assert refused.value.permanent and "535" in str(refused.value)
    assert sink.messages == []


async def test_an_untrusted_certificate_is_refused(
    implicit_tls: tuple[Sink, Logins, int],
) -> None:
    sink, logins, port = implicit_tls  # the test CA is not trusted here
    with pytest.raises(DeliveryFailed, match="SMTP unreachable"):
        await transport(f"smtps://{USER}:{QUOTED}@127.0.0.1:{port}").send(mail())
    assert sink.messages == [] and logins.seen == []


@pytest.mark.usefixtures("trusted")
async def test_without_starttls_a_server_that_requires_it_gets_no_password(
    starttls: tuple[Sink, Logins, int],
) -> None:
    sink, logins, port = starttls
    with pytest.raises(DeliveryFailed):
        await transport(f"smtp://{USER}:{QUOTED}@127.0.0.1:{port}").send(mail())
    assert sink.messages == [] and logins.seen == []

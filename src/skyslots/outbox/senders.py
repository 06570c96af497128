"""What delivers each kind of outbox row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.discord.sender import discord_sender
from skyslots.mail.bookings import booking_mail
from skyslots.mail.compose import Mail, compose
from skyslots.mail.transport import MailTransport, mail_transport
from skyslots.mail.waitlist import waitlist_mail
from skyslots.outbox.relay import Leased, Sender
from skyslots.webhooks.fanout import KIND as WEBHOOK_KIND
from skyslots.webhooks.sender import webhook_sender

DISCORD_KINDS = ("discord.summary", "discord.slot_free")
MailBuilder = Callable[..., Awaitable[Mail]]
MAILS: dict[str, MailBuilder] = {
    "booking.confirm": booking_mail,
    "booking.confirmed": booking_mail,
    "booking.released": booking_mail,
    "booking.reminder": booking_mail,
    "waitlist.offered": waitlist_mail,
    "waitlist.promoted": waitlist_mail,
}


def mail_sender(
    db: Database, settings: Settings, transport: MailTransport, build: MailBuilder
) -> Sender:
    """Compose the row's mail from the database as it is now, then hand it to `transport`."""

    async def send(leased: Leased) -> None:
        async def read(session: AsyncSession) -> Mail:
            return await build(session, leased, public_url=settings.public_url)

        mail = await db.read(read)
        message = compose(
            mail, to=leased.target, mail_from=settings.mail_from, dedupe_key=leased.dedupe_key
        )
        await transport.send(message)

    return send


def senders(db: Database, settings: Settings) -> dict[str, Sender]:
    transport = mail_transport(
        settings.smtp_url, data_dir=settings.data_dir, timeout=settings.smtp_timeout_seconds
    )
    mails = {kind: mail_sender(db, settings, transport, build) for kind, build in MAILS.items()}
    discord = discord_sender(db, settings)
    discords = {kind: discord for kind in DISCORD_KINDS}
    return mails | discords | {WEBHOOK_KIND: webhook_sender(db, settings)}

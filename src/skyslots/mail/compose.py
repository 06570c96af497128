"""Mails as people get them: plain text and HTML from templates, one recipient, a Message-ID
made from the outbox row's dedupe key (a copy sent twice after a crash is recognisably the same).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    """What a mail says: its template (templates/mail/<template>.txt and .html), subject, the
    values the templates use, and any attachments."""

    template: str
    subject: str
    context: dict[str, Any]
    attachments: tuple[Attachment, ...] = ()


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("skyslots", "templates/mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def message_id(dedupe_key: str, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "skyslots.invalid"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return f"<skyslots.{digest}@{domain}>"


def compose(mail: Mail, *, to: str, mail_from: str, dedupe_key: str) -> EmailMessage:
    env = _environment()
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = mail_from
    message["To"] = Address(addr_spec=to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(dedupe_key, mail_from)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(env.get_template(f"{mail.template}.txt").render(mail.context))
    message.add_alternative(
        env.get_template(f"{mail.template}.html").render(mail.context), subtype="html"
    )
    for attachment in mail.attachments:
        maintype, subtype = attachment.content_type.split("/")
        if maintype == "text":  # as text, so it travels as UTF-8 and arrives readable
            message.add_attachment(
                attachment.data.decode(), subtype=subtype, filename=attachment.filename
            )
        else:
            message.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
    return message

"""Logging: JSON lines on stderr through structlog.

The standard library's loggers (ours, uvicorn's, Celery's) go through the same processors as
structlog's own: every line carries the context bound with `structlog.contextvars` (the request
id, a task's name and id) and passes `redact`, which takes out secrets, tokens and emails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

# A key naming one of these (any case, anywhere in the name: `manage_token`, `X-Hold-Token`)
# never has its value logged.
SECRET_KEY_PARTS = ("password", "token", "secret", "authorization", "cookie", "email", "dsn")
REDACTED = "[redacted]"
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Values that are secrets wherever they appear in text.
SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;\"']+"), r"\1 " + REDACTED),
    (re.compile(r"\bsks_[A-Za-z0-9_-]+"), "sks_" + REDACTED),  # personal API tokens
    # A query string's or form's token=…, password=…, secret=…, key=…
    (
        re.compile(r"(?i)(?<!\w)((?:\w*_)?(?:token|password|secret|key)|code|state)=[^&\s\"']+"),
        r"\1=" + REDACTED,
    ),
    (re.compile(r"(://[^:/@\s]*):[^@/\s]+@"), r"\1:" + REDACTED + "@"),  # URL credentials
)
# Loggers whose level SKYSLOTS_LOG_LEVEL sets; every other library logs warnings and errors only
# (the root's level), so a DEBUG run never prints, say, SQL parameters or request URLs.
OWN_LOGGERS = ("skyslots", "uvicorn", "celery")
_HANDLER_NAME = "skyslots-json"


def scrub_text(text: str) -> str:
    """`text` without emails and the secrets recognisable by their shape."""
    text = EMAIL.sub("[email]", text)
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def is_secret_key(key: object) -> bool:
    name = str(key).lower()
    return any(part in name for part in SECRET_KEY_PARTS)


def scrub(value: Any, *, depth: int = 0) -> Any:
    """A copy of `value` with secret keys' values redacted and every string scrubbed."""
    if depth > 12:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_secret_key(k) and v not in (None, "") else scrub(v, depth=depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v, depth=depth + 1) for v in value]
    return value


def redact(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no secret, token or email leaves in a log line."""
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        if is_secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str | Mapping | list | tuple):
            event_dict[key] = scrub(value)
    return event_dict


FIRST_KEYS = ("time", "level", "logger", "message")
DROPPED_KEYS = ("color_message",)  # uvicorn's copy of the message with terminal colours


def _tidy(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Time, level, logger and message first, then the rest; no terminal colour codes."""
    for key in DROPPED_KEYS:
        event_dict.pop(key, None)
    first = {k: event_dict.pop(k) for k in FIRST_KEYS if k in event_dict}
    return {**first, **event_dict}


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the stderr handler: one JSON object per line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.EventRenamer("message"),
            _tidy,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def configure_logging(level: str) -> None:
    """JSON lines on stderr for every logger; `level` for SkySlots', uvicorn's and Celery's."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME or _is_default_stream_handler(handler):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(json_formatter())
    root.addHandler(handler)
    for name in OWN_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level.upper())
        for own in list(logger.handlers):  # a library's own handler would print a second line
            if isinstance(own, logging.StreamHandler) and not isinstance(own, logging.FileHandler):
                logger.removeHandler(own)
        logger.propagate = True


def _is_default_stream_handler(handler: logging.Handler) -> bool:
    """A plain stderr handler (logging.basicConfig's) that would print the same record again."""
    return type(handler) is logging.StreamHandler and not isinstance(
        handler.formatter, structlog.stdlib.ProcessorFormatter
    )


def bind(**values: Any) -> MutableMapping[str, Any]:
    """Bind values to every line logged from this context on (a task's name and id)."""
    return structlog.contextvars.bind_contextvars(**values)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)

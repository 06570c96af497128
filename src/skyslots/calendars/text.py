"""An event description (Markdown) as the plain text a calendar's DESCRIPTION holds."""

from __future__ import annotations

import html
import re

import nh3

from skyslots.web.markdown import _parser

_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL)
_BLOCK_END = re.compile(r"</(p|h[1-6]|blockquote|pre|tr|table)>|<br\s*/?>|<hr\s*/?>")
_BLANK_LINES = re.compile(r"\n{3,}")


def markdown_text(markdown: str) -> str:
    """The text of `markdown` without markup; a link becomes `text (url)`."""
    rendered = _parser().render(markdown or "")
    rendered = _LINK.sub(
        lambda m: m.group(2) if m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})",
        rendered,
    )
    rendered = rendered.replace("<li>", "<li>- ")
    rendered = _BLOCK_END.sub(lambda m: m.group(0) + "\n", rendered)
    plain = html.unescape(nh3.clean(rendered, tags=set()))
    lines = [line.rstrip() for line in plain.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()

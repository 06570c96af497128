"""Event descriptions: Markdown rendered by markdown-it-py, then sanitized by nh3."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "js-default" is CommonMark with raw HTML off; nh3 below is the real guard.
    return MarkdownIt("js-default", {"linkify": False, "typographer": True}).enable("table")


def render_markdown(text: str) -> Markup:
    """Safe HTML for an organizer's Markdown: no scripts, no event handlers, no javascript: URLs."""
    html = _parser().render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
    )
    return Markup(clean)  # sanitized by nh3 just above

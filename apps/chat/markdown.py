"""Answers' Markdown as HTML for the chat pages: rendered on the server, then sanitized.

Two layers, because a model's answer is attacker-controlled text (a prompt injection in a file can make the
model write anything):
1. markdown-it-py with raw HTML off: ``<script>`` or ``<iframe>`` typed in the answer comes out as escaped text,
   and its link validator refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` targets.
2. nh3 (ammonia) keeps only the tags and attributes Markdown produces, only http(s)/mailto links, and gives every
   link ``rel="noopener noreferrer nofollow"``. This is the layer that holds if layer 1 ever lets something by.

Images are not kept: an answer could otherwise make the browser fetch an attacker's URL carrying conversation
data in its query string (the CSP would refuse it too, but a refused request is still noise in the console).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def _image_as_text(self, tokens, idx, options, env) -> str:
    # An image becomes its alt text: no request to a URL the answer chose (see the module docstring).
    return escapeHtml(tokens[idx].content)


_md.add_render_rule("image", _image_as_text)

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def sanitize_html(html: str) -> str:
    """Keep only the markup an answer may carry (see the module docstring)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        # The text of <script>/<style> is dropped with the tag (not kept as visible text).
        clean_content_tags={"script", "style"},
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """The sanitized HTML of an answer's Markdown (code blocks, lists, tables, links)."""
    if not text:
        return ""
    return sanitize_html(_md.render(text))

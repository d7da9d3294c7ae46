"""Rebuilds untrusted HTML from an allow-list: nothing of it can run, load or link anywhere.

Great Expectations' Data Docs put values from the input into the page without escaping and pull their styles and
scripts from CDNs. Rather than patching what is dangerous, the page is parsed and written out again with only
plain structural tags and a few harmless attributes; every text and attribute value is escaped on the way out, so
the browser only ever parses what we wrote. A Content-Security-Policy forbidding scripts and every fetch is added
as a second line of defence.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Structural and text tags kept (without their attributes, except the ones below).
ALLOWED_TAGS = frozenset(
    "a abbr article b blockquote br caption code dd div dl dt em h1 h2 h3 h4 h5 h6 header hr i li main "
    "nav ol p pre section small span strong sub sup table tbody td tfoot th thead tr ul".split()
)
# Dropped together with everything inside them.
DROPPED_WITH_CONTENT = frozenset(
    "script style noscript template iframe frame frameset object embed applet svg math form textarea select "
    "button canvas audio video picture title head footer".split()
)
VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
ALLOWED_ATTRIBUTES = frozenset({"class", "id", "colspan", "rowspan"})
# Only same-folder pages and in-page anchors: no scheme, no host, no parent folder.
_LOCAL_LINK = re.compile(r"(#[A-Za-z0-9_.:-]*|[A-Za-z0-9_.-]+\.html(#[A-Za-z0-9_.:-]*)?)")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"


class _Rebuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []  # open dropped-with-content elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag in DROPPED_WITH_CONTENT and tag not in VOID_TAGS:
                self.skipping.append(tag)
            return
        if tag in DROPPED_WITH_CONTENT and tag not in VOID_TAGS:
            self.skipping.append(tag)
            return
        if tag not in ALLOWED_TAGS:
            return  # the tag goes, its text stays
        kept = []
        for name, value in attrs:
            name = name.lower()
            if name in ALLOWED_ATTRIBUTES and value is not None:
                kept.append(f' {name}="{html.escape(value, quote=True)}"')
            elif tag == "a" and name == "href" and value and _LOCAL_LINK.fullmatch(value.strip()):
                kept.append(f' href="{html.escape(value.strip(), quote=True)}"')
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            if not self.skipping and tag in ALLOWED_TAGS:
                self.out.append(f"<{tag}>")
            return
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in ALLOWED_TAGS and tag not in VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))

    # Comments, declarations and processing instructions are dropped (the default handlers do nothing).


def sanitize_body(untrusted: str) -> str:
    """The allowed structure and the text of `untrusted` (its body, or the whole fragment), escaped."""
    parser = _Rebuilder()
    parser.feed(untrusted)
    parser.close()
    return "".join(parser.out)


def safe_page(title: str, body_html: str, styles: str = "") -> str:
    """A complete page around already-safe body HTML: charset, the CSP, inline styles only."""
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{html.escape(title)}</title><style>{styles}</style></head>\n"
        f"<body>{body_html}</body></html>\n"
    )

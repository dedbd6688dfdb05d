"""The small markup a terms of service version is written in, and its HTML.

A version's `text` is the document customers accept, word for word, so it is
stored as plain text in a markup small enough to read in Admin and safe to
render (everything is escaped; only the constructs below become HTML):

    Opening paragraph. {.lead}

    ## 1. Your account {#account}

    A paragraph, with a [link](/pricing) and **strong words**.

    - a list item
    - another

Blocks are separated by blank lines. `## title {#id}` opens a section (the
table of contents is built from them); a paragraph may end in `{.lead}` or
`{.trial}`; links go to our own pages (`/...`), `https://` or `mailto:`.
"""

import html
import re

from django.utils.safestring import SafeString, mark_safe

CLASSES = ("lead", "trial")
_HEADING = re.compile(r"^##\s+(?P<title>.+?)(?:\s+\{#(?P<id>[a-z0-9-]+)\})?\s*$")
_CLASS = re.compile(r"\s*\{\.(?P<cls>[a-z-]+)\}\s*$")
_LINK = re.compile(r"\[(?P<label>[^\]\n]+)\]\((?P<href>[^)\s]+)\)")
_STRONG = re.compile(r"\*\*(?P<words>[^*\n]+)\*\*")
_SAFE_HREF = re.compile(r"^(?:/[^\s]*|https://[^\s]+|mailto:[^\s@]+@[^\s@]+)$")
_NUMBERED = re.compile(r"^\d+\.\s+")

# Below this length, or without sections, a "version" is a stub, not terms.
MIN_LENGTH = 1000
MIN_SECTIONS = 3
_STUB_WORDS = re.compile(r"demo terms|lorem ipsum|draft of the next terms", re.I)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _NUMBERED.sub("", title).lower()).strip("-") or "section"


def _inline(text: str) -> str:
    """Escape `text`, then turn its links and strong words into HTML."""
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(_strong(text[last : match.start()]))
        href = match["href"]
        label = _strong(match["label"])
        if _SAFE_HREF.match(href):
            out.append(f'<a href="{html.escape(href)}">{label}</a>')
        else:  # not a link we render: its words only
            out.append(label)
        last = match.end()
    out.append(_strong(text[last:]))
    return "".join(out)


def _strong(text: str) -> str:
    escaped = html.escape(text, quote=True)
    return _STRONG.sub(lambda m: f"<strong>{m['words']}</strong>", escaped)


def _blocks(text: str) -> list[str]:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    return [block.strip("\n") for block in re.split(r"\n\s*\n", normalised) if block.strip()]


def sections(text: str) -> list[tuple[str, str]]:
    """(id, title) of every section, in order."""
    found = []
    for block in _blocks(text):
        match = _HEADING.match(block.strip())
        if match and "\n" not in block.strip():
            found.append((match["id"] or _slug(match["title"]), match["title"]))
    return found


def _block_html(block: str) -> str:
    lines = [line.strip() for line in block.split("\n")]
    if all(line.startswith("- ") for line in lines):
        items = "\n".join(f"<li>{_inline(line[2:].strip())}</li>" for line in lines)
        return f"<ul>{items}</ul>"
    words = " ".join(lines)
    cls = _CLASS.search(words)
    attrs = ""
    if cls and cls["cls"] in CLASSES:
        words = words[: cls.start()]
        attrs = f' class="{cls["cls"]}"'
    return f"<p{attrs}>{_inline(words)}</p>"


def render(text: str) -> SafeString:
    """The document as HTML: its opening paragraphs, a table of contents, and
    each section with its heading and anchor (the /terms page's design)."""
    intro: list[str] = []
    body: list[str] = []
    open_section = False
    for block in _blocks(text):
        heading = _HEADING.match(block.strip()) if "\n" not in block.strip() else None
        if heading:
            anchor = heading["id"] or _slug(heading["title"])
            if open_section:
                body.append("</section>")
            body.append(
                f'<section id="{anchor}" aria-labelledby="{anchor}-heading">'
                f'<h2 id="{anchor}-heading">{html.escape(heading["title"])}</h2>'
            )
            open_section = True
        else:
            (body if open_section else intro).append(_block_html(block))
    if open_section:
        body.append("</section>")
    toc = ""
    found = sections(text)
    if len(found) > 1:
        entries = "".join(
            f'<li><a href="#{anchor}">{html.escape(_NUMBERED.sub("", title))}</a></li>' for anchor, title in found
        )
        toc = (
            f'<nav class="toc" aria-labelledby="toc-heading"><h2 id="toc-heading">Contents</h2><ol>{entries}</ol></nav>'
        )
    # Every piece of the text went through html.escape above.
    return mark_safe("\n".join([*intro, toc, *body]))  # noqa: S308


def problems(text: str) -> list[str]:
    """Why `text` cannot be published as the terms (an empty list: it can)."""
    found = []
    stripped = (text or "").strip()
    if not stripped:
        return ["the text is empty"]
    if _STUB_WORDS.search(stripped):
        found.append("the text reads like a demo or draft stub")
    if len(stripped) < MIN_LENGTH:
        found.append(f"the text has {len(stripped)} characters: too short to be the full terms (at least {MIN_LENGTH})")
    count = len(sections(stripped))
    if count < MIN_SECTIONS:
        found.append(f"the text has {count} section(s) (“## title” lines): the full terms have at least {MIN_SECTIONS}")
    for match in _LINK.finditer(stripped):
        if not _SAFE_HREF.match(match["href"]):
            found.append(f"the link {match['href']!r} is not one of our pages, an https:// address or a mailto:")
    ids = [anchor for anchor, _ in sections(stripped)]
    if len(ids) != len(set(ids)):
        found.append("two sections have the same anchor ({#id})")
    return found

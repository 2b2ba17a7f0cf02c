"""The report's blocks (paragraph, bullets, table, figure) and their two renderings: one self-contained HTML
file and Markdown beside the PNGs.

Pure functions of the blocks, so the same sections give both files. The HTML embeds every figure as a data URI
and inline CSS, with no scripts and no external links: it must open from an e-mail attachment or a Kaggle
kernel's output with no network. Text is escaped first; only **bold**, *italic* and `code` are rendered. Text the
report did not write (run, file, class and competition names, Kaggle's answers) goes through ``literal`` first, so it
shows as written in both files.
"""
from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from typing import Sequence

from kaggle_kit.mplconfig import ensure_writable_folder

ensure_writable_folder()  # before matplotlib's first import, which reads MPLCONFIGDIR (see mplconfig)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kaggle_kit.text import spelled_out


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Fig:
    name: str          # file stem of the PNG in the output folder
    png: bytes
    caption: str


@dataclass
class Details:
    """Blocks folded under a one-line summary: evidence and glossaries a reader opens on demand, so the answer
    comes first. HTML: a ``<details>`` element (opens on click, no script); Markdown: the summary in bold, then the
    blocks."""
    summary: str
    blocks: list


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list = field(default_factory=list)   # str (a paragraph), Table, Fig, Details, or list[str] (bullets)


def figures(blocks: Sequence) -> list[Fig]:
    """Every figure among ``blocks``, folded ones included: each is written beside ``gap.md`` as a PNG."""
    out = []
    for b in blocks:
        out += [b] if isinstance(b, Fig) else figures(b.blocks) if isinstance(b, Details) else []
    return out


def figure_png(fig: Figure) -> bytes:
    """PNG bytes through an Agg canvas: no pyplot state, safe in threads and headless kernels."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45;overflow-wrap:break-word}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left}th{background:#f0f0f0}tr:nth-child(even){background:#fafafa}
figure{margin:1em 0}figcaption{font-size:13px;color:#555}img{max-width:100%}
nav a{margin-right:1em}.meta{color:#666;font-size:13px}
details{margin:1em 0;padding:0 1em;border-left:3px solid #ddd}summary{cursor:pointer;color:#345;margin:.5em 0}
.table{overflow-x:auto}
"""


# CommonMark's backslash escapes: a backslash before ASCII punctuation shows that character as written
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_HELD = re.compile("\x00([0-9]+)\x00")


def _inline(text: str) -> str:
    """Escape, then render **bold**, *italic* and `code` (the only Markdown the sections use); a backslash-escaped
    character (``literal``'s) is held out of that and shown as itself, as a Markdown viewer shows it."""
    held: list[str] = []

    def hold(m: re.Match) -> str:
        held.append(m.group(1))
        return f"\x00{len(held) - 1}\x00"

    out = html.escape(_ESCAPED.sub(hold, text.replace("\x00", "")))
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"\*(.+?)\*", r"<i>\1</i>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return _HELD.sub(lambda m: html.escape(held[int(m.group(1))]), out)


# Characters that start inline Markdown anywhere (emphasis, code, links and images, raw HTML, entities, GFM
# strikethrough and table cells), and the backslash that escapes them
_MD_INLINE = re.compile(r"([\\`*_\[\]<>&~|])")
# What makes a line a heading, list item or quote when it starts one: a run name can start a paragraph or bullet
_MD_BLOCK_START = re.compile(r"^([#+=-]|[0-9]+(?=[.)]))")
_LINE_BREAKS = re.compile(r"\r\n|[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# Spaces that open a line indent it: four make a code block, one to three still let "# x" or "1. x" start a heading
# or a list. They become no-break spaces, which indent nothing in Markdown and which HTML does not collapse, after a
# zero-width non-joiner: "**" before a space, no-break or not, opens no bold in Markdown (it does in gap.html)
_LEADING_SPACES = re.compile("^ +")


def literal(text: object) -> str:
    """Text the report did not write, made to show exactly as written in gap.md and gap.html: on one line,
    invisible characters spelled out (``\\x1b``), and every character that would start Markdown backslash-escaped,
    so a Kaggle file name like ``**a**`` or ``![x](http://...)`` is neither bold nor a link or a remote image, and
    leading spaces (a tab is one) made no-break spaces, so a name that starts with four is no code block."""
    text = spelled_out(_LINE_BREAKS.sub(" ", str(text)))
    text = _LEADING_SPACES.sub(lambda m: "\u200c" + "\u00a0" * len(m.group()), text)
    text = _MD_INLINE.sub(r"\\\1", text)
    # "1." starts a list: its digits are no punctuation to escape, the dot after them is
    return _MD_BLOCK_START.sub(lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), text)


# A table column is as wide as its longest unbreakable word, and ``overflow-wrap`` (the CSS) does not narrow it: a
# 300-character file name or Kaggle description widened the scoreboard past the page. A cell's word longer than this
# gets a break opportunity (<wbr>) every this many characters, so only such words wrap, and only where the table
# would not fit; numbers and ordinary words do not break
WBR_EVERY_CHARS = 20
_WORD = re.compile(r"(?:<[^<>\s]*>|&#?[0-9A-Za-z]+;|[^\s<&])+")   # of _inline's output: its tags hold no space
_PIECE = re.compile(r"<[^<>\s]*>|&#?[0-9A-Za-z]+;|.", re.S)       # a tag, an escaped character, or a character


def _breakable(cell: str) -> str:
    """``_inline``'s HTML with a <wbr> after every ``WBR_EVERY_CHARS`` shown characters of a word (tags and
    escapes kept whole)."""
    def split(m: re.Match) -> str:
        if len(m.group()) <= WBR_EVERY_CHARS:  # no longer shown than written
            return m.group()
        out, shown = [], 0
        for piece in _PIECE.findall(m.group()):
            if not piece.startswith("<"):
                if shown and shown % WBR_EVERY_CHARS == 0:
                    out.append("<wbr>")
                shown += 1
            out.append(piece)
        return "".join(out)
    return _WORD.sub(split, cell)


def _html_block(b) -> str:
    if isinstance(b, str):
        return f"<p>{_inline(b)}</p>"
    if isinstance(b, list):
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b) + "</ul>"
    if isinstance(b, Table):
        head = "".join(f"<th>{_breakable(_inline(h))}</th>" for h in b.headers)
        body = "".join("<tr>" + "".join(f"<td>{_breakable(_inline(c))}</td>" for c in r) + "</tr>" for r in b.rows)
        # in a box of its own that scrolls sideways: on a phone the 13-column scoreboard would widen the whole page
        return f"<div class='table'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    if isinstance(b, Fig):
        data = base64.b64encode(b.png).decode("ascii")
        return (f"<figure id='fig-{b.name}'><img alt='{html.escape(b.name)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{_inline(b.caption)}</figcaption></figure>")
    if isinstance(b, Details):
        inner = "\n".join(_html_block(x) for x in b.blocks)
        return f"<details><summary>{_inline(b.summary)}</summary>\n{inner}\n</details>"
    raise TypeError(f"not a report block: {type(b).__name__}")


def render_html(title: str, meta: str, sections: Sequence[Section]) -> str:
    # the viewport line: a phone lays the page out at its own width instead of shrinking a desktop-wide page
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><p class='meta'>{_inline(meta)}</p><nav>"]
    parts += [f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in sections]
    parts.append("</nav>")
    for s in sections:
        parts.append(f"<section id='{s.anchor}'><h2>{html.escape(s.title)}</h2>")
        parts += [_html_block(b) for b in s.blocks]
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


_TAG_OPEN = re.compile(r"(\\*)<(?=[A-Za-z/!?])")
_TICKS_OR_ESCAPE = re.compile(r"\\.|`+", re.S)


def _code_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each code span as CommonMark finds it: a backtick run that no backslash escapes, closed by
    the next run of the same length. A ``\\``` opens none, so it must not hide a ``<`` from ``_md_text``."""
    spans, pos = [], 0
    while (m := _TICKS_OR_ESCAPE.search(text, pos)) is not None:
        pos = m.end()
        if m.group().startswith("`"):
            close = re.compile(rf"(?<!`){m.group()}(?!`)").search(text, pos)
            if close is not None:
                spans.append((m.start(), close.end()))
                pos = close.end()
    return spans


def _md_text(text: str) -> str:
    """Backslash-escape each ``<`` that could open raw HTML or an autolink, outside code spans: a run, file or
    class name such as ``<img src=x onerror=...>`` must show as text in gap.md, as it does in gap.html (Markdown
    passes raw HTML through). A ``<`` before a space, digit or ``=`` ("drop < 5") stays as written."""
    out, pos = [], 0
    for start, end in _code_spans(text):
        out += [_escape_tags(text[pos:start]), text[start:end]]
        pos = end
    return "".join([*out, _escape_tags(text[pos:])])


def _escape_tags(text: str) -> str:
    """Each tag-opening ``<`` escaped once: one after an odd run of backslashes already is ("\\<"), while one
    after an even run ("\\\\<": an escaped backslash) is live."""
    return _TAG_OPEN.sub(lambda m: m.group(1) + ("<" if len(m.group(1)) % 2 else "\\<"), text)


def _cell(x: str) -> str:
    """One table cell on one line: a line break of any kind (``\\r`` too) would end the row mid-cell."""
    return re.sub(r"\r\n|\r|\n", " ", _md_text(x).replace("|", "\\|"))


def _markdown_block(b) -> list[str]:
    if isinstance(b, str):
        return [_md_text(b), ""]
    if isinstance(b, list):
        return [f"- {_md_text(i)}" for i in b] + [""]
    if isinstance(b, Table):
        return ["| " + " | ".join(_cell(h) for h in b.headers) + " |", "|" + "---|" * len(b.headers),
                *("| " + " | ".join(_cell(c) for c in r) + " |" for r in b.rows), ""]
    if isinstance(b, Fig):
        return [f"![{_md_text(b.caption)}]({b.name}.png)", "", f"*{_md_text(b.caption)}*", ""]
    if isinstance(b, Details):
        return [f"**{_md_text(b.summary)}**", "", *(line for x in b.blocks for line in _markdown_block(x))]
    raise TypeError(f"not a report block: {type(b).__name__}")


def render_markdown(title: str, meta: str, sections: Sequence[Section]) -> str:
    lines = [f"# {_md_text(title)}", "", _md_text(meta), ""]
    for s in sections:
        lines += [f"## {_md_text(s.title)}", ""]
        for b in s.blocks:
            lines += _markdown_block(b)
    return "\n".join(lines)

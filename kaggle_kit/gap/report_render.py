"""The report's blocks (paragraph, bullets, table, figure) and their two renderings: one self-contained HTML
file and Markdown beside the PNGs.

Pure functions of the blocks, so the same sections give both files. The HTML embeds every figure as a data URI
and inline CSS, with no scripts and no external links: it must open from an e-mail attachment or a Kaggle
kernel's output with no network. Text is escaped first; only **bold**, *italic* and `code` are rendered.
"""
from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


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
class Section:
    anchor: str
    title: str
    blocks: list = field(default_factory=list)   # str (a paragraph), Table, Fig, or list[str] (bullets)


def figure_png(fig: Figure) -> bytes:
    """PNG bytes through an Agg canvas: no pyplot state, safe in threads and headless kernels."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left}th{background:#f0f0f0}tr:nth-child(even){background:#fafafa}
figure{margin:1em 0}figcaption{font-size:13px;color:#555}img{max-width:100%}
nav a{margin-right:1em}.meta{color:#666;font-size:13px}
"""


def _inline(text: str) -> str:
    """Escape, then render **bold**, *italic* and `code` (the only Markdown the sections use)."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"\*(.+?)\*", r"<i>\1</i>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def render_html(title: str, meta: str, sections: Sequence[Section]) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><p class='meta'>{_inline(meta)}</p><nav>"]
    parts += [f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in sections]
    parts.append("</nav>")
    for s in sections:
        parts.append(f"<section id='{s.anchor}'><h2>{html.escape(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, str):
                parts.append(f"<p>{_inline(b)}</p>")
            elif isinstance(b, list):
                parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b) + "</ul>")
            elif isinstance(b, Table):
                head = "".join(f"<th>{_inline(h)}</th>" for h in b.headers)
                body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b.rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif isinstance(b, Fig):
                data = base64.b64encode(b.png).decode("ascii")
                parts.append(f"<figure id='fig-{b.name}'><img alt='{html.escape(b.name)}' "
                             f"src='data:image/png;base64,{data}'><figcaption>{_inline(b.caption)}</figcaption>"
                             f"</figure>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def render_markdown(title: str, meta: str, sections: Sequence[Section]) -> str:
    def cell(x: str) -> str:
        return x.replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", "", meta, ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, str):
                lines += [b, ""]
            elif isinstance(b, list):
                lines += [f"- {i}" for i in b] + [""]
            elif isinstance(b, Table):
                lines.append("| " + " | ".join(cell(h) for h in b.headers) + " |")
                lines.append("|" + "---|" * len(b.headers))
                lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in b.rows]
                lines.append("")
            elif isinstance(b, Fig):
                lines += [f"![{b.caption}]({b.name}.png)", "", f"*{b.caption}*", ""]
    return "\n".join(lines)

"""A tiny document model rendered to both Markdown and one self-contained HTML file.

The report is assembled once as a list of blocks; :func:`to_markdown` links images as
PNG files beside ``report.md`` and :func:`to_html` embeds them as base64 data URIs.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    align_right: set[int] = field(default_factory=set)  # column indices holding numbers


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Image:
    alt: str
    filename: str
    png: bytes
    caption: str = ""


@dataclass
class Code:
    text: str
    summary: str = ""  # HTML shows it collapsed under this title when given


Block = Heading | Paragraph | Table | Bullets | Image | Code


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or " "


def to_markdown(blocks: list[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown; images are relative links to their PNG files."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            out.append(
                "|" + "|".join("---:" if i in block.align_right else "---" for i in range(len(block.headers))) + "|"
            )
            out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
        elif isinstance(block, Bullets):
            out.extend(f"- {item}" for item in block.items)
        elif isinstance(block, Image):
            out.append(f"![{block.alt}]({block.filename})")
            if block.caption:
                out.append(f"\n*{block.caption}*")
        elif isinstance(block, Code):
            if block.summary:
                out.append(f"**{block.summary}**\n")
            out.append("```\n" + block.text.rstrip("\n") + "\n```")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


_CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #eee; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
code, pre { font-family: 'SFMono-Regular', Consolas, Menlo, monospace; font-size: .85em; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; border-radius: 4px; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
"""


def _html_text(text: str) -> str:
    """Escape text and turn `code` spans into <code> elements."""
    parts = html.escape(str(text)).split("`")
    joined = "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
    return joined.replace("  \n", "<br>\n")  # Markdown's hard line break


def to_html(blocks: list[Block], title: str) -> str:
    """Render blocks as one standalone HTML page; images are embedded as base64 PNG data URIs."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{_html_text(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{_html_text(block.text)}</p>")
        elif isinstance(block, Table):
            out.append("<table>")
            out.append("<tr>" + "".join(f"<th>{_html_text(h)}</th>" for h in block.headers) + "</tr>")
            for row in block.rows:
                cells = "".join(
                    f'<td class="num">{_html_text(c)}</td>' if i in block.align_right else f"<td>{_html_text(c)}</td>"
                    for i, c in enumerate(row)
                )
                out.append(f"<tr>{cells}</tr>")
            out.append("</table>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{_html_text(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.png).decode("ascii")
            caption = f"<figcaption>{_html_text(block.caption)}</figcaption>" if block.caption else ""
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.alt, quote=True)}" '
                f'data-file="{html.escape(block.filename, quote=True)}">{caption}</figure>'
            )
        elif isinstance(block, Code):
            pre = f"<pre>{html.escape(block.text)}</pre>"
            out.append(
                f"<details><summary>{_html_text(block.summary)}</summary>{pre}</details>" if block.summary else pre
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"

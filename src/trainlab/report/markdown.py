"""The little Markdown that trainlab's own ``summary.md`` and ``results.md`` files use, as safe HTML.

Hand-written (about 80 lines) rather than a new dependency: the files are ours and use only headings,
paragraphs, ``-`` and ``1.`` lists, pipe tables, ``**bold**``, ``*italic*`` and ```code```. Every character of
the input is HTML-escaped *before* any markup is added, so text from data (a class or group name
such as ``<script>``) can never become markup.
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

_INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<em>\1</em>"),
)
_NUMERIC = re.compile(r"^[-+−]?[\d,.]+(e[-+]?\d+)?\s*%?$|^n/a$", re.IGNORECASE)


def inline(text: str) -> str:
    out = escape(text, quote=True)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\s*\|?(\s*:?-{2,}:?\s*\|)*\s*:?-{2,}:?\s*\|?\s*", line))


def to_html(text: str, *, heading_offset: int = 2) -> Markup:
    """Markdown → HTML; ``#`` becomes ``<h{1 + heading_offset}>`` so it nests under the report's own headings."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    kind = ["ul"]

    def flush() -> None:
        if para:
            out.append("<p>" + " ".join(inline(p) for p in para) + "</p>")
            para.clear()
        if items:
            out.append(f"<{kind[0]}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{kind[0]}>")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
        elif m := re.match(r"^(#{1,6})\s+(.*)$", stripped):
            flush()
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif stripped.startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            flush()
            header = _cells(stripped)
            i += 2
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            numeric = [all(_NUMERIC.match(r[c]) for r in rows if c < len(r) and r[c]) and any(c < len(r) and r[c] for r in rows)
                       for c in range(len(header))]
            head = "".join(f'<th{" class=num" if numeric[c] else ""}>{inline(h)}</th>' for c, h in enumerate(header))
            body = "".join(
                "<tr>" + "".join(f'<td{" class=num" if c < len(numeric) and numeric[c] else ""}>{inline(v)}</td>'
                                 for c, v in enumerate(r)) + "</tr>" for r in rows)
            out.append(f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')
            continue
        elif m := re.match(r"^([-*]|\d+[.)])\s+(.*)$", stripped):
            ordered = "ol" if m.group(1)[0].isdigit() else "ul"
            if para or (items and kind[0] != ordered):
                flush()
            kind[0] = ordered
            items.append(m.group(2))
        elif items and line.startswith(("  ", "\t")):
            items[-1] += " " + stripped  # a wrapped list item
        else:
            if items:
                flush()
            para.append(stripped)
        i += 1
    flush()
    return Markup("\n".join(out))

"""Markdown pieces every generated document uses: tables and generated blocks."""

from __future__ import annotations

from collections.abc import Sequence


class GeneratedDocError(Exception):
    """A document cannot be generated; the message names the file."""


def cell(text: str) -> str:
    """One table cell: a `|` would end the cell and a line break the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table as lines: header, separator, one line per row (cells escaped)."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(cell(value) for value in row) + " |" for row in rows),
    ]


def replace_block(text: str, begin: str, end: str, body: str, where: str) -> str:
    """`text` with everything between the `begin` and `end` marker lines replaced by
    `body`; the markers stay. `where` names the file in errors."""
    start = text.find(begin)
    stop = text.find(end)
    if start < 0 or stop < 0 or stop < start:
        raise GeneratedDocError(f"{where}: needs the markers {begin!r} and {end!r} "
                                "(in that order) around the generated block")
    return f"{text[: start + len(begin)]}\n{body}{text[stop:]}"

"""Print a benchmark's result lines; with ``--doc`` also write them as a markdown bullet list."""
from __future__ import annotations

from pathlib import Path


def emit(lines: list[str], doc: str | None, command: str, heading: str | None = None) -> None:
    """Print ``lines``; when ``doc`` is given, write them under ``heading`` and the ``command`` that produced them."""
    print("\n".join(lines))
    if doc:
        title = f"# {heading}\n\n" if heading else ""
        Path(doc).write_text(f"{title}`{command}`\n\n" + "\n".join(f"- {line}" for line in lines) + "\n")

"""Writes one section of docs/benchmarks.md, replacing that section and keeping the others."""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nEvery number is measured next to its physical limit in the same run on the "
          "same machine (see each script's docstring). Regenerate with `make bench`.\n")


def write_section(name: str, rows: list[list[str]], description: str) -> None:
    text = DOC.read_text() if DOC.exists() else HEADER
    table = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    table += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    machine = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    section = (f"<!-- {name} -->\n## {name}\n\n{description.strip()}\n\nMeasured {time.strftime('%Y-%m-%d')} "
               f"on {machine}.\n\n" + "\n".join(table) + f"\n<!-- /{name} -->\n")
    pattern = re.compile(rf"<!-- {name} -->.*?<!-- /{name} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)

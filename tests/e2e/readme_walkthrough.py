"""Reads README.md's "Your first pipeline" section: the files it shows and the commands it runs, in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Your first pipeline"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Walkthrough:
    files: dict[str, str]
    """Relative path -> content, for every block whose info string says `file=<path>`."""
    commands: list[str]
    """Every line of every bash block, in page order."""


def walkthrough(readme: Path = README) -> Walkthrough:
    text = readme.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else None]
    files: dict[str, str] = {}
    commands: list[str] = []
    for match in FENCE.finditer(section):
        language, info, body = match.group(1), match.group(2), match.group(3)
        named = re.search(r"file=(\S+)", info)
        if named:
            files[named.group(1)] = body
        elif language == "bash":
            commands.extend(line.strip() for line in body.splitlines() if line.strip())
    return Walkthrough(files, commands)

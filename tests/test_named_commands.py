"""Every `ml-connector …` command a message, fix text, page or hint tells someone to run is a real command.

A fix text that names a command which does not exist (or no longer exists after a rename) is a dead end for the clerk
reading it; this walks each one named in the source through the CLI's own command tree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.core import _click

from mlconnector.cli import LAZY, app, load_command

Context = _click.core.Context

SRC = Path(__file__).resolve().parents[1] / "src" / "mlconnector"
# `ml-connector …` in backticks (messages, hints, pages), and fix texts that start with the command itself.
NAMED = re.compile(r"`ml-connector ([^`]*)`|fix=f?[\"']ml-connector ([^\"'{(]*)")


def named_commands() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted([*SRC.rglob("*.py"), *SRC.rglob("*.html")]):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in NAMED.finditer(line):
                text = (match.group(1) or match.group(2)).strip()
                if text:
                    found.setdefault(text, f"{path.relative_to(SRC)}:{number}")
    return found


NAMES = named_commands()


def test_the_scan_finds_the_fix_texts() -> None:
    """The scan itself works: the commands the exception texts name are among what it found."""
    for expected in ("exceptions retry", "sync now gl", "replay", "audit list", "credentials set cleo"):
        assert expected in NAMES, sorted(NAMES)
    assert any(name.startswith("map vendor") for name in NAMES)
    assert len(COMMANDS) >= 30


def resolve(words: list[str]) -> list[str]:
    """The command path `words` names in the CLI tree; raises if a word where a sub-command belongs is not one."""
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    tokens = iter(words)
    for word in tokens:
        if word == "--tenant":  # the global option and its value
            next(tokens, None)
            continue
        if not hasattr(command, "list_commands") or not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            break  # arguments, options or a placeholder (…, FILE, ID) follow
        # The root imports its commands lazily: load the real one, as running it would.
        sub = load_command(word) if not path and word in LAZY else command.get_command(Context(command), word)
        if sub is None:
            raise LookupError(f"`ml-connector {' '.join([*path, word])}`: no such command under {path or 'the root'}")
        command = sub
        path.append(word)
    return path


def names_a_command(text: str) -> bool:
    """`ml-connector sync now gl` does; `ml-connector --help` and `ml-connector …` (any command) do not."""
    words = text.split()
    while words and words[0] == "--tenant":
        words = words[2:]
    return bool(words) and not words[0].startswith("-") and words[0] != "…"


COMMANDS = sorted(text for text in NAMES if names_a_command(text))


@pytest.mark.parametrize("text", COMMANDS, ids=COMMANDS)
def test_a_named_command_exists(text: str) -> None:
    path = resolve(text.split())
    assert path, f"{NAMES[text]}: `ml-connector {text}` names no command"

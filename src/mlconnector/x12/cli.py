"""`ml-connector x12 …`: validate, acknowledge and show X12 files. Thin: parse, call the engine, print.

Whatever the bytes, the commands answer with a verdict or a clear message, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(
    name="x12",
    help="Validate, acknowledge (997, TA1) and inspect X12 files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _check_files(files: list[Path]) -> None:
    missing = [f for f in files if not f.is_file()]
    for f in missing:
        typer.echo(f"error: {f} is not a readable file", err=True)
    if missing:
        raise typer.Exit(2)


@app.command("validate")
def validate_command(
    files: list[Path] = typer.Argument(..., help="X12 files to check."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per file."),
    lenient: bool = typer.Option(False, "--lenient", help="Accept a non-fixed-width ISA with a warning."),
) -> None:
    """Check envelopes, structure, elements and syntax notes; exit 0 all valid, 1 any invalid, 2 usage error."""
    from mlconnector.x12.verdicts import validate_files  # each command imports only what it uses

    raise typer.Exit(validate_files(files, as_json=as_json, lenient=lenient))


@app.command("ack")
def ack_command(
    file: Path = typer.Argument(..., help="Inbound X12 file."),
    lenient: bool = typer.Option(False, "--lenient", help="Accept a non-fixed-width ISA with a warning."),
) -> None:
    """Print the 997 answering every group in FILE (997 groups themselves are not acknowledged), and a TA1 for an
    interchange with an envelope error or one that asks for it (ISA14 = 1)."""
    from mlconnector.x12.ack import functional_acks, interchange_acks

    _check_files([file])
    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    text = functional_acks(data, lenient=lenient) + interchange_acks(data, lenient=lenient)
    if not text:
        typer.echo(f"{file}: nothing to acknowledge (no functional group other than 997s)", err=True)
        raise typer.Exit(1)
    typer.echo(text, nl=not text.endswith("\n"))


@app.command("show")
def show_command(file: Path = typer.Argument(..., help="X12 file to print segment by segment.")) -> None:
    """Print every segment with the names of its elements."""
    from mlconnector.x12.reader import InterchangeStart, Junk, Note, tokens_from_stream
    from mlconnector.x12.schemas import base_version

    _check_files([file])
    version = "004010"
    element = "*"
    try:
        with file.open("rb") as stream:
            for number, token in enumerate(tokens_from_stream(stream), 1):
                if isinstance(token, InterchangeStart):
                    element = token.separators.element
                    _print_segment(number, token.elements, version)
                elif isinstance(token, Junk):
                    typer.echo(f"{number:>6}  ??? not X12: {token.text[:60]!r}")
                elif isinstance(token, Note):
                    typer.echo(f"{'':>6}  warning: {token.message}")
                else:
                    els = token.split(element)
                    if els[0] == "GS" and len(els) > 8:
                        version = base_version(els[8]) or "004010"
                    _print_segment(number, els, version)
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None


def _print_segment(number: int, els: list[str], version: str) -> None:
    from mlconnector.x12.schemas import element_name, segment_def

    tag = els[0]
    seg = segment_def(tag, version) if len(tag) <= 3 else None
    title = seg.name if seg and seg.name != tag else ("" if seg else "(unknown segment)")
    typer.echo(f"{number:>6}  {tag:<3}  {title}".rstrip())
    for position, value in enumerate(els[1:], 1):
        if value:
            name = element_name(tag, position, version) or "(beyond the segment's elements)"
            typer.echo(f"{'':>8}{tag}{position:02d}  {name}: {value}")


def main() -> None:
    """`python -m mlconnector.x12 …`: the x12 commands alone, without the connector's other imports."""
    app(args=sys.argv[1:], prog_name="ml-connector x12")

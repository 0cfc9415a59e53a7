"""The `ml-connector` console script.

`ml-connector x12 validate FILE…` (plain file names, no options) is answered by the validator alone, without
loading Typer, Click or pydantic: it is the command scripts run once per partner file, so its start-up is what the
user waits for. Everything else, including `x12 validate --json`, goes through the Typer app in `mlconnector.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if len(args) > 2 and args[:2] == ["x12", "validate"] and not any(a.startswith("-") for a in args[2:]):
        from pathlib import Path

        from mlconnector.x12.verdicts import validate_files

        try:
            code = validate_files([Path(a) for a in args[2:]])
        except KeyboardInterrupt:
            code = 130
        sys.exit(code)
    from mlconnector.cli import main as typer_main

    typer_main()

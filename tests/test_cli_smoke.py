"""The console script starts and answers without a traceback."""

from typer.testing import CliRunner

from mlconnector import __version__
from mlconnector.cli import app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == __version__

"""`ml-connector x12 validate | ack | show`: exit codes, output shapes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.x12 import validate

from .conftest import SAMPLES

runner = CliRunner()
GOOD = str(SAMPLES / "850_4010_ee_ok.edi")
BAD = str(SAMPLES / "ERR_850_4010_ee_syntaxnotes.edi")
LOOSE = str(SAMPLES / "997_4010_sd_fa997.edi")


def test_validate_exit_codes_and_one_line_per_file() -> None:
    ok = runner.invoke(app, ["x12", "validate", GOOD])
    assert ok.exit_code == 0 and ok.stdout.count("\n") == 1 and "VALID (1 set: 850×1)" in ok.stdout
    mixed = runner.invoke(app, ["x12", "validate", GOOD, BAD])
    assert mixed.exit_code == 1
    lines = mixed.stdout.splitlines()
    assert len(lines) == 2 and "INVALID" in lines[1] and "PO106/PO107 must be paired" in lines[1]
    missing = runner.invoke(app, ["x12", "validate", GOOD, "/no/such/file.edi"])
    assert missing.exit_code == 2


def test_console_script_fast_path_prints_what_the_typer_command_prints() -> None:
    """`ml-connector x12 validate FILE…` skips Typer (and pydantic): same lines, same exit codes, lighter imports."""
    code = (
        "import sys\nfrom mlconnector.launch import main\n"
        "sys.argv = ['ml-connector', 'x12', 'validate', *sys.argv[1:]]\n"
        "try:\n    main()\nfinally:\n"
        "    print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    for files, exit_code in (([GOOD], 0), ([GOOD, BAD], 1), ([GOOD, "/no/such/file.edi"], 2)):
        fast = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True)
        typer_run = runner.invoke(app, ["x12", "validate", *files])
        assert fast.returncode == typer_run.exit_code == exit_code
        assert fast.stdout == typer_run.stdout
        loaded = set(fast.stderr.rsplit("MODULES", 1)[1].split())
        assert not [m for m in loaded if m.startswith(("typer", "click", "pydantic", "mlconnector.cli"))]
        assert "mlconnector.x12.verdicts" in loaded
    assert "error: /no/such/file.edi is not a readable file" in fast.stderr


def test_validate_lenient_accepts_a_non_fixed_width_isa() -> None:
    assert runner.invoke(app, ["x12", "validate", LOOSE]).exit_code == 1
    lenient = runner.invoke(app, ["x12", "validate", "--lenient", LOOSE])
    assert lenient.exit_code == 0 and "warning" in lenient.stdout


def test_validate_json_shape() -> None:
    result = runner.invoke(app, ["x12", "validate", "--json", GOOD, BAD])
    assert result.exit_code == 1
    [good, bad] = json.loads(result.stdout)
    assert set(good) == {"file", "valid", "interchanges", "errors", "warnings"}
    group = bad["interchanges"][0]["groups"][0]
    assert set(bad["interchanges"][0]) == {"control", "groups"}
    assert set(group) == {"functional_id", "control", "version", "sets"}
    [ts] = group["sets"]
    assert set(ts) == {"id", "control", "valid", "errors"} and ts["valid"] is False
    assert set(ts["errors"][0]) == {"segment", "position", "element", "code", "message"}
    assert ts["errors"][0]["code"] == "2" and ts["errors"][0]["element"] == 7


def test_ack_prints_a_valid_997() -> None:
    result = runner.invoke(app, ["x12", "ack", BAD])
    assert result.exit_code == 0
    report = validate(result.stdout)
    assert report.valid and report.interchanges[0].groups[0].functional_id == "FA"
    assert "AK3*PO1*13**8" in result.stdout and "AK5*R*5" in result.stdout
    only_997 = runner.invoke(app, ["x12", "ack", str(SAMPLES / "997_5010_sd_x230_partial_reject.edi")])
    assert only_997.exit_code == 1


def test_show_names_the_elements(tmp_path: Path) -> None:
    result = runner.invoke(app, ["x12", "show", GOOD])
    assert result.exit_code == 0
    assert "BEG03  Purchase Order Number: 08292233294" in result.stdout
    assert "PO106  Product/Service ID Qualifier: CB" in result.stdout
    junk = tmp_path / "junk.edi"
    junk.write_bytes(b"\x00\x01not x12 at all")
    shown = runner.invoke(app, ["x12", "show", str(junk)])
    assert shown.exit_code == 0 and "not X12" in shown.stdout
    assert runner.invoke(app, ["x12", "validate", str(junk)]).exit_code == 1


def test_isa16_equal_to_the_element_separator_is_invalid_and_answered_with_a_ta1(tmp_path: Path) -> None:
    text = (SAMPLES / "850_4010_ee_ok.edi").read_text()
    broken = tmp_path / "isa16.edi"
    broken.write_text(text[:104] + "*" + text[105:])
    checked = runner.invoke(app, ["x12", "validate", str(broken)])
    assert checked.exit_code == 1 and "INVALID" in checked.stdout and "ISA16" in checked.stdout
    answered = runner.invoke(app, ["x12", "ack", str(broken)])
    assert answered.exit_code == 0 and answered.exception is None
    assert "TA1*000003438*101127*1719*R*027" in answered.stdout and validate(answered.stdout).valid


def test_the_x12_commands_import_only_the_validator() -> None:
    """`x12 validate` needs the reader, schemas and validator; the mappers, writer and 997 code load on demand."""
    import subprocess
    import sys

    code = (
        "import sys, mlconnector.x12.cli\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('mlconnector.'))\n"
        "print(' '.join(loaded))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "mlconnector.x12.validate" in loaded
    unused = {"mlconnector.x12." + m for m in ("mapping", "writer", "ack", "inbound", "documents")}
    assert not [m for m in loaded if m in unused or m.rsplit(".", 1)[0] in unused]

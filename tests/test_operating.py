"""Operating the connector from the command line (issue 13): lazy start, one error line per mistake, exit codes,
--json, vendor mapping that fits a real vendor list, consistent names and ports."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlconnector import __version__
from mlconnector.cleo.sandbox import running_sandbox
from mlconnector.cleo.sandbox.partners import parse_partner_book
from mlconnector.cli import LAZY, app, load_command
from mlconnector.commands.errors import explain
from mlconnector.flows.matching import gl_problems
from mlconnector.ports import AGENT_PORT, CLEO_SANDBOX_PORT, HUB_PORT, HUB_RELAY_PORT

ROOT = Path(__file__).resolve().parents[1]
HEX_KEY = "ab" * 32


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin, env=env)


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    """The failure is reported as `error: …` (+ `hint: …`), exit code ≠ 0, and no traceback."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return result.output


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("MLC_MASTER_KEY", "MLC_CONFIG", "MLC_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    result = run("init", "--tenant", "t1", "--agent-fingerprint", "ab" * 32)
    assert result.exit_code == 0, result.output
    return tmp_path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------------ the command line


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import sys\nfrom mlconnector.cli import main\n"
        f"sys.argv = ['ml-connector', *{list(argv)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(done.stderr.rsplit("MODULES", 1)[1].split())


def test_help_and_x12_import_only_what_they_use() -> None:
    heavy = ("sqlalchemy", "httpx", "pydantic", "mlconnector.store", "mlconnector.flows", "dbos", "fastapi")
    loaded = _modules_after("--help")
    assert not [m for m in loaded if m.startswith(heavy)]
    loaded = _modules_after("x12", "--help")
    assert "mlconnector.x12.cli" in loaded
    assert not [m for m in loaded if m.startswith(("sqlalchemy", "mlconnector.store", "mlconnector.commands.admin"))]


@pytest.mark.parametrize("name", sorted(LAZY))
def test_the_lazy_table_says_what_the_command_says(name: str) -> None:
    real = load_command(name)
    assert (real.help or "").split("\n\n")[0].strip() == LAZY[name].help


def _every_command() -> list[list[str]]:
    paths: list[list[str]] = [[], ["demo"], ["version"]]

    def walk(command, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    for name in LAZY:
        walk(load_command(name), [name])
    return paths


def test_version_completion_and_help_without_type_noise() -> None:
    assert run("--version").output.strip() == f"ml-connector {__version__}"
    listing = run("--help").output
    assert "--install-completion" in listing
    paths = _every_command()
    assert len(paths) > 40 and ["credentials", "test"] in paths and ["map", "import"] in paths
    for path in paths:  # every command's help, sub-commands included
        shown = run(*path, "--help", env={"COLUMNS": "200"})
        assert shown.exit_code == 0 and "<bool>" not in shown.output, (path, shown.output)
    env = {**os.environ, "_ML_CONNECTOR_COMPLETE": "complete_bash", "COMP_WORDS": "ml-connector sy", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "mlconnector"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert "sync" in done.stdout.split()


# ------------------------------------------------------------------------------------------------ configuration


def test_no_configuration_is_one_line_and_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLC_CONFIG", raising=False)
    out = one_line_error(run("status"))
    assert "ml-connector.toml does not exist" in out and "ml-connector init" in out
    assert list(tmp_path.iterdir()) == []


def test_a_toml_syntax_error_names_the_file_and_line(tenant: Path) -> None:
    config = tenant / "ml-connector.toml"
    config.write_text(config.read_text().replace('tenant = "t1"', "tenant = t1"))
    out = one_line_error(run("exceptions", "list"))
    assert "ml-connector.toml: not valid TOML" in out and "line" in out


def test_a_wrong_value_names_the_section_key_and_value(tenant: Path) -> None:
    config = tenant / "ml-connector.toml"
    config.write_text(config.read_text().replace("inbound_seconds = 300", 'inbound_seconds = "soon"'))
    out = one_line_error(run("exceptions", "list"))
    assert "[schedule] inbound_seconds = 'soon'" in out and "inbound_seconds = 300" in out


def test_a_wrong_environment_variable_is_named(tenant: Path) -> None:
    out = one_line_error(run("exceptions", "list", env={"MLC_SCHEDULE__INBOUND_SECONDS": "7"}))
    assert "MLC_SCHEDULE__INBOUND_SECONDS=7" in out and "does not divide a minute" in out


def test_a_misspelt_key_is_refused_not_ignored(tenant: Path) -> None:
    config = tenant / "ml-connector.toml"
    good = config.read_text()
    config.write_text(good.replace("inbound_seconds = 300", "inbound_secnds = 300"))
    out = one_line_error(run("exceptions", "list"))
    assert "[schedule] inbound_secnds is not a setting" in out and "Did you mean inbound_seconds?" in out
    config.write_text(good)
    out = one_line_error(run("exceptions", "list", env={"MLC_SCHEDULE__INBOUND_SECNDS": "300"}))
    assert "MLC_SCHEDULE__INBOUND_SECNDS names no setting" in out and "inbound_seconds" in out
    assert run("exceptions", "list", env={"MLC_SCHEDULE__INBOUND_SECONDS": "300"}).exit_code == 0


def test_debug_shows_the_traceback(tenant: Path) -> None:
    config = tenant / "ml-connector.toml"
    config.write_text(config.read_text().replace("inbound_seconds = 300", 'inbound_seconds = "soon"'))
    result = run("--debug", "exceptions", "list")
    assert result.exit_code == 1 and "Traceback" in result.output
    os.environ.pop("MLC_DEBUG", None)


def test_init_again_refuses_new_values_without_force(tenant: Path) -> None:
    assert run("init", "--tenant", "t1").exit_code == 0  # the same values: nothing to do
    out = one_line_error(run("init", "--agent-url", "https://sage:8711"))
    assert "--force" in out and "https://sage:8711" in out
    assert run("init", "--agent-url", "https://sage:8711", "--force").exit_code == 0
    assert 'url = "https://sage:8711"' in (tenant / "ml-connector.toml").read_text()


# ------------------------------------------------------------------------------------------------ credentials


def test_piped_answers_are_stored_without_getpass(tenant: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLC_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-m", "mlconnector", "credentials", "set", "sage"],
        input="ml\nml-demo\nABC\n",
        capture_output=True,
        text=True,
        cwd=tenant,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "ml-demo" not in done.stdout + done.stderr
    assert "sage   stored" in run("credentials", "list").output


def test_stdin_errors_show_that_kinds_json(tenant: Path) -> None:
    out = one_line_error(run("credentials", "set", "cleo", "--stdin", stdin="not json"))
    assert '"username"' in out and '"company"' not in out
    out = one_line_error(run("credentials", "set", "sage", "--stdin", stdin="[]"))
    assert '"company"' in out


def test_the_agent_key_is_checked_when_set(tenant: Path) -> None:
    out = one_line_error(run("credentials", "set", "agent", "--stdin", stdin=json.dumps({"key": "zzzz"})))
    assert "agent-hmac.key" in out
    assert run("credentials", "set", "agent", "--stdin", stdin=json.dumps({"key": HEX_KEY})).exit_code == 0


# ------------------------------------------------------------------------------------------------ status


class CountingServer:
    """Accepts TCP connections and drops them at once: a host that is up but never answers HTTP."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def configured(tenant: Path) -> Path:
    for name, body in (
        ("sage", {"user": "ml", "password": "ml-demo", "company": "ABC"}),
        ("cleo", {"username": "demo", "password": "demo-password"}),
        ("agent", {"key": HEX_KEY}),
    ):
        assert run("credentials", "set", name, "--stdin", stdin=json.dumps(body)).exit_code == 0
    return tenant


def test_status_fails_fast_and_plainly_when_agent_and_cleo_are_down(configured: Path) -> None:
    agent, cleo = CountingServer(), CountingServer()
    env = {"MLC_AGENT__URL": f"https://127.0.0.1:{agent.port}", "MLC_CLEO__BASE_URL": f"http://127.0.0.1:{cleo.port}"}
    result = run("status", "--json", env=env)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and not data["checks"]["agent"]["ok"] and not data["checks"]["cleo"]["ok"]
    assert (agent.connections, cleo.connections) == (1, 1)  # one attempt each: no retries on a status check
    text = run("status", env=env).output
    assert "NOT USABLE" in text and not re.search(r"\b[A-Z][a-z]+(Error|Exception)\b", text)
    assert "last 850" not in text
    tested = run("credentials", "test", "--json", env=env)
    assert tested.exit_code == 1 and json.loads(tested.stdout)["ok"] is False


class SilentServers:
    """Accept TCP connections and never answer (a hung agent or Cleo), holding each until the client gives up;
    records how many were open at once across all of them."""

    def __init__(self, count: int) -> None:
        self.lock = threading.Lock()
        self.open = self.most_at_once = 0
        self.ports = []
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(4)
            self.ports.append(sock.getsockname()[1])
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        conn, _ = sock.accept()
        with self.lock:
            self.open += 1
            self.most_at_once = max(self.most_at_once, self.open)
        while conn.recv(4096):  # until the client closes (its read timeout)
            pass
        with self.lock:
            self.open -= 1
        conn.close()
        sock.close()


def test_status_asks_the_agent_and_cleo_at_once(configured: Path) -> None:
    """Both checks run in parallel: a hung agent does not make the Cleo check wait for its timeout."""
    silent = SilentServers(2)
    agent_port, cleo_port = silent.ports
    env = {"MLC_AGENT__URL": f"https://127.0.0.1:{agent_port}", "MLC_CLEO__BASE_URL": f"http://127.0.0.1:{cleo_port}"}
    result = run("status", "--json", env=env)
    assert result.exit_code == 1 and json.loads(result.stdout)["ok"] is False
    assert silent.most_at_once == 2


def test_lists_have_json(configured: Path) -> None:
    assert json.loads(run("exceptions", "list", "--json").stdout) == []
    audit = json.loads(run("audit", "list", "--json").stdout)
    assert isinstance(audit, list)
    assert json.loads(run("map", "list", "--json").stdout) == []


def test_network_failures_are_words_not_class_names() -> None:
    import httpx

    from mlconnector.sage.agent.client import AgentClient

    port = _closed_port()
    client = AgentClient(f"https://127.0.0.1:{port}", b"k" * 32, "00", "u", "p", "ABC", attempts=1)
    with client, pytest.raises(Exception) as caught:
        client.gl_accounts()
    problem = explain(caught.value)
    assert "ConnectError" not in problem.message and "refused" in problem.message
    assert explain(httpx.RemoteProtocolError("x")).message == (
        "Network: it closed the connection in the middle of an answer."
    )


def test_a_signature_mismatch_points_at_the_key() -> None:
    from mlconnector.sage.agent.client import AgentAuthError

    problem = explain(AgentAuthError("The agent refused the request signature: bad signature"))
    assert "agent-hmac.key" in (problem.hint or "") and "fingerprint" not in (problem.hint or "")


def test_the_gl_fix_says_to_refresh_the_chart_first() -> None:
    from mlconnector.sage.models import PurchaseOrderLine as SagePurchaseOrderLine

    line = SagePurchaseOrderLine.model_construct(line_key="000001", purchases_acct_key="K1")
    (problem,) = gl_problems("Invoice X", line, {}, set())
    assert "sync now gl" in problem.fix and "exceptions retry" in problem.fix


# ------------------------------------------------------------------------------------------------ vendor mapping


@pytest.fixture
def cleo_with_partners(configured: Path) -> Iterator[dict[str, str]]:
    book = parse_partner_book(
        {"partners": [{"alias": "ACME", "name": "Acme", "isa_id": "ACMEEDI", "gs_id": "ACMEEDI"}]}
    )
    with running_sandbox(data_dir=configured / "cleo", partners=book) as sandbox:
        yield {"MLC_CLEO__BASE_URL": sandbox.base_url}


def test_map_vendor_checks_the_partner_in_cleo(cleo_with_partners: dict[str, str]) -> None:
    out = one_line_error(run("map", "vendor", "01-V0001", "NOPE", env=cleo_with_partners))
    assert "Cleo has no trading partner NOPE" in out
    assert run("map", "vendor", "01-V0001", "ACME", env=cleo_with_partners).exit_code == 0
    assert json.loads(run("map", "list", "--json").stdout)[0]["partner"] == "ACME"


def test_map_list_remove_not_edi_and_csv_round_trip(configured: Path) -> None:
    assert run("map", "vendor", "01-V0001", "ACME", "--no-check").exit_code == 0
    assert run("map", "not-edi", "01-V0002").exit_code == 0
    exported = configured / "vendors.csv"
    assert run("map", "export", "-o", str(exported)).exit_code == 0
    rows = list(csv.DictReader(exported.open()))
    assert [(r["vendor_no"], r["partner"], r["edi"]) for r in rows] == [
        ("01-V0001", "ACME", "yes"),
        ("01-V0002", "", "no"),
    ]
    assert run("map", "remove", "01-V0001").exit_code == 0
    assert one_line_error(run("map", "remove", "01-V0001"))
    out = one_line_error(run("map", "import", str(configured / "nope.csv"), "--no-check"))
    assert "nope.csv: no such file or directory" in out and "Error" not in out
    bad = configured / "bad.csv"
    bad.write_text("vendor_no,partner,change_document,edi\n01-V0005,BETA,850,yes\n01-V0006,GAMMA,999,yes\n")
    out = one_line_error(run("map", "import", str(bad), "--no-check"))
    assert "bad.csv line 3" in out
    assert [r["vendor_no"] for r in json.loads(run("map", "list", "--json").stdout)] == ["01-V0002"]  # all or none
    assert run("map", "import", str(exported), "--no-check").exit_code == 0
    assert len(json.loads(run("map", "list", "--json").stdout)) == 2


# ------------------------------------------------------------------------------------------------ names and ports


def test_every_environment_variable_starts_with_mlc() -> None:
    names = set()
    for path in (ROOT / "src" / "mlconnector").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'envvar=\[?"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'(?:os\.environ\.get\(|os\.environ\[|os\.getenv\()"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'^[A-Z_]*ENV[A-Z_]* = "([A-Z0-9_]+)"', text, re.MULTILINE))  # LEVEL_ENV = "…"
    assert {"MLC_SAGE_SIM_DATA", "MLC_AGENT_DIR", "MLC_CLEO_SANDBOX_USERS", "MLC_LOG_LEVEL", "MLC_CONFIG"} <= names
    assert all(n.startswith("MLC_") for n in names), sorted(names)
    # The four old prefixes are gone from what a user reads, too.
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        old = re.findall(r"(?<!MLC_)\b(ML_SAGE_SIM_DATA|ML_AGENT_DIR|CLEO_SANDBOX_USERS)\b", path.read_text())
        assert not old, (path.name, old)


def test_prompts_use_the_same_words_and_say_what_the_agent_key_is() -> None:
    from mlconnector.commands.admin import FIELDS

    assert FIELDS["sage"][0][2] == "Sage user name" and FIELDS["cleo"][0][2] == "Cleo user name"
    assert "hex" in FIELDS["agent"][0][2] and "agent-hmac.key" in FIELDS["agent"][0][2]


def test_default_ports_agree_with_the_docs_table() -> None:
    from mlconnector.config import Settings

    table = (ROOT / "docs" / "operations.md").read_text()
    assert f"| agent (`agent serve`, `agent install-service`, `init --agent-url`) | {AGENT_PORT} |" in table
    assert f"| Cleo sandbox (`cleo-sandbox serve`, `init --cleo-url`) | {CLEO_SANDBOX_PORT} |" in table
    assert Settings.model_fields["agent"].default_factory().url.endswith(f":{AGENT_PORT}")  # type: ignore[misc]
    assert Settings.model_fields["cleo"].default_factory().base_url.endswith(f":{CLEO_SANDBOX_PORT}")  # type: ignore[misc]
    for group, command, port in (
        ("agent", "serve", AGENT_PORT),
        ("agent", "install-service", AGENT_PORT),
        ("cleo-sandbox", "serve", CLEO_SANDBOX_PORT),
    ):
        params = {p.name: p for p in load_command(group).commands[command].params}
        assert params["port"].default == port
    assert f"(`hub serve --agents-port`, WSS; see [tunnel.md](tunnel.md)) | {HUB_PORT} |" in table
    assert f"(`hub serve --relay-port`, HTTPS, private) | {HUB_RELAY_PORT} |" in table
    params = {p.name: p for p in load_command("hub").commands["serve"].params}
    assert (params["agents_port"].default, params["relay_port"].default) == (HUB_PORT, HUB_RELAY_PORT)


def test_sage_sim_po_create_takes_the_division_vendor_key(tmp_path: Path) -> None:
    data = str(tmp_path / "sim")
    assert run("sage-sim", "init", "--data", data, "--purchase-orders", "0").exit_code == 0
    made = run("sage-sim", "po", "create", "--data", data, "--vendor", "02-V0003", "--lines", "1")
    assert made.exit_code == 0, made.output
    assert "02-V0003" in run("sage-sim", "po", "list", "--data", data).output


def test_last_activity_counts_only_documents_that_moved(tmp_path: Path) -> None:
    from mlconnector.flows.status import store_status
    from mlconnector.store import Store
    from mlconnector.store.ops import audit

    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.transaction() as session:
        audit(session, direction="OUT", document_type="850", source_id="0000001", status="held")
    assert "850" not in store_status(store).last_activity  # held, not sent: no "last 850"
    with store.transaction() as session:
        audit(session, direction="OUT", document_type="850", source_id="0000002", status="sent")
    assert "850" in store_status(store).last_activity
    store.close()

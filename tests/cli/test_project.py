"""The project commands as a user runs them: init, ingest, status, quality, report; --json everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def crmlens(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "crmlens", *args], cwd=cwd, capture_output=True, text=True)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    crmlens("init", "shop", cwd=tmp_path)
    folder = tmp_path / "shop"
    (folder / "exports" / "orders.csv").write_bytes(
        "订单号,客户ID,下单时间,金额\nA1,c1,2024-01-02 10:00,12\nA2,c2,bad,5\n".encode("gb18030")
    )
    return folder


def test_init_ingest_status_quality_report(project: Path) -> None:
    loaded = json.loads(crmlens("ingest", "--json", cwd=project).stdout)
    assert loaded["metrics"] == {"rows_in": 2, "rows_loaded": 1, "rows_quarantined": 1}
    status = json.loads(crmlens("status", "--json", cwd=project).stdout)
    assert {"table": "orders", "rows": 1} in status["tables"]
    quality = json.loads(crmlens("quality", "--json", cwd=project).stdout)
    ts = next(c for c in quality["columns"] if c["table"] == "orders" and c["column"] == "ts")
    assert ts["invalid"] == 1 and ts["nulls"] == 0
    assert quality["quarantine"][0]["column"] == "ts"
    report = json.loads(crmlens("report", "--json", cwd=project).stdout)
    page = Path(report["report"]).read_text(encoding="utf-8")
    assert "Quarantine" in page and "cannot read" in page
    assert 'src="http' not in page  # offline: no script or asset from a CDN


def test_propose_mapping(project: Path) -> None:
    proposal = json.loads(crmlens("ingest", "--propose", "exports/orders.csv", "--json", cwd=project).stdout)
    assert proposal["columns"] == {
        "订单号": "order_id",
        "客户ID": "customer_key",
        "下单时间": "ts",
        "金额": "amount",
    }
    assert proposal["entity"] == "orders"


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    result = crmlens("ingest", cwd=tmp_path, ok=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "crmlens init" in result.stderr
    (tmp_path / "crmlens.yaml").write_text(
        "sources:\n  - name: a\n    kind: csv\n    path: x.csv\n    entitty: orders\n"
    )
    result = crmlens("ingest", cwd=tmp_path, ok=False)
    assert result.returncode == 1 and "entitty: unknown key" in result.stderr


def test_usage_errors_name_the_option_without_a_traceback(tmp_path: Path) -> None:
    result = crmlens("status", "--no-such-flag", cwd=tmp_path, ok=False)
    assert result.returncode == 2
    assert "No such option: --no-such-flag" in result.stderr and "Traceback" not in result.stderr


def test_every_command_takes_json() -> None:
    """The CLI contract: each leaf command of every group has ``--json``."""
    import typer

    from crmlens.cli import app

    def leaves(command, path):  # groups have .commands (typer vendors click, so no isinstance)
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from leaves(sub, [*path, name])
        else:
            yield " ".join(path), command

    commands = dict(leaves(typer.main.get_command(app), []))
    assert len(commands) >= 30 and {"ingest", "propensity train", "faq ask", "identity explain"} <= set(
        commands
    )
    without = [name for name, c in commands.items() if "--json" not in {o for p in c.params for o in p.opts}]
    assert without == []

"""`make run` as a newcomer runs it: it leaves the system running, writes the tokens it minted to
a 0600 file, prints the console's URL and three follow-up commands; each command works exactly
as printed (run by a shell with no greenchain setting of ours), and `make stop` ends it all.

A small population and a private namespace and ports keep it short and off everyone's way; the
broker is the test broker (already reachable, so make run neither starts nor stops one)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import polars as pl

from greenchain.testing import ROOT
from greenchain.testing.kafka_broker import free_port


def port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_make_run_then_every_printed_command_works_then_make_stop(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"
    ports = {name: f"127.0.0.1:{free_port()}" for name in ("INGEST", "LEDGER", "CONSOLE")}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "GREENCHAIN_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "GREENCHAIN_TOPIC_NAMESPACE": f"run{uuid.uuid4().hex[:8]}",  # no separator: normalised
        **{f"GREENCHAIN_{name}_LISTEN": address for name, address in ports.items()},
    }
    for passthrough in ("UV_CACHE_DIR", "XDG_CACHE_HOME"):
        if passthrough in os.environ:
            env[passthrough] = os.environ[passthrough]
    run = subprocess.Popen(
        ["make", "run", f"WORKDIR={workdir}", "RUN_ARGS=--suppliers 60 --months 6"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert run.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(run.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while not any(line.startswith("Ctrl-C here") for line in lines):
            assert run.poll() is None, "make run ended:\n" + "".join(lines)
            assert time.monotonic() < deadline, "make run printed no next steps:\n" + "".join(lines)
            time.sleep(0.5)
        output = "".join(lines)
        (tmp_path / "make-run.log").write_text(output)

        # the system is still running, with the console where it says
        url = next(line.split()[2] for line in lines if line.startswith("web console:"))
        assert url == f"http://{ports['CONSOLE']}"
        with urllib.request.urlopen(f"{url}/readyz", timeout=10) as ready:
            assert ready.status == 200
        tokens = workdir / "access-tokens.txt"
        assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
        assert "chain:chain-ev " in tokens.read_text()

        start = next(i for i, line in enumerate(lines) if line.startswith("try, in another shell"))
        commands = [line.strip() for line in lines[start + 1 :] if line.startswith("  ")][:3]
        assert len(commands) == 3, output
        shell_env = {"PATH": "/usr/bin:/bin", "COLUMNS": "160"}  # nothing of ours but the line
        results = [
            subprocess.run(
                ["bash", "-c", command],
                cwd=ROOT,
                env=shell_env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for command in commands
        ]
        for command, result in zip(commands, results, strict=True):
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        progress, rating, report = results
        assert "of output value from designated green factories" in progress.stdout
        assert "improvement plan" in rating.stdout
        workbook = Path(commands[2].split("--out ")[1].split()[0])
        assert list(pl.read_excel(workbook, sheet_id=0)) == [
            "progress",
            "suppliers",
            "leverage",
            "methodology version",
        ]
        assert "chain report of chain-ev" in report.stderr

        stop = subprocess.run(
            ["make", "stop", f"WORKDIR={workdir}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert stop.returncode == 0 and "stopped" in stop.stdout + stop.stderr, stop.stderr
        assert run.wait(60) == 0
        assert not any(port_open(address) for address in ports.values())
        assert port_open(kafka_bootstrap.split(",")[0])  # the broker it did not start stays up
    finally:
        if run.poll() is None:
            os.killpg(run.pid, 15)
            run.wait(60)
        (tmp_path / "make-run.log").write_text("".join(lines))

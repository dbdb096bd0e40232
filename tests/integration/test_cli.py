"""The people's CLI against a running ledger (real process, real Kafka, real SQLite)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from greenchain.common import topics as topic_names
from greenchain.common.config import Settings
from greenchain.common.signed_note import Signer
from greenchain.testing.builders import rating
from greenchain.testing.flows import produce
from greenchain.testing.processes import ServiceProcess
from greenchain.testing.tamper import rewrite_rating
from greenchain.v1 import rating_pb2


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenchain.client.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_ratings_progress_history_export_verify(topics: Settings, tmp_path: Path) -> None:
    nat = rating_pb2.READINESS_TIER_NATIONAL
    ratings = [
        rating("sup-a", 82.5, nat, 300.0, ("chain-x",)),
        rating("sup-b", 41.0, rating_pb2.READINESS_TIER_NOT_YET, 700.0, ("chain-x",)),
        rating("sup-a", 83.0, nat, 300.0, ("chain-x",), revision=2),
    ]
    produce(
        topics,
        topic_names.RATINGS,
        ((r.supplier_id.encode(), r.SerializeToString()) for r in ratings),
    )
    keys = tmp_path / "keys"
    made = cli("keygen", "--name", "ledger-test", "--out", str(keys))
    assert made.returncode == 0, made.stderr
    assert (keys / "ledger.key").stat().st_mode & 0o777 == 0o600
    assert made.stdout.strip() == (keys / "ledger.pub").read_text().strip()
    settings = topics.with_(
        ledger_listen="127.0.0.1:50199", ledger_key_file=str(keys / "ledger.key")
    )
    ledger = ServiceProcess("ledger", settings, tmp_path / "ledger.log").start()
    try:
        ledger.wait_for_log("LedgerServer started")
        target = ("--target", settings.ledger_listen)
        deadline = time.monotonic() + 30
        while "83.0" not in (listing := cli("ratings", "--chain", "chain-x", *target)).stdout:
            assert time.monotonic() < deadline, listing.stdout + listing.stderr
            time.sleep(0.3)
        assert listing.stdout.index("sup-a") < listing.stdout.index("sup-b")  # by score

        progress = cli("progress", "--chain", "chain-x", *target)
        assert progress.returncode == 0 and "30.0%" in progress.stdout  # 300 of 1000 is green

        history = cli("history", "--supplier", "sup-a", *target)
        assert "82.5" in history.stdout and "83.0" in history.stdout

        out = tmp_path / "x.parquet"
        exported = cli(
            "export", "--chain", "chain-x", "--format", "parquet", "--out", str(out), *target
        )
        assert exported.returncode == 0, exported.stderr
        frame = pl.read_parquet(out)
        assert frame["supplier_id"].to_list() == ["sup-a", "sup-b"]
        assert frame["total_score"].to_list() == [83.0, 41.0]

        store = tmp_path / "checkpoints.json"
        verify = ("verify", "--key", str(keys / "ledger.pub"), "--checkpoints", str(store), *target)
        verified = cli(*verify, "--supplier", "sup-a")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.startswith("verified: 2 entries included") and store.exists()
        again = cli(*verify)
        assert again.returncode == 0 and "consistent with the checkpoint you held" in again.stdout
        other_key = tmp_path / "other.pub"
        other_key.write_text(Signer.generate("ledger-test").verifier().encode())
        forged = cli("verify", "--key", str(other_key), "--checkpoints", str(store), *target)
        assert forged.returncode == 1 and "no signature by ledger-test" in forged.stdout
        missing = cli("ratings", "--chain", "chain-x", "--target", "127.0.0.1:1")
        assert missing.returncode != 0
    finally:
        ledger.stop()

    # the operator rewrites sup-a's first rating and recomputes every hash, the tree and a
    # freshly signed checkpoint; the client that held the earlier checkpoint notices
    def better(r: rating_pb2.SupplierRating) -> None:
        r.total_score = 99.0

    signer = Signer.parse((keys / "ledger.key").read_text())
    rewrite_rating(settings.ledger_db, "sup-a", 1, better, signer, settings.ledger_origin)
    ledger.start()
    try:
        ledger.wait_for_log("LedgerServer started")
        caught = cli(*verify, "--supplier", "sup-a")
        assert caught.returncode == 1, caught.stdout
        [line] = caught.stdout.splitlines()
        assert line.startswith("verify failed: consistency"), line
    finally:
        ledger.stop()

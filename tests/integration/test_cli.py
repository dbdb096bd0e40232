"""The people's CLI against a running ledger (real process, real Kafka, real SQLite)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import yaml

from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.common.signed_note import Signer
from greenchain.testing.builders import rating
from greenchain.testing.flows import offline_ratings, produce, sample_declarations
from greenchain.testing.kafka_broker import free_port
from greenchain.testing.processes import ServiceProcess
from greenchain.testing.tamper import rewrite_rating
from greenchain.v1 import rating_pb2


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenchain.client.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **env},
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

        verified = cli("verify", "--supplier", "sup-a", *target)
        assert verified.returncode == 0 and "intact" in verified.stdout
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


def test_every_read_command_speaks_json_and_csv_and_fails_in_one_line(
    topics: Settings, tmp_path: Path
) -> None:
    """Token from GREENCHAIN_TOKEN or a token file, the ledger's address from the same setting
    as the service, valid JSON from every read command, and exit codes people can act on."""
    suppliers, decls = sample_declarations(suppliers=12, months=4, seed=5)
    ratings = offline_ratings(suppliers, decls)
    chain = next(iter(ratings.values())).chain_ids[0]
    member = sorted(sid for sid, r in ratings.items() if chain in r.chain_ids)[0]
    tokens = {"t-admin": "admin", "t-chain": f"chain:{chain}", "t-sup": f"supplier:{member}"}
    tokens_file = tmp_path / "tokens.yaml"
    tokens_file.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for t, p in tokens.items()]}
        )
    )
    token_file = tmp_path / "access-tokens.txt"
    token_file.write_text("# minted\n" + "".join(f"{p} {t}\n" for t, p in tokens.items()))
    settings = topics.with_(tokens_file=str(tokens_file), ledger_listen=f"127.0.0.1:{free_port()}")
    produce(
        settings,
        topic_names.RATINGS,
        ((sid.encode(), r.SerializeToString()) for sid, r in sorted(ratings.items())),
    )
    ledger = ServiceProcess("ledger", settings, tmp_path / "ledger.log").start()
    where = {"GREENCHAIN_LEDGER_LISTEN": settings.ledger_listen}  # the services' own setting
    as_chain = {**where, "GREENCHAIN_TOKEN": "t-chain"}
    try:
        ledger.wait_for_log("LedgerServer started")
        deadline = time.monotonic() + 30
        while len(json.loads(cli("ratings", "--output", "json", **as_chain).stdout or "[]")) < sum(
            chain in r.chain_ids for r in ratings.values()
        ):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        file_args = ("--token-file", str(token_file), "--principal", f"supplier:{member}")
        reads = {
            "ratings": (["ratings", "--chain", chain], as_chain),
            "progress": (["progress", "--chain", chain], as_chain),
            "rating": (["rating", "--supplier", member, *file_args], where),
            "history": (["history", "--supplier", member, *file_args], where),
            "verify": (["verify", "--supplier", member, *file_args], where),
            "config": (["config"], where),
            "health": (["health"], where),
        }
        for name, (args, env) in reads.items():
            result = cli(*args, "--output", "json", **env)
            assert result.returncode == 0, (name, result.stderr)
            data = json.loads(result.stdout)  # valid JSON, and nothing else on stdout
            assert data, name
            as_csv = cli(*args, "--output", "csv", **env)
            assert as_csv.returncode == 0, (name, as_csv.stderr)
            assert len(list(csv.reader(io.StringIO(as_csv.stdout)))) >= 2, name
        rating_json = json.loads(
            cli("rating", "--supplier", member, *file_args, "--output", "json", **where).stdout
        )
        assert rating_json["entry"]["rating"]["supplier_id"] == member
        assert "summary" in rating_json["improvement_plan"]
        progress_json = json.loads(
            cli("progress", "--chain", chain, "--output", "json", **as_chain).stdout
        )
        assert progress_json["target_share"] == 0.4 and "designated_share" in progress_json

        # watch: one JSON object per line, as the ledger records new ratings
        watcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "greenchain.client.cli",
                "watch",
                "--chain",
                chain,
                "--count",
                "1",
                "--output",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": "/usr/bin:/bin", **as_chain},
        )
        time.sleep(2.0)  # the watch is open
        newer = rating_pb2.SupplierRating()
        newer.CopyFrom(ratings[member])
        newer.revision += 1
        newer.previous_tier = rating_pb2.READINESS_TIER_NATIONAL
        newer.readiness_tier = rating_pb2.READINESS_TIER_NOT_YET
        newer.total_score = 1.0
        produce(settings, topic_names.RATINGS, [(member.encode(), newer.SerializeToString())])
        out, err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, err
        event = json.loads(out.strip())
        assert event["rating"]["supplier_id"] == member
        assert any("dropped from national" in a for a in event["alerts"])

        # errors: one line on stderr, a code for each kind
        denied = cli("rating", "--supplier", member, **as_chain | {"GREENCHAIN_TOKEN": "t-sup"})
        assert denied.returncode == 0  # a supplier reads itself
        other = sorted(sid for sid in ratings if sid != member)[0]
        denied = cli("rating", "--supplier", other, **where | {"GREENCHAIN_TOKEN": "t-sup"})
        assert denied.returncode == 77 and denied.stderr.count("\n") == 1, denied.stderr
        unknown = cli("rating", "--supplier", "nobody", **where | {"GREENCHAIN_TOKEN": "t-admin"})
        assert unknown.returncode == 65 and "NOT_FOUND" in unknown.stderr
        usage = cli("progress", **as_chain)  # --chain missing
        assert usage.returncode == 2 and usage.stderr.count("\n") == 1, usage.stderr
        many = cli("ratings", "--chain", chain, "--token-file", str(token_file), **where)
        assert many.returncode == 2 and "--principal" in many.stderr
    finally:
        ledger.stop()
    dead = cli("progress", "--chain", chain, "--output", "json", **as_chain)  # ledger gone
    assert dead.returncode == 69, dead.stderr
    assert dead.stdout == "" and dead.stderr.count("\n") == 1
    assert (
        dead.stderr.startswith("greenchain: error: UNAVAILABLE") and "Traceback" not in dead.stderr
    )
    health = cli("health", "--output", "json", **where)
    assert health.returncode == 69 and json.loads(health.stdout)["serving"] is False


def test_health_and_reads_over_tls_from_the_settings(topics: Settings, tmp_path: Path) -> None:
    from greenchain.testing.certificates import server_certificate

    cert = server_certificate(tmp_path)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert.ca_pem)
    settings = topics.with_(
        ledger_listen=f"127.0.0.1:{free_port()}",
        tls_cert_file=str(cert.cert_file),
        tls_key_file=str(cert.key_file),
    )
    ledger = ServiceProcess("ledger", settings, tmp_path / "ledger.log").start()
    env = {"GREENCHAIN_LEDGER_LISTEN": settings.ledger_listen, "GREENCHAIN_TLS_CA_FILE": str(ca)}
    try:
        ledger.wait_for_log("LedgerServer started")
        health = cli("health", "--output", "json", **env)
        assert health.returncode == 0, health.stderr
        assert json.loads(health.stdout) | {"target": ""} == {
            "target": "",
            "status": "SERVING",
            "serving": True,
            "tls": True,
        }
        listing = cli("ratings", "--output", "json", **env)  # admin: auth is off here
        assert listing.returncode == 0 and json.loads(listing.stdout) == []
        plaintext = cli("health", **{"GREENCHAIN_LEDGER_LISTEN": settings.ledger_listen})
        assert plaintext.returncode == 69  # a TLS server does not answer plaintext
    finally:
        ledger.stop()

"""The ledger's Merkle log (issue #17), in process, on real SQLite files (no Kafka):

- append: ratings/s through LedgerStore.append (entries, tree nodes, a signed checkpoint per
  batch of 2,000, as the consumer does) against the append path before the tree
  (bench/chain_store.py: the per-supplier chain alone, unsigned);
- proofs on a log of ``size`` leaves (1,000,000 in the full run): inclusion and consistency
  proof generation p50/p99 (random index and sizes), the client's verification p50/p99
  (greenchain.common.merkle), and, for comparison, what the old VerifyHistory recomputed per
  supplier (its 12 chained entries).

    python -m bench.merkle [--size 1000000] [--ratings 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chain_store import ChainStore
from bench.common import percentile
from greenchain.common.merkle import leaf_hash, verify_consistency, verify_inclusion
from greenchain.common.signed_note import Signer
from greenchain.ledger.merkle import SCHEMA, MerkleTree
from greenchain.ledger.store import LedgerStore, Record
from greenchain.testing.builders import rating
from greenchain.v1 import rating_pb2

BATCH = 2000
SAMPLES = 2000


def _ratings(count: int, suppliers: int) -> list[rating_pb2.SupplierRating]:
    tier = rating_pb2.READINESS_TIER_MUNICIPAL
    return [
        rating(
            f"s{i % suppliers:06d}",
            float(i % 97),
            tier,
            1e6,
            (f"chain-{i % 3}",),
            i // suppliers + 1,
        )
        for i in range(count)
    ]


def _append_rates(workdir: Path, count: int) -> dict[str, float]:
    items = _ratings(count, max(count // 12, 1))  # 12 ratings per supplier
    merkle = LedgerStore(workdir / "merkle.sqlite3", Signer.generate("bench"), "bench/ledger")
    started = time.perf_counter()
    for at in range(0, count, BATCH):
        merkle.append([Record("seq", 0, at + i, r) for i, r in enumerate(items[at : at + BATCH])])
    merkle_s = time.perf_counter() - started
    assert merkle.size() == count
    chain = ChainStore(workdir / "chain.sqlite3")
    started = time.perf_counter()
    for at in range(0, count, BATCH):
        chain.append(items[at : at + BATCH])
    chain_s = time.perf_counter() - started
    return {"merkle_log": count / merkle_s, "chain_only_unsigned": count / chain_s}


def _timed(samples: list[Any], call: Any) -> dict[str, float]:
    times = []
    for sample in samples:
        started = time.perf_counter()
        call(*sample)
        times.append(time.perf_counter() - started)
    return {"p50_ms": percentile(times, 0.5) * 1000, "p99_ms": percentile(times, 0.99) * 1000}


def _proofs(workdir: Path, size: int) -> dict[str, Any]:
    db = sqlite3.connect(workdir / "tree.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    tree = MerkleTree(db)
    started = time.perf_counter()
    for at in range(0, size, 50_000):
        db.execute("BEGIN")
        tree.append([leaf_hash(b"entry %d" % i) for i in range(at, min(size, at + 50_000))])
        db.execute("COMMIT")
    build_s = time.perf_counter() - started
    rng = random.Random(17)
    root = tree.root(size)
    indices = [(rng.randrange(size), size) for _ in range(SAMPLES)]
    firsts = [(rng.randrange(1, size), size) for _ in range(SAMPLES)]
    inclusion = _timed(indices, tree.inclusion_proof)
    consistency = _timed(firsts, tree.consistency_proof)
    proofs = [
        (i, s, leaf_hash(b"entry %d" % i), tree.inclusion_proof(i, s), root) for i, s in indices
    ]
    olds = [(f, s, tree.consistency_proof(f, s), tree.root(f), root) for f, s in firsts]
    verify_i = _timed(proofs, verify_inclusion)
    verify_c = _timed(olds, verify_consistency)
    chain = [bytes(300)] * 12

    def old_verify() -> None:  # VerifyHistory's work for one supplier: 12 chained hashes
        previous = bytes(32)
        for data in chain:
            previous = hashlib.sha256(previous + data).digest()

    return {
        "size": size,
        "build_s": build_s,
        "database_mib": (workdir / "tree.sqlite3").stat().st_size / 2**20,
        "inclusion_proof": inclusion,
        "consistency_proof": consistency,
        "verify_inclusion": verify_i,
        "verify_consistency": verify_c,
        "old_chain_verify_12_entries": _timed([()] * SAMPLES, old_verify),
        "proof_hashes_inclusion_p50": sorted(len(p[3]) for p in proofs)[SAMPLES // 2],
    }


def run(size: int, ratings: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-merkle-") as tmp:
        workdir = Path(tmp)
        return {
            "append_ratings_per_s": _append_rates(workdir, ratings),
            "ratings": ratings,
            "proofs": _proofs(workdir, size),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--ratings", type=int, default=20_000)
    args = parser.parse_args()
    print(json.dumps(run(args.size, args.ratings), indent=2))

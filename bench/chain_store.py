"""The baseline of the Merkle-log benchmark: the ledger's append path before issue #17 (one
SHA-256 chain per supplier, no tree, no signed checkpoint), kept here as it was so that `make
bench` measures what the Merkle log costs: schema 1 of greenchain.ledger.store as it was (its
migration 2 replaced it; the store no longer creates it), same pragmas."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from greenchain.common.ratings import rating_fingerprint
from greenchain.v1 import rating_pb2

SCHEMA = """
CREATE TABLE entries (
    supplier_id TEXT NOT NULL, sequence INTEGER NOT NULL, revision INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, window_end INTEGER NOT NULL, readiness_tier INTEGER NOT NULL,
    output_value REAL NOT NULL, rating BLOB NOT NULL, previous_hash BLOB NOT NULL,
    entry_hash BLOB NOT NULL, recorded_at REAL NOT NULL, PRIMARY KEY (supplier_id, sequence)
);
CREATE INDEX entries_recorded ON entries (supplier_id, recorded_at);
CREATE TABLE current (
    supplier_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, sector_code TEXT NOT NULL,
    total_score REAL NOT NULL, grade INTEGER NOT NULL, readiness_tier INTEGER NOT NULL
);
CREATE INDEX current_score ON current (total_score, supplier_id);
CREATE TABLE chain_members (
    chain_id TEXT NOT NULL, supplier_id TEXT NOT NULL, PRIMARY KEY (chain_id, supplier_id)
);
CREATE INDEX chain_members_supplier ON chain_members (supplier_id);
"""


class ChainStore:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def append(self, ratings: Sequence[rating_pb2.SupplierRating]) -> int:
        db, now, appended = self._db, time.time(), 0
        db.execute("BEGIN IMMEDIATE")
        for rating in ratings:
            fingerprint = rating_fingerprint(rating)
            head = db.execute(
                "SELECT sequence, fingerprint, entry_hash FROM entries WHERE supplier_id = ? "
                "ORDER BY sequence DESC LIMIT 1",
                (rating.supplier_id,),
            ).fetchone()
            if head is not None and head[1] == fingerprint:
                continue
            sequence = 1 if head is None else head[0] + 1
            previous = bytes(32) if head is None else bytes(head[2])
            data = rating.SerializeToString(deterministic=True)
            digest = hashlib.sha256(previous + data).digest()
            window_end = rating.window_end.year * 12 + rating.window_end.month - 1
            db.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rating.supplier_id,
                    sequence,
                    rating.revision,
                    fingerprint,
                    window_end,
                    rating.readiness_tier,
                    rating.output_value_cny,
                    data,
                    previous,
                    digest,
                    now,
                ),
            )
            db.execute(
                "INSERT INTO current VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (supplier_id) DO "
                "UPDATE SET sequence = excluded.sequence, sector_code = excluded.sector_code, "
                "total_score = excluded.total_score, grade = excluded.grade, "
                "readiness_tier = excluded.readiness_tier",
                (
                    rating.supplier_id,
                    sequence,
                    rating.sector_code,
                    rating.total_score,
                    rating.grade,
                    rating.readiness_tier,
                ),
            )
            db.execute("DELETE FROM chain_members WHERE supplier_id = ?", (rating.supplier_id,))
            db.executemany(
                "INSERT INTO chain_members VALUES (?, ?)",
                [(chain, rating.supplier_id) for chain in set(rating.chain_ids)],
            )
            appended += 1
        db.execute("COMMIT")
        return appended

    def verify(self, supplier_id: str) -> bool:
        """What VerifyHistory did: recompute the supplier's chain (on the server)."""
        previous = bytes(32)
        for data, stored in self._db.execute(
            "SELECT rating, entry_hash FROM entries WHERE supplier_id = ? ORDER BY sequence",
            (supplier_id,),
        ):
            previous = hashlib.sha256(previous + bytes(data)).digest()
            if previous != bytes(stored):
                return False
        return True

"""What a dishonest operator of the ledger can do with its SQLite file and its signing key:
rewrite one stored rating and then recompute everything that depends on it (the supplier's hash
chain, the leaves, every tree node, a freshly signed checkpoint), so the ledger is consistent
with itself again. The transparency tests show that clients still notice."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from greenchain.common.merkle import leaf_hash
from greenchain.common.signed_note import Checkpoint, Signer
from greenchain.ledger.merkle import MerkleTree
from greenchain.ledger.store import LedgerStore, entry_hash
from greenchain.v1 import ledger_pb2, rating_pb2


def rewrite_rating(
    db_path: str | Path,
    supplier_id: str,
    sequence: int,
    edit: Callable[[rating_pb2.SupplierRating], None],
    signer: Signer,
    origin: str,
) -> None:
    """Edits the rating of entry (supplier, sequence) and recomputes every hash and the tree."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT log_index, supplier_id, sequence, rating, leaf FROM entries ORDER BY log_index"
        ).fetchall()
        previous = b""
        leaves: list[bytes] = []
        for index, sid, seq, data, leaf in rows:
            data, leaf = bytes(data), bytes(leaf)
            if sid == supplier_id and seq >= sequence:
                old = ledger_pb2.LogEntry.FromString(leaf)
                rating = rating_pb2.SupplierRating.FromString(data)
                if seq == sequence:
                    edit(rating)
                    data = rating.SerializeToString(deterministic=True)
                prev = old.previous_hash if seq == sequence else previous
                digest = entry_hash(prev, data)
                leaf = LedgerStore.log_entry(
                    index,
                    rating,
                    seq,
                    data,
                    prev,
                    digest,
                    (old.source_partition, old.source_offset),
                )
                db.execute(
                    "UPDATE entries SET rating = ?, previous_hash = ?, entry_hash = ?, leaf = ? "
                    "WHERE log_index = ?",
                    (data, prev, digest, leaf, index),
                )
                previous = digest
            leaves.append(leaf)
        db.execute("DELETE FROM tree_nodes")
        tree = MerkleTree(db)
        size = tree.append([leaf_hash(leaf) for leaf in leaves])
        note = Checkpoint(origin, size, tree.root(size)).sign(signer)
        db.execute("DELETE FROM checkpoints")
        db.execute("INSERT INTO checkpoints VALUES (?, ?, ?)", (size, note, time.time()))

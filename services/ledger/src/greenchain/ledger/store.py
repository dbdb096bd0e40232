"""The append-only rating store: SQLite (WAL), one hash chain per supplier.

entry_hash = SHA-256(previous_hash || rating bytes), rating bytes = deterministic protobuf
serialisation, previous_hash of a supplier's first entry = 32 zero bytes. Kafka offsets are saved
in the same transaction as the entries they produced, so a crash never loses or duplicates an
entry: after a restart, consumption resumes exactly after the last committed batch. A rating whose
fingerprint equals the supplier's latest entry is not appended again (scoring is at-least-once).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenchain.common.ratings import rating_fingerprint
from greenchain.v1 import rating_pb2

GENESIS = bytes(32)

MIGRATIONS: list[str] = [
    # 1: entries, the current rating per supplier, chain membership, consumer offsets
    """
    CREATE TABLE entries (
        supplier_id   TEXT    NOT NULL,
        sequence      INTEGER NOT NULL,
        revision      INTEGER NOT NULL,
        fingerprint   TEXT    NOT NULL,
        window_end    INTEGER NOT NULL,
        readiness_tier INTEGER NOT NULL,
        output_value  REAL    NOT NULL,
        rating        BLOB    NOT NULL,
        previous_hash BLOB    NOT NULL,
        entry_hash    BLOB    NOT NULL,
        recorded_at   REAL    NOT NULL,
        PRIMARY KEY (supplier_id, sequence)
    );
    CREATE INDEX entries_recorded ON entries (supplier_id, recorded_at);
    CREATE TABLE current (
        supplier_id   TEXT PRIMARY KEY,
        sequence      INTEGER NOT NULL,
        sector_code   TEXT    NOT NULL,
        total_score   REAL    NOT NULL,
        grade         INTEGER NOT NULL,
        readiness_tier INTEGER NOT NULL
    );
    CREATE INDEX current_score ON current (total_score, supplier_id);
    CREATE TABLE chain_members (
        chain_id    TEXT NOT NULL,
        supplier_id TEXT NOT NULL,
        PRIMARY KEY (chain_id, supplier_id)
    );
    CREATE INDEX chain_members_supplier ON chain_members (supplier_id);
    CREATE TABLE offsets (
        topic       TEXT    NOT NULL,
        partition   INTEGER NOT NULL,
        next_offset INTEGER NOT NULL,
        PRIMARY KEY (topic, partition)
    );
    """,
]


@dataclass(frozen=True)
class Entry:
    supplier_id: str
    sequence: int
    rating: rating_pb2.SupplierRating
    previous_hash: bytes
    entry_hash: bytes
    recorded_at: float


@dataclass(frozen=True)
class Record:
    """A rating as read from Kafka."""

    topic: str
    partition: int
    offset: int
    rating: rating_pb2.SupplierRating | None  # None: undecodable, only the offset advances


@dataclass(frozen=True)
class Verification:
    intact: bool
    entries: int
    head_hash: bytes
    first_broken_sequence: int
    detail: str


def entry_hash(previous: bytes, rating_bytes: bytes) -> bytes:
    return hashlib.sha256(previous + rating_bytes).digest()


class LedgerStore:
    """Thread-safe: one connection, serialised by a lock (writes are batched by the consumer)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, fast
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    # writing ----------------------------------------------------------------------------

    def offsets(self, topic: str) -> dict[int, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT partition, next_offset FROM offsets WHERE topic = ?", (topic,)
            ).fetchall()
        return {int(p): int(o) for p, o in rows}

    def append(self, records: Sequence[Record]) -> list[Entry]:
        """Appends the ratings that are new and saves the offsets, in one transaction."""
        appended: list[Entry] = []
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                next_offsets: dict[tuple[str, int], int] = {}
                for record in records:
                    next_offsets[(record.topic, record.partition)] = record.offset + 1
                    if record.rating is None:
                        continue
                    entry = self._append_one(record.rating, now)
                    if entry is not None:
                        appended.append(entry)
                db.executemany(
                    "INSERT INTO offsets VALUES (?, ?, ?) ON CONFLICT (topic, partition) "
                    "DO UPDATE SET next_offset = excluded.next_offset",
                    [(t, p, o) for (t, p), o in next_offsets.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return appended

    def _append_one(self, rating: rating_pb2.SupplierRating, now: float) -> Entry | None:
        db = self._db
        fingerprint = rating_fingerprint(rating)
        head = db.execute(
            "SELECT sequence, fingerprint, entry_hash FROM entries WHERE supplier_id = ? "
            "ORDER BY sequence DESC LIMIT 1",
            (rating.supplier_id,),
        ).fetchone()
        if head is not None and head[1] == fingerprint:
            return None  # the same rating again (at-least-once upstream)
        sequence = 1 if head is None else head[0] + 1
        previous = GENESIS if head is None else bytes(head[2])
        data = rating.SerializeToString(deterministic=True)
        digest = entry_hash(previous, data)
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
            "INSERT INTO current VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (supplier_id) DO UPDATE SET "
            "sequence = excluded.sequence, sector_code = excluded.sector_code, "
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
        return Entry(rating.supplier_id, sequence, rating, previous, digest, now)

    # reading ----------------------------------------------------------------------------

    def _entries(self, sql: str, args: Iterable[object]) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(sql, tuple(args)).fetchall()
        return [
            Entry(
                r[0],
                r[1],
                rating_pb2.SupplierRating.FromString(r[2]),
                bytes(r[3]),
                bytes(r[4]),
                r[5],
            )
            for r in rows
        ]

    _ENTRY = (
        "SELECT supplier_id, sequence, rating, previous_hash, entry_hash, recorded_at FROM entries"
    )

    def current(self, supplier_id: str) -> Entry | None:
        found = self._entries(
            self._ENTRY + " WHERE supplier_id = ? ORDER BY sequence DESC LIMIT 1", (supplier_id,)
        )
        return found[0] if found else None

    def history(
        self, supplier_id: str, since: float | None = None, until: float | None = None
    ) -> list[Entry]:
        sql = self._ENTRY + " WHERE supplier_id = ?"
        args: list[object] = [supplier_id]
        if since is not None:
            sql += " AND recorded_at >= ?"
            args.append(since)
        if until is not None:
            sql += " AND recorded_at < ?"
            args.append(until)
        return self._entries(sql + " ORDER BY sequence", args)

    def in_chain(self, chain_id: str, supplier_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM chain_members WHERE chain_id = ? AND supplier_id = ?",
                (chain_id, supplier_id),
            ).fetchone()
        return row is not None

    def query_current(
        self,
        chain_id: str,
        sector_code: str,
        grades: Sequence[int],
        tiers: Sequence[int],
        min_score: float | None,
        max_score: float | None,
        order: str,
        after: tuple[float, str] | None,
        limit: int,
    ) -> tuple[list[rating_pb2.SupplierRating], int]:
        """Current ratings matching the filters, keyset-paginated; and the total count."""
        where = ["1 = 1"]
        args: list[object] = []
        if chain_id:
            where.append(
                "c.supplier_id IN (SELECT supplier_id FROM chain_members WHERE chain_id = ?)"
            )
            args.append(chain_id)
        if sector_code:
            where.append("c.sector_code = ?")
            args.append(sector_code)
        if grades:
            where.append(f"c.grade IN ({','.join('?' * len(grades))})")
            args.extend(grades)
        if tiers:
            where.append(f"c.readiness_tier IN ({','.join('?' * len(tiers))})")
            args.extend(tiers)
        if min_score is not None:
            where.append("c.total_score >= ?")
            args.append(min_score)
        if max_score is not None:
            where.append("c.total_score <= ?")
            args.append(max_score)
        base = " AND ".join(where)
        page_where, page_args = base, list(args)
        if order == "supplier_id":
            order_by = "c.supplier_id"
            if after is not None:
                page_where += " AND c.supplier_id > ?"
                page_args.append(after[1])
        else:
            descending = order == "score_desc"
            order_by = f"c.total_score {'DESC' if descending else 'ASC'}, c.supplier_id"
            if after is not None:
                op = "<" if descending else ">"
                page_where += (
                    f" AND (c.total_score {op} ? OR (c.total_score = ? AND c.supplier_id > ?))"
                )
                page_args.extend([after[0], after[0], after[1]])
        with self._lock:
            total = self._db.execute(
                f"SELECT COUNT(*) FROM current c WHERE {base}", args
            ).fetchone()[0]
            rows = self._db.execute(
                f"SELECT e.rating FROM current c JOIN entries e "
                f"ON e.supplier_id = c.supplier_id AND e.sequence = c.sequence "
                f"WHERE {page_where} ORDER BY {order_by} LIMIT ?",
                [*page_args, limit],
            ).fetchall()
        return [rating_pb2.SupplierRating.FromString(r[0]) for r in rows], int(total)

    def chain_entries(self, chain_id: str) -> list[tuple[int, int, rating_pb2.SupplierRating]]:
        """(sequence, window_end month, rating) of every entry of the chain's current members,
        for the monthly trend of chain progress."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.sequence, e.window_end, e.rating FROM entries e "
                "WHERE e.supplier_id IN (SELECT supplier_id FROM chain_members WHERE chain_id = ?)",
                (chain_id,),
            ).fetchall()
        return [(r[0], r[1], rating_pb2.SupplierRating.FromString(r[2])) for r in rows]

    def current_of_chain(self, chain_id: str) -> list[rating_pb2.SupplierRating]:
        with self._lock:
            rows = self._db.execute(
                "SELECT e.rating FROM current c JOIN entries e "
                "ON e.supplier_id = c.supplier_id AND e.sequence = c.sequence "
                "WHERE c.supplier_id IN (SELECT supplier_id FROM chain_members WHERE chain_id = ?)",
                (chain_id,),
            ).fetchall()
        return [rating_pb2.SupplierRating.FromString(r[0]) for r in rows]

    def verify(self, supplier_id: str) -> Verification:
        """Recomputes the supplier's chain from the stored bytes; reports the first bad entry."""
        with self._lock:
            rows = self._db.execute(
                "SELECT sequence, rating, previous_hash, entry_hash FROM entries "
                "WHERE supplier_id = ? ORDER BY sequence",
                (supplier_id,),
            ).fetchall()
        previous = GENESIS
        for expected_sequence, (sequence, data, stored_previous, stored_hash) in enumerate(
            rows, start=1
        ):
            problem = ""
            if sequence != expected_sequence:
                problem = f"entry {expected_sequence} is missing"
            elif bytes(stored_previous) != previous:
                problem = f"entry {sequence}: previous_hash does not match entry {sequence - 1}"
            elif entry_hash(previous, bytes(data)) != bytes(stored_hash):
                problem = f"entry {sequence}: content does not match its hash"
            if problem:
                return Verification(False, len(rows), previous, expected_sequence, problem)
            previous = bytes(stored_hash)
        return Verification(True, len(rows), previous, 0, "")

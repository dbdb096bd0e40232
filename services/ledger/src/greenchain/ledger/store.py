"""The append-only rating store: SQLite (WAL), one RFC 9162 Merkle log over every entry, and a
hash chain per supplier inside it.

**The Merkle log** (issue #17). Every stored rating is a leaf: the deterministic bytes of a
``LogEntry`` (index, supplier, sequence, rating bytes, declaration ids, principals, the
supplier-chain hashes and the ratings-topic position it came from); leaf hash = SHA-256(0x00 ||
those bytes). The tree's nodes live in ``tree_nodes`` (greenchain.ledger.merkle), so appending
and proving cost O(log n). After every batch a checkpoint (origin, size, root) is signed with
the ledger's Ed25519 key in the same transaction, so what is stored and what is signed never
disagree. Clients check entries and checkpoints themselves (``greenchain verify``): an operator
who rewrites a rating and recomputes every hash and the tree is caught by anyone holding an
earlier checkpoint (consistency proof) or a proof of the original entry (inclusion proof).

**The per-supplier chain** stays for one purpose the tree does not serve: completeness of one
supplier's history. An inclusion proof shows that an entry is in the log, not that the supplier
has no other entry; entry_hash = SHA-256(previous_hash || rating bytes), previous_hash of a
supplier's first entry = 32 zero bytes, and both hashes are inside the leaf, so a history served
with an entry left out or reordered does not link, and the client sees it without downloading
the whole log. (``VerifyHistory`` still recomputes it on the server, for operators.)

**Order and idempotence.** Records come from the ledger's sequence topic (one partition, see
greenchain.common.topics), so every replica appends the same leaves in the same order. A record
whose ratings-topic position was already applied (a second copy) is skipped, and so is a rating
whose fingerprint equals the supplier's latest entry (scoring is at-least-once). Kafka offsets
are saved in the same transaction as the entries they produced: a crash never loses or
duplicates an entry.

**Readers never wait for the writer** (issue #18). One writer connection, used by the consumer
under a lock that only writers take; every reading thread has its own read-only connection
(``query_only``). In WAL mode a reader sees the last committed batch while a batch is being
appended, so queries and health checks go on while the ledger rebuilds. Every method is
blocking: the server calls them on its reader threads, the consumer on a worker thread.

**Listing in constant time per page** (issue #15). ``listing`` holds one row per (chain,
current rating), plus a row under chain ``''`` for every supplier (the "all suppliers" list),
with indexes in each page order, ``(chain_id, -score, supplier_id)``,
``(chain_id, score, supplier_id)`` and the primary key ``(chain_id, supplier_id)``. A page is a
keyset range scan of one index (row-value comparison, never OFFSET), and the unfiltered total
is a counter kept in ``chain_counts``: a page of 50 in a 20,000-member chain reads about 50 rows.

**Membership periods** (issue #19). ``memberships`` records, per chain and supplier, the log
index range in which the supplier's ratings listed the chain (``first_index`` .. ``end_index``
exclusive, NULL while open). Membership is what the ratings said when the ledger appended them
(the log is the clock; the registry is not consulted), so every replica derives the same
periods. A chain principal sees a supplier's history only inside those periods.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from greenchain.common.merkle import leaf_hash
from greenchain.common.ratings import rating_fingerprint
from greenchain.common.signed_note import Checkpoint, NoteError, Signer, open_note
from greenchain.ledger import merkle
from greenchain.v1 import ledger_pb2, rating_pb2

DEFAULT_ORIGIN = "greenchain.local/ledger"

GENESIS = bytes(32)
WRITE_WAIT = 30.0

MIGRATIONS: list[str] = [
    # 1: consumer offsets. Schema 1's entries, current and chain_members tables are not created
    # any more: migration 2 replaced them (and drops them from a schema 1 file)
    """
    CREATE TABLE offsets (
        topic       TEXT    NOT NULL,
        partition   INTEGER NOT NULL,
        next_offset INTEGER NOT NULL,
        PRIMARY KEY (topic, partition)
    );
    """,
    # 2: the Merkle log. Entries get their log index and leaf bytes; schema 1 files start over
    # (the ledger rebuilds itself from the ratings topic, which keeps every rating).
    """
    DROP TABLE IF EXISTS entries;
    DROP TABLE IF EXISTS current;
    DROP TABLE IF EXISTS chain_members;
    DELETE FROM offsets;
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
        log_index     INTEGER NOT NULL UNIQUE,
        leaf          BLOB    NOT NULL,
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
    CREATE TABLE sources (
        partition      INTEGER PRIMARY KEY,
        applied_offset INTEGER NOT NULL
    );
    CREATE TABLE checkpoints (
        size        INTEGER PRIMARY KEY,
        note        TEXT    NOT NULL,
        recorded_at REAL    NOT NULL
    );
    """
    + merkle.SCHEMA,
    # 3: listing (pages in constant time), per-chain counts and membership periods
    """
    CREATE TABLE listing (
        chain_id       TEXT    NOT NULL,  -- '' = every supplier
        supplier_id    TEXT    NOT NULL,
        sequence       INTEGER NOT NULL,
        neg_score      REAL    NOT NULL,  -- -total_score: score DESC, supplier_id ASC as one key
        total_score    REAL    NOT NULL,
        sector_code    TEXT    NOT NULL,
        grade          INTEGER NOT NULL,
        readiness_tier INTEGER NOT NULL,
        PRIMARY KEY (chain_id, supplier_id)
    ) WITHOUT ROWID;
    CREATE INDEX listing_score_desc ON listing (chain_id, neg_score, supplier_id);
    CREATE INDEX listing_score_asc ON listing (chain_id, total_score, supplier_id);
    INSERT INTO listing
        SELECT '', supplier_id, sequence, -total_score, total_score, sector_code, grade,
               readiness_tier FROM current;
    INSERT INTO listing
        SELECT m.chain_id, c.supplier_id, c.sequence, -c.total_score, c.total_score,
               c.sector_code, c.grade, c.readiness_tier
        FROM chain_members m JOIN current c ON c.supplier_id = m.supplier_id;
    CREATE TABLE chain_counts (
        chain_id TEXT PRIMARY KEY,
        members  INTEGER NOT NULL
    );
    INSERT INTO chain_counts SELECT chain_id, COUNT(*) FROM listing GROUP BY chain_id;
    CREATE TABLE memberships (
        chain_id    TEXT    NOT NULL,
        supplier_id TEXT    NOT NULL,
        first_index INTEGER NOT NULL,
        end_index   INTEGER,          -- exclusive; NULL = still a member
        PRIMARY KEY (chain_id, supplier_id, first_index)
    );
    CREATE INDEX memberships_open ON memberships (supplier_id, end_index);
    """,
]


def _backfill_memberships(db: sqlite3.Connection) -> None:
    """Migration 3's membership periods, replayed from the stored entries in log order."""
    open_since: dict[tuple[str, str], int] = {}
    rows: list[tuple[str, str, int, int | None]] = []
    members: dict[str, set[str]] = {}
    for supplier_id, index, data in db.execute(
        "SELECT supplier_id, log_index, rating FROM entries ORDER BY log_index"
    ):
        chains = set(rating_pb2.SupplierRating.FromString(data).chain_ids)
        before = members.get(supplier_id, set())
        for chain in before - chains:
            rows.append((chain, supplier_id, open_since.pop((chain, supplier_id)), int(index)))
        for chain in chains - before:
            open_since[(chain, supplier_id)] = int(index)
        members[supplier_id] = chains
    rows.extend((c, sid, first, None) for (c, sid), first in open_since.items())
    db.executemany("INSERT INTO memberships VALUES (?, ?, ?, ?)", rows)


POST_MIGRATION: dict[int, Callable[[sqlite3.Connection], None]] = {3: _backfill_memberships}
"""Steps in Python that run inside a migration's transaction, after its SQL."""


@dataclass(frozen=True)
class Entry:
    supplier_id: str
    sequence: int
    rating: rating_pb2.SupplierRating
    previous_hash: bytes
    entry_hash: bytes
    recorded_at: float
    index: int = -1  # position in the Merkle log
    leaf: bytes = b""  # the LogEntry bytes whose leaf hash is in the tree


@dataclass(frozen=True)
class Record:
    """A rating as read from Kafka."""

    topic: str
    partition: int
    offset: int
    rating: rating_pb2.SupplierRating | None  # None: undecodable, only the offset advances
    # (partition, offset) on the ratings topic; None = this record's own position
    source: tuple[int, int] | None = None


@dataclass(frozen=True)
class ListFilter:
    """Which current ratings a listing shows, in which order: ``chain_id`` '' = every supplier;
    empty ``grades``/``tiers`` and None bounds filter nothing; ``order`` is ``score_desc``
    (ties by supplier id), ``score_asc`` or ``supplier_id``."""

    chain_id: str
    sector_code: str = ""
    grades: Sequence[int] = ()
    tiers: Sequence[int] = ()
    min_score: float | None = None
    max_score: float | None = None
    order: str = "score_desc"


@dataclass(frozen=True)
class Page:
    """One page of current ratings, ready to send: ``ratings`` is the page's ratings encoded as
    field 1 (``ratings``) of a ``ListRatingsResponse``, so the response is these bytes plus the
    other fields; read in one statement, so ``total`` and ``checkpoint`` are of the same
    committed state as the ratings."""

    ratings: bytes
    count: int  # ratings in ``ratings``
    more: bool  # whether a rating follows the page
    last: tuple[float, str] | None  # (score, supplier id) of the last rating of a full page
    total: int  # ratings matching the filters (all pages)
    checkpoint: str | None  # the latest signed checkpoint note (None: the log has none yet)


@dataclass(frozen=True)
class Verification:
    intact: bool
    entries: int
    head_hash: bytes
    first_broken_sequence: int
    detail: str


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration script, one by one (executescript would commit)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip():
        yield pending


def _varint_hex(n: str) -> str:
    """SQL: the protobuf varint of the integer expression ``n`` (< 2**28) as hex digits."""
    return (
        f"CASE WHEN {n} < 128 THEN printf('%02X', {n}) "
        f"WHEN {n} < 16384 THEN printf('%02X%02X', 128 | ({n} & 127), {n} >> 7) "
        f"WHEN {n} < 2097152 THEN printf('%02X%02X%02X', 128 | ({n} & 127), "
        f"128 | (({n} >> 7) & 127), {n} >> 14) "
        f"ELSE printf('%02X%02X%02X%02X', 128 | ({n} & 127), 128 | (({n} >> 7) & 127), "
        f"128 | (({n} >> 14) & 127), {n} >> 21) END"
    )


FRAMED_RATING = f"'0A' || {_varint_hex('length(rating)')} || hex(rating)"
"""SQL: a page row's rating bytes as field 1 of ListRatingsResponse (tag 0x0A, length), hex."""


def entry_hash(previous: bytes, rating_bytes: bytes) -> bytes:
    return hashlib.sha256(previous + rating_bytes).digest()


class LedgerStore:
    """Thread-safe. Writes go through one connection serialised by a lock (the consumer batches
    them); reads use one read-only connection per thread and take no lock (WAL: they see the
    last committed batch while a batch is appended).

    ``signer`` signs the checkpoints of the log named ``origin``; without one, a key made up for
    this process signs what this process appends (checkpoints nobody can verify later: for tests
    and tools only), and opening the store writes nothing."""

    def __init__(
        self, path: str | Path, signer: Signer | None = None, origin: str = DEFAULT_ORIGIN
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # the one writer waits up to WRITE_WAIT for a lock another process holds (a backup, an
        # operator's shell) before its batch fails
        self._db = sqlite3.connect(
            self.path, timeout=WRITE_WAIT, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, fast
        self._lock = threading.Lock()  # writers only
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self.signer = signer or Signer.generate("ephemeral")
        self.origin = origin
        self.tree = merkle.MerkleTree(self._db)
        self._migrate()
        if signer is not None:  # a store opened only to read (tests, tools) signs nothing
            self._sign_current()

    def _migrate(self) -> None:
        with self._lock:
            db = self._db
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                db.execute("BEGIN")
                try:
                    for statement in _statements(script):
                        db.execute(statement)
                    if step := POST_MIGRATION.get(number):
                        step(db)
                    db.execute(f"PRAGMA user_version = {number}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise

    def _read(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA query_only = ON")
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: the statements inside see one committed state."""
        db = self._read()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self._read().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()
        self._db.close()

    # writing ----------------------------------------------------------------------------

    def offsets(self, topic: str) -> dict[int, int]:
        rows = (
            self._read()
            .execute("SELECT partition, next_offset FROM offsets WHERE topic = ?", (topic,))
            .fetchall()
        )
        return {int(p): int(o) for p, o in rows}

    def save_offsets(self, topic: str, next_offsets: dict[int, int]) -> None:
        """Records how far ``topic`` has been read (the copier's ratings positions)."""
        with self._lock:
            self._db.executemany(
                "INSERT INTO offsets VALUES (?, ?, ?) ON CONFLICT (topic, partition) "
                "DO UPDATE SET next_offset = excluded.next_offset",
                [(topic, p, o) for p, o in next_offsets.items()],
            )

    def applied_sources(self) -> dict[int, int]:
        """The highest ratings-topic offset applied to the log, per partition."""
        rows = self._read().execute("SELECT partition, applied_offset FROM sources").fetchall()
        return {int(p): int(o) for p, o in rows}

    def append(self, records: Sequence[Record]) -> list[Entry]:
        """Appends the ratings that are new, extends the tree, signs a checkpoint of the new
        size and saves the offsets, in one transaction."""
        appended: list[Entry] = []
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                size = self.tree.size()
                applied = {
                    int(p): int(o)
                    for p, o in db.execute("SELECT partition, applied_offset FROM sources")
                }
                next_offsets: dict[tuple[str, int], int] = {}
                for record in records:
                    next_offsets[(record.topic, record.partition)] = record.offset + 1
                    source = record.source or (record.partition, record.offset)
                    if source[1] <= applied.get(source[0], -1):
                        continue  # a second copy of a rating already in the log
                    applied[source[0]] = source[1]
                    if record.rating is None:
                        continue
                    entry = self._append_one(record.rating, now, size + len(appended), source)
                    if entry is not None:
                        appended.append(entry)
                if appended:
                    size = self.tree.append([leaf_hash(e.leaf) for e in appended])
                    self._sign(size, now)
                db.executemany(
                    "INSERT INTO sources VALUES (?, ?) ON CONFLICT (partition) "
                    "DO UPDATE SET applied_offset = excluded.applied_offset",
                    list(applied.items()),
                )
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

    def _sign(self, size: int, now: float) -> str:
        note = Checkpoint(self.origin, size, self.tree.root(size)).sign(self.signer)
        self._db.execute(
            "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (size) "
            "DO UPDATE SET note = excluded.note, recorded_at = excluded.recorded_at",
            (size, note, now),
        )
        return note

    def _sign_current(self) -> None:
        """Makes sure the checkpoint of the current size carries this store's signature (at
        start: the empty log; after a key change the new key cosigns the existing note, so
        clients of either key can verify it; after an origin change it is signed anew)."""
        with self._lock:
            size = self.tree.size()
            text = Checkpoint(self.origin, size, self.tree.root(size)).text()
            row = self._db.execute(
                "SELECT note FROM checkpoints WHERE size = ?", (size,)
            ).fetchone()
            if row is not None and str(row[0]).startswith(text + "\n"):
                try:
                    open_note(row[0], self.signer.verifier())
                    return
                except NoteError:
                    note = str(row[0]) + self.signer.sign_line(text)
            else:
                note = self.signer.sign(text)
            self._db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (size) "
                "DO UPDATE SET note = excluded.note, recorded_at = excluded.recorded_at",
                (size, note, time.time()),
            )

    @staticmethod
    def log_entry(
        index: int,
        rating: rating_pb2.SupplierRating,
        sequence: int,
        data: bytes,
        previous: bytes,
        digest: bytes,
        source: tuple[int, int],
    ) -> bytes:
        """The leaf bytes of an entry (deterministic protobuf of ledger_pb2.LogEntry)."""
        return ledger_pb2.LogEntry(
            index=index,
            supplier_id=rating.supplier_id,
            sequence=sequence,
            rating=data,
            previous_hash=previous,
            entry_hash=digest,
            source_partition=source[0],
            source_offset=source[1],
        ).SerializeToString(deterministic=True)

    def _append_one(
        self,
        rating: rating_pb2.SupplierRating,
        now: float,
        index: int,
        source: tuple[int, int],
    ) -> Entry | None:
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
        leaf = self.log_entry(index, rating, sequence, data, previous, digest, source)
        db.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                index,
                leaf,
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
        self._update_membership(rating, sequence, index, head is None)
        return Entry(rating.supplier_id, sequence, rating, previous, digest, now, index, leaf)

    def _update_membership(
        self, rating: rating_pb2.SupplierRating, sequence: int, index: int, first: bool
    ) -> None:
        """Chain membership, membership periods, listing rows and counts after the supplier's
        entry ``index`` (inside the append transaction)."""
        db, sid = self._db, rating.supplier_id
        before = {
            str(r[0])
            for r in db.execute("SELECT chain_id FROM chain_members WHERE supplier_id = ?", (sid,))
        }
        after = set(rating.chain_ids)
        left, joined = before - after, after - before
        db.executemany(
            "DELETE FROM chain_members WHERE chain_id = ? AND supplier_id = ?",
            [(c, sid) for c in left],
        )
        db.executemany("INSERT INTO chain_members VALUES (?, ?)", [(c, sid) for c in joined])
        db.executemany(
            "UPDATE memberships SET end_index = ? "
            "WHERE chain_id = ? AND supplier_id = ? AND end_index IS NULL",
            [(index, c, sid) for c in left],
        )
        db.executemany(
            "INSERT INTO memberships VALUES (?, ?, ?, NULL)", [(c, sid, index) for c in joined]
        )
        db.executemany(
            "DELETE FROM listing WHERE chain_id = ? AND supplier_id = ?",
            [(c, sid) for c in left],
        )
        score = rating.total_score
        db.executemany(
            "INSERT INTO listing VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (chain_id, supplier_id) DO UPDATE SET sequence = excluded.sequence, "
            "neg_score = excluded.neg_score, total_score = excluded.total_score, "
            "sector_code = excluded.sector_code, grade = excluded.grade, "
            "readiness_tier = excluded.readiness_tier",
            [
                (
                    c,
                    sid,
                    sequence,
                    -score,
                    score,
                    rating.sector_code,
                    rating.grade,
                    rating.readiness_tier,
                )
                for c in ("", *after)
            ],
        )
        changes = [(c, 1) for c in joined] + [(c, -1) for c in left] + ([("", 1)] if first else [])
        db.executemany(
            "INSERT INTO chain_counts VALUES (?, ?) ON CONFLICT (chain_id) "
            "DO UPDATE SET members = members + excluded.members",
            changes,
        )

    # reading (no lock: this thread's read connection) -------------------------------------

    def _entries(self, sql: str, args: Iterable[object]) -> list[Entry]:
        rows = self._read().execute(sql, tuple(args)).fetchall()
        return [
            Entry(
                r[0],
                r[1],
                rating_pb2.SupplierRating.FromString(r[2]),
                bytes(r[3]),
                bytes(r[4]),
                r[5],
                int(r[6]),
                bytes(r[7]),
            )
            for r in rows
        ]

    _ENTRY = (
        "SELECT supplier_id, sequence, rating, previous_hash, entry_hash, recorded_at, "
        "log_index, leaf FROM entries"
    )

    _IN_PERIOD = (
        " AND EXISTS (SELECT 1 FROM memberships m WHERE m.chain_id = ? "
        "AND m.supplier_id = entries.supplier_id AND entries.log_index >= m.first_index "
        "AND (m.end_index IS NULL OR entries.log_index < m.end_index))"
    )

    def current(self, supplier_id: str) -> Entry | None:
        found = self._entries(
            self._ENTRY + " WHERE supplier_id = ? ORDER BY sequence DESC LIMIT 1", (supplier_id,)
        )
        return found[0] if found else None

    def history(
        self,
        supplier_id: str,
        since: float | None = None,
        until: float | None = None,
        chain_id: str = "",
    ) -> list[Entry]:
        """The supplier's entries in order; with ``chain_id``, only those appended while the
        supplier was a member of that chain (its membership periods)."""
        sql = self._ENTRY + " WHERE supplier_id = ?"
        args: list[object] = [supplier_id]
        if since is not None:
            sql += " AND recorded_at >= ?"
            args.append(since)
        if until is not None:
            sql += " AND recorded_at < ?"
            args.append(until)
        if chain_id:
            sql += self._IN_PERIOD
            args.append(chain_id)
        return self._entries(sql + " ORDER BY sequence", args)

    def memberships(self, chain_id: str, supplier_id: str) -> list[tuple[int, int | None]]:
        """The supplier's membership periods in the chain: (first log index, end index
        exclusive or None while a member), oldest first."""
        rows = (
            self._read()
            .execute(
                "SELECT first_index, end_index FROM memberships "
                "WHERE chain_id = ? AND supplier_id = ? ORDER BY first_index",
                (chain_id, supplier_id),
            )
            .fetchall()
        )
        return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]

    def in_chain(self, chain_id: str, supplier_id: str, index: int | None = None) -> bool:
        """Whether the supplier is a member of the chain now, or (``index``) was when entry
        ``index`` was appended."""
        if index is None:
            row = (
                self._read()
                .execute(
                    "SELECT 1 FROM chain_members WHERE chain_id = ? AND supplier_id = ?",
                    (chain_id, supplier_id),
                )
                .fetchone()
            )
        else:
            row = (
                self._read()
                .execute(
                    "SELECT 1 FROM memberships WHERE chain_id = ? AND supplier_id = ? "
                    "AND first_index <= ? AND (end_index IS NULL OR end_index > ?)",
                    (chain_id, supplier_id, index, index),
                )
                .fetchone()
            )
        return row is not None

    def list_query(
        self,
        shown: ListFilter,
        after: tuple[float, str] | None,
        limit: int,
    ) -> tuple[str, list[object], str, list[object], str]:
        """(rows SQL, its arguments, count SQL, its arguments, the rows' order) of
        :meth:`page`: the rows are a keyset range of one ``listing`` index (``''`` = every
        supplier), each with its ``neg_score``, ``total_score``, ``supplier_id`` and
        ``rating``; the count reads the kept counter when there is no filter."""
        where = ["l.chain_id = ?"]
        args: list[object] = [shown.chain_id]
        if shown.sector_code:
            where.append("l.sector_code = ?")
            args.append(shown.sector_code)
        if shown.grades:
            where.append(f"l.grade IN ({','.join('?' * len(shown.grades))})")
            args.extend(shown.grades)
        if shown.tiers:
            where.append(f"l.readiness_tier IN ({','.join('?' * len(shown.tiers))})")
            args.extend(shown.tiers)
        if shown.min_score is not None:
            where.append("l.total_score >= ?")
            args.append(shown.min_score)
        if shown.max_score is not None:
            where.append("l.total_score <= ?")
            args.append(shown.max_score)
        if len(where) == 1:
            count = "SELECT COALESCE(MAX(members), 0) FROM chain_counts WHERE chain_id = ?"
        else:
            count = f"SELECT COUNT(*) FROM listing l WHERE {' AND '.join(where)}"
        count_args = list(args)
        if shown.order == "supplier_id":
            key, index, bound = "supplier_id", "", ["l.supplier_id > ?"]
            bound_args: list[object] = [] if after is None else [after[1]]
        elif shown.order == "score_asc":
            key, index = "total_score, supplier_id", "listing_score_asc"
            bound = ["(l.total_score, l.supplier_id) > (?, ?)"]
            bound_args = [] if after is None else [after[0], after[1]]
        else:  # score_desc, ties by supplier id: ascending in (-score, supplier_id)
            key, index = "neg_score, supplier_id", "listing_score_desc"
            bound = ["(l.neg_score, l.supplier_id) > (?, ?)"]
            bound_args = [] if after is None else [-after[0], after[1]]
        if after is not None:
            where += bound
            args += bound_args
        rows = (
            # the primary key serves supplier_id order; the score orders name their index, so
            # a filter never makes the planner sort instead
            f"SELECT l.neg_score, l.total_score, l.supplier_id, e.rating "
            f"FROM listing l {index and f'INDEXED BY {index}'} JOIN entries e "
            f"ON e.supplier_id = l.supplier_id AND e.sequence = l.sequence "
            f"WHERE {' AND '.join(where)} ORDER BY {', '.join(f'l.{k}' for k in key.split(', '))} "
            f"LIMIT ?"
        )
        return rows, [*args, limit], count, count_args, key

    def page(
        self,
        shown: ListFilter,
        after: tuple[float, str] | None,
        limit: int,
    ) -> Page:
        """Current ratings matching ``shown``, keyset-paginated (``after``: the last (score,
        supplier id) of the previous page), at most ``limit``; with the total count and the
        latest checkpoint.

        One statement that returns one row, the page's ratings concatenated in SQL (hex, as
        ListRatingsResponse field 1): the sqlite3 module releases the GIL for every row it
        steps, and on a busy server each re-acquisition waits for the event loop thread, so a
        page read row by row cost several times its query (issue #15). The statement is also
        one read snapshot: count, checkpoint and ratings agree without a transaction.
        ``group_concat`` takes the rows in the order of the ordered subquery it reads (SQLite
        before 3.44 has no ORDER BY inside an aggregate; the paging tests hold it to that)."""
        rows, args, count, count_args, key = self.list_query(shown, after, limit + 1)
        first = f"SELECT * FROM page ORDER BY {key} LIMIT ?"
        sql = (
            f"WITH page AS MATERIALIZED ({rows}) "
            f"SELECT ({count}), (SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1), "
            f"(SELECT COUNT(*) FROM page), "
            f"(SELECT group_concat({FRAMED_RATING}, '') FROM ({first})), "
            f"(SELECT total_score FROM page ORDER BY {key} LIMIT 1 OFFSET ? - 1), "
            f"(SELECT supplier_id FROM page ORDER BY {key} LIMIT 1 OFFSET ? - 1)"
        )
        total, note, found, framed, score, supplier_id = (
            self._read().execute(sql, [*args, *count_args, *[limit] * 3]).fetchone()
        )
        return Page(
            ratings=bytes.fromhex(framed) if framed else b"",
            count=min(int(found), limit),
            more=int(found) > limit,
            last=None if supplier_id is None else (float(score), str(supplier_id)),
            total=int(total),
            checkpoint=None if note is None else str(note),
        )

    def query_current(
        self,
        shown: ListFilter,
        after: tuple[float, str] | None,
        limit: int,
    ) -> tuple[list[rating_pb2.SupplierRating], int]:
        """:meth:`page` decoded: its ratings and the total count."""
        found = self.page(shown, after, limit)
        return list(ledger_pb2.ListRatingsResponse.FromString(found.ratings).ratings), found.total

    def chain_entries(self, chain_id: str) -> list[tuple[int, int, rating_pb2.SupplierRating]]:
        """(sequence, window_end month, rating) of the entries of the chain's current members
        appended while they were members, for the monthly trend of chain progress."""
        rows = (
            self._read()
            .execute(
                "SELECT e.sequence, e.window_end, e.rating FROM chain_members c "
                "JOIN memberships m ON m.chain_id = c.chain_id AND m.supplier_id = c.supplier_id "
                "JOIN entries e ON e.supplier_id = m.supplier_id AND e.log_index >= m.first_index "
                "AND (m.end_index IS NULL OR e.log_index < m.end_index) "
                "WHERE c.chain_id = ?",
                (chain_id,),
            )
            .fetchall()
        )
        return [(r[0], r[1], rating_pb2.SupplierRating.FromString(r[2])) for r in rows]

    def current_of_chain(self, chain_id: str) -> list[rating_pb2.SupplierRating]:
        rows = (
            self._read()
            .execute(
                "SELECT e.rating FROM listing l JOIN entries e "
                "ON e.supplier_id = l.supplier_id AND e.sequence = l.sequence "
                "WHERE l.chain_id = ?",
                (chain_id,),
            )
            .fetchall()
        )
        return [rating_pb2.SupplierRating.FromString(r[0]) for r in rows]

    def verify(self, supplier_id: str) -> Verification:
        """Recomputes the supplier's chain from the stored bytes; reports the first bad entry."""
        rows = (
            self._read()
            .execute(
                "SELECT sequence, rating, previous_hash, entry_hash FROM entries "
                "WHERE supplier_id = ? ORDER BY sequence",
                (supplier_id,),
            )
            .fetchall()
        )
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

    # the Merkle log -----------------------------------------------------------------------

    def size(self) -> int:
        return merkle.MerkleTree(self._read()).size()

    def checkpoint(self) -> tuple[int, str]:
        """(size, signed note) of the latest checkpoint. Entries read before this call are all
        inside it: checkpoints are signed in the transaction that appends."""
        row = (
            self._read()
            .execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .fetchone()
        )
        return int(row[0]), str(row[1])

    def entry_at(self, index: int) -> Entry | None:
        found = self._entries(self._ENTRY + " WHERE log_index = ?", (index,))
        return found[0] if found else None

    def entry_of(self, supplier_id: str, sequence: int) -> Entry | None:
        """The supplier's entry ``sequence`` (0 = the latest)."""
        if sequence == 0:
            return self.current(supplier_id)
        found = self._entries(
            self._ENTRY + " WHERE supplier_id = ? AND sequence = ?", (supplier_id, sequence)
        )
        return found[0] if found else None

    def entries_from(self, index: int, limit: int) -> list[Entry]:
        """Entries in log order from ``index`` on (at most ``limit``)."""
        return self._entries(
            self._ENTRY + " WHERE log_index >= ? ORDER BY log_index LIMIT ?", (index, limit)
        )

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._snapshot() as db:
            tree = merkle.MerkleTree(db)
            self._check_size(tree, size)
            return tree.inclusion_proof(index, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with self._snapshot() as db:
            tree = merkle.MerkleTree(db)
            self._check_size(tree, second)
            return tree.consistency_proof(first, second)

    @staticmethod
    def _check_size(tree: merkle.MerkleTree, size: int) -> None:
        current = tree.size()
        if size > current:
            raise ValueError(f"the log has {current} entries, not {size}")

"""The ledger's Merkle log on a real SQLite file: leaves, signed checkpoints, proofs checked with
an independent RFC 9162 verifier, replicas that agree, and the must-show: an operator who rewrites
a rating and recomputes every hash and the tree is caught by clients."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from greenchain.common.signed_note import Checkpoint, Signer
from greenchain.ledger.store import MIGRATIONS, LedgerStore, Record
from greenchain.testing.builders import rating
from greenchain.testing.rfc9162 import consistency_ok, hash_leaf, inclusion_ok, mth
from greenchain.testing.tamper import rewrite_rating
from greenchain.v1 import ledger_pb2, rating_pb2

MUN, NAT = rating_pb2.READINESS_TIER_MUNICIPAL, rating_pb2.READINESS_TIER_NATIONAL
ORIGIN = "greenchain.test/ledger"


def ratings(count: int, suppliers: int = 4) -> list[rating_pb2.SupplierRating]:
    return [
        rating(f"s{i % suppliers}", 40.0 + i, MUN, 10.0, revision=i // suppliers + 1)
        for i in range(count)
    ]


def sequence_records(
    items: list[rating_pb2.SupplierRating], start: int = 0, copies: int = 1
) -> list[Record]:
    """Records of the sequence topic: each rating ``copies`` times (several copiers), the
    source position naming the ratings-topic record (partition = supplier number % 2)."""
    out: list[Record] = []
    for i, r in enumerate(items):
        source = (int(r.supplier_id[1:]) % 2, start + i)
        for _ in range(copies):
            out.append(Record("seq", 0, len(out) + start * copies, r, source))
    return out


def checkpoint(store: LedgerStore, signer: Signer) -> Checkpoint:
    return Checkpoint.open(store.checkpoint()[1], signer.verifier())


def test_leaves_are_the_entries_and_every_proof_verifies(tmp_path: Path) -> None:
    signer = Signer.generate("ledger-a")
    store = LedgerStore(tmp_path / "ledger.sqlite3", signer, ORIGIN)
    assert checkpoint(store, signer) == Checkpoint(ORIGIN, 0, mth([]))
    items = ratings(13)
    appended = store.append(sequence_records(items[:6]))
    appended += store.append(sequence_records(items[6:], start=6))
    assert [e.index for e in appended] == list(range(13))
    leaves = [e.leaf for e in appended]
    head = checkpoint(store, signer)
    assert (head.origin, head.size, head.root_hash) == (ORIGIN, 13, mth(leaves))
    for e in appended:
        entry = ledger_pb2.LogEntry.FromString(e.leaf)
        assert (entry.index, entry.supplier_id, entry.sequence) == (
            e.index,
            e.supplier_id,
            e.sequence,
        )
        assert entry.rating == e.rating.SerializeToString(deterministic=True)
        assert (entry.previous_hash, entry.entry_hash) == (e.previous_hash, e.entry_hash)
        proof = store.inclusion_proof(e.index, 13)
        assert inclusion_ok(e.index, 13, hash_leaf(e.leaf), proof, head.root_hash)
    assert consistency_ok(6, 13, mth(leaves[:6]), head.root_hash, store.consistency_proof(6, 13))


def test_two_replicas_fed_the_same_topic_have_the_same_root_at_every_size(
    tmp_path: Path,
) -> None:
    items = ratings(40, suppliers=6)
    a = LedgerStore(tmp_path / "a.sqlite3", Signer.generate("a"), ORIGIN)
    b = LedgerStore(tmp_path / "b.sqlite3", Signer.generate("b"), ORIGIN)
    records = sequence_records(items, copies=2)  # two copiers: every rating twice
    for at in range(0, len(records), 7):  # a reads in batches of 7
        a.append(records[at : at + 7])
    for at in range(0, len(records), 19):  # b in batches of 19
        b.append(records[at : at + 19])
    assert a.size() == b.size() == 40
    for size in (1, 7, 19, 40):
        assert a.tree.root(size) == b.tree.root(size)
    assert [e.leaf for e in a.entries_from(0, 100)] == [e.leaf for e in b.entries_from(0, 100)]


def test_an_operator_who_rewrites_a_rating_and_recomputes_everything_is_caught(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    signer = Signer.generate("ledger")
    store = LedgerStore(path, signer, ORIGIN)
    store.append(sequence_records(ratings(8)))
    # a supplier checks entry s1#1 and keeps its proof; a regulator keeps the checkpoint
    old = checkpoint(store, signer)
    original = store.entry_of("s1", 1)
    assert original is not None
    held_leaf, held_index = original.leaf, original.index
    held_proof = store.inclusion_proof(held_index, old.size)
    assert inclusion_ok(held_index, old.size, hash_leaf(held_leaf), held_proof, old.root_hash)
    store.append(sequence_records(ratings(12)[8:], start=8))  # the log grows
    store.close()

    def better(r: rating_pb2.SupplierRating) -> None:
        r.readiness_tier = NAT
        r.total_score = 95.0

    rewrite_rating(path, "s1", 1, better, signer, ORIGIN)
    reopened = LedgerStore(path, signer, ORIGIN)
    # the ledger is consistent with itself: the forged entry has a valid proof in a signed tree
    new = checkpoint(reopened, signer)
    forged = reopened.entry_of("s1", 1)
    assert forged is not None and forged.rating.readiness_tier == NAT
    proof = reopened.inclusion_proof(forged.index, new.size)
    assert inclusion_ok(forged.index, new.size, hash_leaf(forged.leaf), proof, new.root_hash)
    # ... but the holder of the earlier checkpoint sees that the new tree does not extend it
    assert not consistency_ok(
        old.size,
        new.size,
        old.root_hash,
        new.root_hash,
        reopened.consistency_proof(old.size, new.size),
    )
    # ... and the holder of the original entry sees that it is no longer in the log
    assert not inclusion_ok(held_index, new.size, hash_leaf(held_leaf), proof, new.root_hash)
    # (control: without the rewrite both checks pass; see the first two tests)


def test_a_new_key_cosigns_the_current_size_and_a_schema_1_file_starts_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    old_key = Signer.generate("old")
    store = LedgerStore(path, old_key, ORIGIN)
    store.append(sequence_records(ratings(3)))
    store.close()
    new_key = Signer.generate("new")
    reopened = LedgerStore(path, new_key, ORIGIN)  # the new key cosigns: both verify
    assert checkpoint(reopened, new_key) == checkpoint(reopened, old_key)
    assert checkpoint(reopened, new_key).size == 3
    before = reopened.checkpoint()
    LedgerStore(path)  # opened only to read: writes nothing
    assert reopened.checkpoint() == before

    legacy = tmp_path / "legacy.sqlite3"
    with sqlite3.connect(legacy) as db:
        db.executescript(
            "CREATE TABLE entries (x); CREATE TABLE current (x); CREATE TABLE chain_members (x);"
            "CREATE TABLE offsets (topic TEXT, partition INTEGER, next_offset INTEGER);"
            "INSERT INTO offsets VALUES ('ratings', 0, 99); PRAGMA user_version = 1;"
        )
    rebuilt = LedgerStore(legacy)
    assert rebuilt.schema_version == len(MIGRATIONS) and rebuilt.size() == 0
    assert rebuilt.offsets("ratings") == {}

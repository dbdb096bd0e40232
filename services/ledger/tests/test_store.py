"""The ledger store on a real SQLite file: hash chain, tamper evidence, idempotence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from greenchain.ledger.store import GENESIS, MIGRATIONS, LedgerStore, Record
from greenchain.testing.builders import rating
from greenchain.v1 import rating_pb2

NAT, MUN = rating_pb2.READINESS_TIER_NATIONAL, rating_pb2.READINESS_TIER_MUNICIPAL


def records(*ratings: rating_pb2.SupplierRating, start: int = 0) -> list[Record]:
    return [Record("ratings", 0, start + i, r) for i, r in enumerate(ratings)]


def test_entries_form_a_hash_chain_and_offsets_are_kept(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    appended = store.append(
        records(*(rating("s1", 50 + i, MUN, 10.0, revision=i + 1) for i in range(3)))
    )
    assert [e.sequence for e in appended] == [1, 2, 3]
    assert appended[0].previous_hash == GENESIS
    assert appended[1].previous_hash == appended[0].entry_hash
    assert store.offsets("ratings") == {0: 3}
    assert store.verify("s1").intact and store.verify("s1").head_hash == appended[2].entry_hash


def test_the_same_rating_again_is_not_appended_but_its_offset_is(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    first = rating("s1", 60, MUN, 10.0)
    store.append(records(first))
    again = rating_pb2.SupplierRating()
    again.CopyFrom(first)
    again.revision = 2  # volatile: a re-emission after a scoring restart
    assert store.append(records(again, start=1)) == []
    assert store.offsets("ratings") == {0: 2}
    assert len(store.history("s1")) == 1


def test_editing_one_entry_by_hand_is_reported_exactly(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = LedgerStore(path)
    store.append(records(*(rating("s1", 40 + i, MUN, 10.0, revision=i + 1) for i in range(5))))
    store.append(records(rating("s2", 70, NAT, 10.0), start=5))
    store.close()

    with sqlite3.connect(path) as db:  # a DBA "improves" entry 3's score
        data = db.execute(
            "SELECT rating FROM entries WHERE supplier_id='s1' AND sequence=3"
        ).fetchone()[0]
        forged = rating_pb2.SupplierRating.FromString(data)
        forged.total_score = 99.0
        db.execute(
            "UPDATE entries SET rating=? WHERE supplier_id='s1' AND sequence=3",
            (forged.SerializeToString(deterministic=True),),
        )

    reopened = LedgerStore(path)
    result = reopened.verify("s1")
    assert not result.intact
    assert result.first_broken_sequence == 3
    assert "entry 3" in result.detail
    assert reopened.verify("s2").intact


def test_a_deleted_entry_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = LedgerStore(path)
    store.append(records(*(rating("s1", 40 + i, MUN, 10.0, revision=i + 1) for i in range(4))))
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM entries WHERE supplier_id='s1' AND sequence=2")
    result = LedgerStore(path).verify("s1")
    assert (result.intact, result.first_broken_sequence) == (False, 2)

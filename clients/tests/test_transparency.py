"""The client's own checks of what the ledger serves (no server: entries from a real store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenchain.client.transparency import CheckpointStore, VerificationFailed, check_entries
from greenchain.ledger.server import to_entry
from greenchain.ledger.store import LedgerStore, Record
from greenchain.testing.builders import rating
from greenchain.v1 import ledger_pb2, rating_pb2

MUN = rating_pb2.READINESS_TIER_MUNICIPAL


def history(tmp_path: Path) -> list[ledger_pb2.LedgerEntry]:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    items = [rating(s, 40.0 + i, MUN, 10.0, revision=i + 1) for i, s in enumerate("ababab")]
    store.append([Record("seq", 0, i, r) for i, r in enumerate(items)])
    return [to_entry(e) for e in store.history("a")]


def test_an_honest_history_passes(tmp_path: Path) -> None:
    check_entries(history(tmp_path), "a")


def test_a_history_with_an_entry_left_out_fails(tmp_path: Path) -> None:
    entries = history(tmp_path)
    with pytest.raises(VerificationFailed, match="entry 2 is missing"):
        check_entries([entries[0], entries[2]], "a")


def test_a_rating_shown_other_than_its_leaf_fails(tmp_path: Path) -> None:
    entries = history(tmp_path)
    entries[1].rating.total_score = 99.0  # the server shows a better score than it logged
    with pytest.raises(VerificationFailed, match="not the one in its leaf"):
        check_entries(entries, "a")
    with pytest.raises(VerificationFailed, match="not the one in its leaf"):
        check_entries(history(tmp_path), "b")  # a's entries passed off as b's


def test_the_checkpoint_store_keeps_one_note_per_origin(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "cfg" / "checkpoints")
    assert store.get("x") is None
    store.put("x", "note 1")
    store.put("y", "note 2")
    store.put("x", "note 3")
    assert (store.get("x"), store.get("y")) == ("note 3", "note 2")
    (tmp_path / "cfg" / "checkpoints").write_text("{")
    with pytest.raises(VerificationFailed, match="unreadable"):
        store.get("x")

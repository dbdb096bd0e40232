"""The store at scale and under a writer, on real SQLite files: keyset pages of a large chain
read one index range (the plan says so), membership periods, the schema 2 -> 3 migration, and
readers that go on while a batch is being appended."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenchain.ledger.store import MIGRATIONS, LedgerStore, ListFilter, Record
from greenchain.testing.builders import rating
from greenchain.v1 import ledger_pb2, rating_pb2

MUN = rating_pb2.READINESS_TIER_MUNICIPAL
ORDERS = ("score_desc", "score_asc", "supplier_id")


def records(ratings: list[rating_pb2.SupplierRating], start: int = 0) -> list[Record]:
    return [Record("seq", 0, start + i, r, (0, start + i)) for i, r in enumerate(ratings)]


def all_pages(store: LedgerStore, chain: str, order: str, size: int) -> list[str]:
    seen: list[str] = []
    after: tuple[float, str] | None = None
    while True:
        page, _ = store.query_current(ListFilter(chain, order=order), after, size)
        seen += [r.supplier_id for r in page]
        if len(page) < size:
            return seen
        after = (page[-1].total_score, page[-1].supplier_id)


@pytest.fixture
def chain_store(tmp_path: Path) -> Iterator[LedgerStore]:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    # 600 suppliers: even ones in chain "big", every third also in "other"; scores with ties
    made = [
        rating(
            f"s{i:04d}",
            float(i % 37),
            MUN,
            1.0,
            tuple(c for c, member in (("big", i % 2 == 0), ("other", i % 3 == 0)) if member),
        )
        for i in range(600)
    ]
    store.append(records(made))
    yield store
    store.close()


@pytest.mark.parametrize("order", ORDERS)
def test_keyset_pages_of_a_chain_cover_it_once_in_order(
    chain_store: LedgerStore, order: str
) -> None:
    members = chain_store.current_of_chain("big")
    key = {
        "score_desc": lambda r: (-r.total_score, r.supplier_id),
        "score_asc": lambda r: (r.total_score, r.supplier_id),
        "supplier_id": lambda r: (r.supplier_id,),
    }[order]
    expected = [r.supplier_id for r in sorted(members, key=key)]
    assert len(expected) == 300
    assert all_pages(chain_store, "big", order, 7) == expected
    _, total = chain_store.query_current(ListFilter("big", order=order), None, 7)
    assert total == 300
    _, everyone = chain_store.query_current(ListFilter("", order=order), None, 7)
    assert everyone == 600


def test_a_supplier_leaving_a_chain_leaves_its_list_and_count(chain_store: LedgerStore) -> None:
    chain_store.append(records([rating("s0000", 99.0, MUN, 1.0, ("other",), revision=2)], 600))
    big = all_pages(chain_store, "big", "score_desc", 50)
    assert "s0000" not in big and len(big) == 299
    assert chain_store.query_current(ListFilter("big", order="score_desc"), None, 1)[1] == 299
    assert all_pages(chain_store, "other", "score_desc", 50)[0] == "s0000"


@pytest.mark.parametrize("order", ORDERS)
def test_a_page_of_a_chain_is_one_index_range_without_a_sort(
    chain_store: LedgerStore, order: str
) -> None:
    after = (10.0, "s0100")
    page, args, count, count_args, _ = chain_store.list_query(
        ListFilter("big", order=order), after, 50
    )
    with sqlite3.connect(chain_store.path) as db:
        plan = " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {page}", args))
        counted = " | ".join(
            row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {count}", count_args)
        )
    assert "TEMP B-TREE" not in plan, plan  # no sort of the chain per call
    assert "SCAN" not in plan, plan  # no scan: a range search of one index
    assert "SEARCH l USING" in plan and "(chain_id=? AND" in plan, plan
    assert "SEARCH e USING" in plan, plan  # each row's rating by primary key
    assert "chain_counts" in counted and "SCAN" not in counted, counted


def test_history_for_a_chain_is_limited_to_its_membership_periods(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    sequence = [
        ("x1",),  # 0: before joining c
        ("x1", "c"),  # 1: joined c
        ("c",),  # 2: still in c
        ("x1",),  # 3: left c
        ("x1", "c"),  # 4: back in c
    ]
    store.append(
        records(
            [
                rating("s", 10.0 + i, MUN, 1.0, chains, revision=i + 1)
                for i, chains in enumerate(sequence)
            ]
        )
    )
    assert store.memberships("c", "s") == [(1, 3), (4, None)]
    assert store.memberships("x1", "s") == [(0, 2), (3, None)]
    assert [e.index for e in store.history("s")] == [0, 1, 2, 3, 4]
    assert [e.index for e in store.history("s", chain_id="c")] == [1, 2, 4]
    assert [e.index for e in store.history("s", chain_id="x1")] == [0, 1, 3, 4]
    assert [store.in_chain("c", "s", i) for i in range(5)] == [False, True, True, False, True]
    assert [s for s, _, _ in store.chain_entries("c")] == [2, 3, 5]


def test_a_schema_2_file_keeps_its_log_and_gains_listing_and_periods(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    old = LedgerStore(path)
    old.append(
        records(
            [
                rating("a", 50.0, MUN, 1.0, ("c",)),
                rating("b", 60.0, MUN, 1.0, ("c", "d")),
                rating("a", 70.0, MUN, 1.0, ("d",), revision=2),
            ]
        )
    )
    root = old.checkpoint()
    old.close()
    with sqlite3.connect(path) as db:  # back to schema 2: what migration 3 adds, removed
        db.executescript(
            "DROP TABLE listing; DROP TABLE chain_counts; DROP TABLE memberships; "
            "PRAGMA user_version = 2;"
        )
    store = LedgerStore(path)
    assert store.schema_version == len(MIGRATIONS) == 3
    assert store.checkpoint() == root and store.size() == 3
    assert store.memberships("c", "a") == [(0, 2)]
    assert store.memberships("d", "a") == [(2, None)]
    assert all_pages(store, "d", "score_desc", 1) == ["a", "b"]
    assert all_pages(store, "c", "score_desc", 1) == ["b"]
    assert store.query_current(ListFilter("", order="supplier_id"), None, 5)[1] == 2
    assert store.query_current(ListFilter("d", order="supplier_id"), None, 5)[1] == 2


class Gate(list[Record]):
    """A batch whose iteration stops half-way until the test opens the gate: the append is
    provably in progress (inside its transaction, holding the writer lock) meanwhile."""

    def __init__(self, items: list[Record]) -> None:
        super().__init__(items)
        self.halfway = threading.Event()
        self.open = threading.Event()

    def __iter__(self) -> Iterator[Record]:
        items = list(super().__iter__())
        middle = len(items) // 2
        yield from items[:middle]
        self.halfway.set()
        assert self.open.wait(30), "the gate was never opened"
        yield from items[middle:]


def test_readers_answer_while_a_batch_is_being_appended(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    store.append(records([rating("s0", 10.0, MUN, 1.0, ("c",))]))
    batch = Gate(records([rating(f"n{i}", 20.0, MUN, 1.0, ("c",)) for i in range(100)], 1))
    writer = threading.Thread(target=store.append, args=(batch,))
    writer.start()
    try:
        assert batch.halfway.wait(30)
        answers: dict[str, Any] = {}

        def read() -> None:  # another thread, as the server's reader threads do
            answers["current"] = store.current("s0")
            answers["page"] = store.query_current(ListFilter("c", order="score_desc"), None, 5)
            answers["size"] = store.checkpoint()[0]
            answers["offsets"] = store.offsets("seq")

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), "a reader waited for the writer"
        assert writer.is_alive()  # the batch was still being appended
        # the reader saw the last committed state, nothing of the batch in progress
        page, total = answers["page"]
        assert answers["current"] is not None and total == 1
        assert answers["size"] == 1 and answers["offsets"] == {0: 1}
        assert [r.supplier_id for r in page] == ["s0"]
    finally:
        batch.open.set()
        writer.join(30)
    assert store.size() == 101
    store.close()


@pytest.mark.parametrize(("limit", "more"), [(299, True), (300, False), (301, False)])
def test_a_page_is_response_bytes_with_its_count_checkpoint_and_resume_key(
    chain_store: LedgerStore, limit: int, more: bool
) -> None:
    page = chain_store.page(ListFilter("big", order="score_desc"), None, limit)
    shown = ledger_pb2.ListRatingsResponse.FromString(page.ratings).ratings
    members = sorted(
        chain_store.current_of_chain("big"), key=lambda r: (-r.total_score, r.supplier_id)
    )
    assert [r.supplier_id for r in shown] == [r.supplier_id for r in members[:limit]]
    assert shown[0] == members[0]  # the stored rating, byte for byte
    assert (page.count, page.more, page.total) == (min(limit, 300), more, 300)
    last = members[limit - 1] if limit <= 300 else None
    assert page.last == (None if last is None else (last.total_score, last.supplier_id))
    assert page.checkpoint == chain_store.checkpoint()[1]
    empty = chain_store.page(ListFilter("none", order="score_desc"), None, limit)
    assert (empty.ratings, empty.count, empty.more, empty.total) == (b"", 0, False, 0)

"""LedgerService: real Kafka, real gRPC server on 127.0.0.1, real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml

from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.ledger.server import LedgerServer
from greenchain.testing.builders import rating
from greenchain.testing.flows import produce
from greenchain.testing.grpc_clients import bearer, channel
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2, supplier_pb2

NOT_YET, MUN, PROV, NAT = (
    rating_pb2.READINESS_TIER_NOT_YET,
    rating_pb2.READINESS_TIER_MUNICIPAL,
    rating_pb2.READINESS_TIER_PROVINCIAL,
    rating_pb2.READINESS_TIER_NATIONAL,
)
# A hand-made chain: outputs 100 + 200 + 300 + 400 = 1000; E belongs to another chain.
CHAIN = [
    # designations are facts from the lists, independent of the score: C is designated
    # municipal although its score is not ready; B is ready but not designated
    rating("A", 85.0, NAT, 100.0, ("c1",), designated=supplier_pb2.DESIGNATION_LEVEL_NATIONAL),
    rating("B", 55.0, MUN, 200.0, ("c1",)),
    rating("C", 40.0, NOT_YET, 300.0, ("c1",), designated=supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL),
    rating("D", 20.0, NOT_YET, 400.0, ("c1",)),
    rating("E", 90.0, NAT, 50.0, ("c2",)),
]
TOKENS = {
    "admin": "admin",
    "c1": "chain:c1",
    "c2": "chain:c2",
    "sa": "supplier:A",
    "sc": "supplier:C",
}


LEADER = supplier_pb2.Chain(
    chain_id="c1",
    name="Chain One Motors",
    credit_code="91110000600037341L",
    green_supply_chain=supplier_pb2.Designation(
        level=supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
        year=2023,
        status=supplier_pb2.DESIGNATION_STATUS_ACTIVE,
    ),
)


def publish(settings: Settings, ratings: list[rating_pb2.SupplierRating]) -> None:
    produce(
        settings,
        topic_names.RATINGS,
        ((r.supplier_id.encode(), r.SerializeToString()) for r in ratings),
    )


@dataclass
class Ledger:
    stub: ledger_pb2_grpc.LedgerServiceAsyncStub
    settings: Settings


@pytest.fixture
async def ledger(topics: Settings, tmp_path: Path) -> AsyncIterator[Ledger]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]}
        )
    )
    settings = topics.with_(tokens_file=str(tokens))
    publish(settings, CHAIN)
    produce(settings, topic_names.CHAINS, [(b"c1", LEADER.SerializeToString())])
    async with LedgerServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ledger_pb2_grpc.LedgerServiceStub(ch)
        await wait_for_rating(stub, "E")
        yield Ledger(stub, settings)


async def wait_for_rating(
    stub: ledger_pb2_grpc.LedgerServiceAsyncStub, sid: str, revision: int = 1
) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                entry = await stub.GetRating(
                    ledger_pb2.GetRatingRequest(supplier_id=sid), metadata=bearer("admin")
                )
                if entry.rating.revision >= revision:
                    return
            except grpc.aio.AioRpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.1)


async def test_get_rating_and_history_serve_what_was_produced(
    ledger: Ledger,
) -> None:
    entry = await ledger.stub.GetRating(
        ledger_pb2.GetRatingRequest(supplier_id="B"), metadata=bearer("c1")
    )
    assert entry.rating == CHAIN[1] and entry.sequence == 1 and len(entry.entry_hash) == 32
    update = rating("B", 66.0, PROV, 200.0, ("c1",), revision=2)
    publish(ledger.settings, [update])
    await wait_for_rating(ledger.stub, "B", revision=2)
    history = await ledger.stub.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="B"), metadata=bearer("c1")
    )
    assert [e.rating.total_score for e in history.entries] == [55.0, 66.0]
    assert history.entries[1].previous_hash == history.entries[0].entry_hash
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ledger.stub.GetRating(
            ledger_pb2.GetRatingRequest(supplier_id="Z"), metadata=bearer("admin")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_list_ratings_filters_orders_and_pages_stably(
    ledger: Ledger,
) -> None:
    everything = await ledger.stub.ListRatings(
        ledger_pb2.ListRatingsRequest(chain_id="c1"), metadata=bearer("c1")
    )
    assert [r.supplier_id for r in everything.ratings] == ["A", "B", "C", "D"]  # score desc
    assert everything.total_size == 4

    pages: list[str] = []
    token = ""
    while True:
        page = await ledger.stub.ListRatings(
            ledger_pb2.ListRatingsRequest(chain_id="c1", page_size=1, page_token=token),
            metadata=bearer("c1"),
        )
        pages.extend(r.supplier_id for r in page.ratings)
        token = page.next_page_token
        if not token:
            break
    assert pages == ["A", "B", "C", "D"]

    filtered = await ledger.stub.ListRatings(
        ledger_pb2.ListRatingsRequest(
            chain_id="c1", tiers=[NOT_YET], min_score=30.0, order=ledger_pb2.RATING_ORDER_SCORE_ASC
        ),
        metadata=bearer("c1"),
    )
    assert [r.supplier_id for r in filtered.ratings] == ["C"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ledger.stub.ListRatings(
            ledger_pb2.ListRatingsRequest(
                chain_id="c1", sector_code="C30", page_token=token or "bm9wZQ=="
            ),
            metadata=bearer("c1"),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_chain_progress_matches_the_hand_computation(
    ledger: Ledger,
) -> None:
    progress = await ledger.stub.GetChainProgress(
        ledger_pb2.GetChainProgressRequest(chain_id="c1"), metadata=bearer("c1")
    )
    assert progress.total_output_value_cny == 1000.0
    # the policy's share: designated A (100, national) + C (300, municipal) of 1000
    assert progress.designated_share == pytest.approx(0.40)
    levels = progress.designated_by_level
    national, provincial, municipal = (
        supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
        supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL,
        supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL,
    )
    assert {s.level: s.share for s in levels} == pytest.approx(
        {national: 0.10, provincial: 0.10, municipal: 0.40}
    )
    assert {s.level: s.suppliers for s in levels} == {national: 1, provincial: 1, municipal: 2}
    assert progress.gap_to_target == pytest.approx(0.0)
    # forecast: designated (A, C) + rated ready (A, B): A + B + C = 600 of 1000
    assert progress.forecast_share == pytest.approx(0.60)
    assert progress.readiness_share == pytest.approx(0.30)  # A (100) + B (200) at or above MUN
    shares = {s.tier: s.share for s in progress.tier_shares}
    assert shares == pytest.approx({MUN: 0.30, PROV: 0.10, NAT: 0.10})
    assert progress.target_share == 0.40 and progress.target_year == 2030
    # leverage on the designated share: ready B (+0.20) before not-ready D (+0.40)
    assert [item.supplier_id for item in progress.leverage] == ["B", "D"]
    gains = [(i.designated_share_gain, i.points_to_next_tier) for i in progress.leverage]
    assert [v for item in gains for v in item] == pytest.approx([0.2, 10.0, 0.4, 30.0])
    assert [i.next_tier for i in progress.leverage] == [PROV, MUN]
    assert {c.tier: c.suppliers for c in progress.tier_counts} == {NOT_YET: 2, MUN: 1, NAT: 1}
    assert progress.trend[-1].designated_share == pytest.approx(0.40)
    assert progress.trend[-1].readiness_share == pytest.approx(0.30)
    # the chain leader and its green supply-chain designation, from greenchain.chains.v1
    assert progress.leader.name == "Chain One Motors"
    assert progress.leader.green_supply_chain.level == supplier_pb2.DESIGNATION_LEVEL_NATIONAL


async def test_watch_ratings_streams_new_entries_of_the_chain(
    ledger: Ledger,
) -> None:
    call = ledger.stub.WatchRatings(
        ledger_pb2.WatchRatingsRequest(chain_id="c1"), metadata=bearer("c1")
    )
    await asyncio.sleep(0.5)
    publish(
        ledger.settings,
        [
            rating("E", 91.0, NAT, 50.0, ("c2",), revision=2),
            rating("C", 51.0, MUN, 300.0, ("c1",), revision=2),
        ],
    )
    async with asyncio.timeout(30):
        entry = await call.read()
    call.cancel()
    assert isinstance(entry, ledger_pb2.LedgerEntry)
    assert (entry.supplier_id, entry.rating.total_score, entry.sequence) == ("C", 51.0, 2)


async def test_verify_history_reports_a_hand_edited_entry(
    ledger: Ledger,
) -> None:
    settings: Settings = ledger.settings
    publish(
        settings, [rating("A", 86.0 + i, NAT, 100.0, ("c1",), revision=2 + i) for i in range(3)]
    )
    await wait_for_rating(ledger.stub, "A", revision=4)
    ok = await ledger.stub.VerifyHistory(
        ledger_pb2.VerifyHistoryRequest(supplier_id="A"), metadata=bearer("sa")
    )
    assert ok.intact and ok.entries == 4
    with sqlite3.connect(settings.ledger_db) as db:
        data = db.execute(
            "SELECT rating FROM entries WHERE supplier_id='A' AND sequence=2"
        ).fetchone()[0]
        forged = rating_pb2.SupplierRating.FromString(data)
        forged.readiness_tier = MUN
        db.execute(
            "UPDATE entries SET rating=? WHERE supplier_id='A' AND sequence=2",
            (forged.SerializeToString(),),
        )
    broken = await ledger.stub.VerifyHistory(
        ledger_pb2.VerifyHistoryRequest(supplier_id="A"), metadata=bearer("sa")
    )
    assert (broken.intact, broken.first_broken_sequence) == (False, 2)


@pytest.mark.parametrize(
    ("token", "supplier", "allowed"),
    [
        ("c1", "A", True),
        ("c1", "E", False),
        ("c2", "E", True),
        ("sa", "A", True),
        ("sa", "C", False),
        ("sc", "A", False),
    ],
)
async def test_readers_see_only_their_chain_or_themselves(
    ledger: Ledger, token: str, supplier: str, allowed: bool
) -> None:
    calls: list[Awaitable[object]] = [
        ledger.stub.GetRating(
            ledger_pb2.GetRatingRequest(supplier_id=supplier), metadata=bearer(token)
        ),
        ledger.stub.GetRatingHistory(
            ledger_pb2.GetRatingHistoryRequest(supplier_id=supplier), metadata=bearer(token)
        ),
        ledger.stub.VerifyHistory(
            ledger_pb2.VerifyHistoryRequest(supplier_id=supplier), metadata=bearer(token)
        ),
    ]
    for call in calls:
        if allowed:
            await call
        else:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_chain_queries_need_the_chains_token(
    ledger: Ledger,
) -> None:
    for token in ("c2", "sa"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await ledger.stub.GetChainProgress(
                ledger_pb2.GetChainProgressRequest(chain_id="c1"), metadata=bearer(token)
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ledger.stub.ListRatings(ledger_pb2.ListRatingsRequest(chain_id="c1"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_sigkill_mid_consume_then_restart_loses_and_duplicates_nothing(
    topics: Settings, tmp_path: Path
) -> None:
    ratings = [
        rating(f"s{i % 50:02d}", float(i % 97), MUN, 10.0, revision=i // 50 + 1)
        for i in range(6000)
    ]
    publish(topics, ratings)
    log = tmp_path / "ledger.log"
    settings = topics.with_(ledger_listen="127.0.0.1:0")
    first = ServiceProcess("ledger", settings, log).start()
    db_path = Path(settings.ledger_db)

    def stored() -> int:
        if not db_path.exists():
            return 0
        try:
            with sqlite3.connect(db_path) as db:
                return int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    deadline = time.monotonic() + 60
    while stored() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.kill()
    partial = stored()
    assert 0 < partial < len(ratings), partial

    second = ServiceProcess("ledger", settings, log).start()
    try:
        deadline = time.monotonic() + 90
        while stored() < len(ratings) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # nothing more may arrive
        with sqlite3.connect(db_path) as db:
            rows = db.execute(
                "SELECT supplier_id, sequence, revision FROM entries ORDER BY 1, 2"
            ).fetchall()
    finally:
        second.stop()
    assert len(rows) == len(ratings)
    by_supplier: dict[str, list[tuple[int, int]]] = {}
    for sid, sequence, revision in rows:
        by_supplier.setdefault(sid, []).append((sequence, revision))
    for sid, entries in by_supplier.items():
        assert [s for s, _ in entries] == list(range(1, len(entries) + 1)), (
            sid
        )  # no gap, no duplicate
        assert [r for _, r in entries] == list(range(1, 121)), sid  # every revision exactly once

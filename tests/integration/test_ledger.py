"""LedgerService: real Kafka, real gRPC server on 127.0.0.1, real SQLite file."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml

from greenchain.client.ledger import LedgerClient
from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.common.grpc_server import field_violations
from greenchain.common.signed_note import Checkpoint, Signer, Verifier
from greenchain.ledger.server import RESUME_KEY, LedgerServer
from greenchain.testing.builders import rating
from greenchain.testing.flows import produce
from greenchain.testing.grpc_clients import bearer, channel, read_topic
from greenchain.testing.processes import ServiceProcess
from greenchain.testing.rfc9162 import consistency_ok, hash_leaf, inclusion_ok
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
    verifier: Verifier


def key_file(folder: Path, name: str = "ledger-test") -> tuple[str, Verifier]:
    signer = Signer.generate(name)
    path = folder / f"{name}.key"
    path.write_text(signer.encode() + "\n")
    return str(path), signer.verifier()


@pytest.fixture
async def ledger(topics: Settings, tmp_path: Path) -> AsyncIterator[Ledger]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]}
        )
    )
    key, verifier = key_file(tmp_path)
    settings = topics.with_(tokens_file=str(tokens), ledger_key_file=key)
    publish(settings, CHAIN)
    produce(settings, topic_names.CHAINS, [(b"c1", LEADER.SerializeToString())])
    async with LedgerServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ledger_pb2_grpc.LedgerServiceStub(ch)
        await wait_for_rating(stub, "E")
        yield Ledger(stub, settings, verifier)


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
    assert entry.rating == CHAIN[1] and entry.sequence == 1
    full = await ledger.stub.GetRating(
        ledger_pb2.GetRatingRequest(supplier_id="B"), metadata=bearer("admin")
    )
    assert full.rating == CHAIN[1] and len(full.entry_hash) == 32  # a chain gets no hashes
    update = rating("B", 66.0, PROV, 200.0, ("c1",), revision=2)
    publish(ledger.settings, [update])
    await wait_for_rating(ledger.stub, "B", revision=2)
    history = await ledger.stub.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="B"), metadata=bearer("c1")
    )
    assert [e.rating.total_score for e in history.entries] == [55.0, 66.0]
    history = await ledger.stub.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="B"), metadata=bearer("admin")
    )
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


@pytest.mark.parametrize(
    ("field", "request_"),
    [
        (
            "page_token",
            ledger_pb2.ListRatingsRequest(
                chain_id="c1",
                page_token=base64.urlsafe_b64encode(b"[" * 10_000 + b"]" * 10_000).decode(),
            ),
        ),
        ("page_token", ledger_pb2.ListRatingsRequest(chain_id="c1", page_token="QUFB" * 5000)),
        (
            "grades",
            ledger_pb2.ListRatingsRequest(chain_id="c1", grades=[rating_pb2.GRADE_A] * 40_000),
        ),  # < 64 KiB
        ("tiers", ledger_pb2.ListRatingsRequest(chain_id="c1", tiers=[MUN] * 40_000)),
    ],
    ids=["nested token", "huge token", "40000 grades", "40000 tiers"],
)
async def test_hostile_list_requests_are_invalid_arguments_naming_the_field(
    ledger: Ledger, field: str, request_: ledger_pb2.ListRatingsRequest
) -> None:
    """Issue 19 item 7: not UNKNOWN (RecursionError) nor a SQLite 'too many variables'."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ledger.stub.ListRatings(request_, metadata=bearer("c1"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert field in {f for f, _ in field_violations(err.value)}


async def test_ids_in_requests_must_match_whole(ledger: Ledger) -> None:
    """Issue 19 item 7: "A\\n" is not A, nor an unknown supplier: INVALID_ARGUMENT, naming it."""
    admin = bearer("admin")
    calls: list[tuple[str, Awaitable[object]]] = [
        (
            "supplier_id",
            ledger.stub.GetRating(ledger_pb2.GetRatingRequest(supplier_id="A\n"), metadata=admin),
        ),
        (
            "supplier_id",
            ledger.stub.GetRatingHistory(
                ledger_pb2.GetRatingHistoryRequest(supplier_id="A\n"), metadata=admin
            ),
        ),
        (
            "supplier_id",
            ledger.stub.VerifyHistory(
                ledger_pb2.VerifyHistoryRequest(supplier_id="A\n"), metadata=admin
            ),
        ),
        (
            "chain_id",
            ledger.stub.ListRatings(ledger_pb2.ListRatingsRequest(chain_id="c1\n"), metadata=admin),
        ),
        (
            "chain_id",
            ledger.stub.GetChainProgress(
                ledger_pb2.GetChainProgressRequest(chain_id="c1\n"), metadata=admin
            ),
        ),
    ]
    for field, call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, err.value.details())
        assert field in {f for f, _ in field_violations(err.value)}


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


RIVAL = "rival-chain-9"  # distinctive: found in no checkpoint or hash by chance


async def test_a_chain_sees_only_its_own_membership_in_every_answer(ledger: Ledger) -> None:
    """Issue 19 item 6: M belongs to c1 and a rival chain; c1 is never told of the rival, in no
    RPC, and gets no leaf or hash over the full rating bytes to test guesses against; admin
    still gets the full rating and a leaf that verifies."""
    shared = rating("M", 60.0, MUN, 10.0, ("c1", RIVAL))
    shared.purchases.add(chain_id="c1", annual_purchase_value_cny=5e6)
    shared.purchases.add(chain_id=RIVAL, annual_purchase_value_cny=7e6)
    watch = ledger.stub.WatchRatings(
        ledger_pb2.WatchRatingsRequest(chain_id="c1"), metadata=bearer("c1")
    )
    await asyncio.sleep(0.5)
    publish(ledger.settings, [shared])
    async with asyncio.timeout(30):
        watched = await watch.read()
    watch.cancel()
    await wait_for_rating(ledger.stub, "M")
    c1 = bearer("c1")
    got = await ledger.stub.GetRating(ledger_pb2.GetRatingRequest(supplier_id="M"), metadata=c1)
    listed = await ledger.stub.ListRatings(
        ledger_pb2.ListRatingsRequest(chain_id="c1"), metadata=c1
    )
    history = await ledger.stub.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="M"), metadata=c1
    )
    proof = await ledger.stub.GetInclusionProof(
        ledger_pb2.GetInclusionProofRequest(
            supplier_entry=ledger_pb2.SupplierEntry(supplier_id="M", sequence=1)
        ),
        metadata=c1,
    )
    assert isinstance(watched, ledger_pb2.LedgerEntry)
    entries = [watched, got, *history.entries, proof.entry]
    answers = [watched, got, listed, history, proof]
    for answer in answers:
        assert RIVAL.encode() not in answer.SerializeToString(), type(answer).__name__
    listed_m = [r for r in listed.ratings if r.supplier_id == "M"]
    assert len(listed_m) == 1
    for shown in [*(e.rating for e in entries), *listed_m]:
        assert list(shown.chain_ids) == ["c1"]
        assert [(p.chain_id, p.annual_purchase_value_cny) for p in shown.purchases] == [("c1", 5e6)]
        assert shown.total_score == 60.0  # the rest of the rating is intact
    for entry in entries:
        assert (entry.leaf, entry.entry_hash, entry.previous_hash) == (b"", b"", b"")

    full = await ledger.stub.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="M"), metadata=bearer("admin")
    )
    [entry] = full.entries
    assert list(entry.rating.chain_ids) == ["c1", RIVAL] and len(entry.rating.purchases) == 2
    logged = ledger_pb2.LogEntry.FromString(entry.leaf)
    assert logged.rating == entry.rating.SerializeToString(deterministic=True)
    admin_proof = await ledger.stub.GetInclusionProof(
        ledger_pb2.GetInclusionProofRequest(index=entry.index), metadata=bearer("admin")
    )
    head = Checkpoint.open(admin_proof.checkpoint.note, ledger.verifier)
    assert inclusion_ok(
        entry.index, head.size, hash_leaf(entry.leaf), admin_proof.hashes, head.root_hash
    )


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


async def test_checkpoints_and_proofs_verify_without_trusting_the_server(ledger: Ledger) -> None:
    """Every entry's inclusion proof and the consistency of two checkpoints, checked with the
    RFC 9162 algorithm (greenchain.testing.rfc9162), the checkpoints with the ledger's key."""
    first = Checkpoint.open(
        (
            await ledger.stub.GetCheckpoint(
                ledger_pb2.GetCheckpointRequest(), metadata=bearer("sc")
            )
        ).note,
        ledger.verifier,
    )
    assert first.size == len(CHAIN) and first.origin == ledger.settings.ledger_origin
    publish(ledger.settings, [rating("A", 87.0, NAT, 100.0, ("c1",), revision=2)])
    await wait_for_rating(ledger.stub, "A", revision=2)
    history = await ledger.stub.GetRatingHistory(
        ledger_pb2.GetRatingHistoryRequest(supplier_id="A"), metadata=bearer("sa")
    )
    head = Checkpoint.open(history.checkpoint.note, ledger.verifier)
    assert head.size == len(CHAIN) + 1 and [e.sequence for e in history.entries] == [1, 2]
    for entry in history.entries:
        proof = await ledger.stub.GetInclusionProof(
            ledger_pb2.GetInclusionProofRequest(
                supplier_entry=ledger_pb2.SupplierEntry(supplier_id="A", sequence=entry.sequence),
                tree_size=head.size,
            ),
            metadata=bearer("sa"),
        )
        assert proof.entry.leaf == entry.leaf and proof.index == entry.index
        assert inclusion_ok(
            entry.index, head.size, hash_leaf(entry.leaf), proof.hashes, head.root_hash
        )
        logged = ledger_pb2.LogEntry.FromString(entry.leaf)
        assert logged.rating == entry.rating.SerializeToString(deterministic=True)
        assert (logged.supplier_id, logged.sequence, logged.index) == (
            "A",
            entry.sequence,
            entry.index,
        )
    consistency = await ledger.stub.GetConsistencyProof(
        ledger_pb2.GetConsistencyProofRequest(first_size=first.size), metadata=bearer("sc")
    )
    assert consistency.second_size == head.size
    assert consistency_ok(
        first.size, head.size, first.root_hash, head.root_hash, consistency.hashes
    )
    # entries come with their checkpoint everywhere
    current = await ledger.stub.GetRating(
        ledger_pb2.GetRatingRequest(supplier_id="A"), metadata=bearer("sa")
    )
    assert current.index == history.entries[1].index and current.checkpoint.size == head.size
    page = await ledger.stub.ListRatings(
        ledger_pb2.ListRatingsRequest(chain_id="c1"), metadata=bearer("c1")
    )
    assert Checkpoint.open(page.checkpoint.note, ledger.verifier).size == head.size
    # a proof comes with its entry: only for those who may read it
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ledger.stub.GetInclusionProof(
            ledger_pb2.GetInclusionProofRequest(index=entry.index), metadata=bearer("sc")
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ledger.stub.GetConsistencyProof(
            ledger_pb2.GetConsistencyProofRequest(first_size=1, second_size=head.size + 1),
            metadata=bearer("sc"),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # witnesses find the checkpoints on the compacted topic
    published = await read_topic(
        ledger.settings, ledger.settings.topic(topic_names.LEDGER_CHECKPOINTS), 1
    )
    assert Checkpoint.open(published[-1][1].decode(), ledger.verifier).origin == head.origin


async def test_two_ledgers_on_one_ratings_topic_build_the_same_tree(
    topics: Settings, tmp_path: Path
) -> None:
    """Two replicas with their own files and keys, started together (both copy every rating to
    the sequence topic): same leaves, same root at the same size, no entry twice."""
    first_batch = [
        rating(f"r{i:03d}", float(i % 90), MUN, 10.0, (f"c{i % 3}",)) for i in range(300)
    ]
    publish(topics, first_batch)
    replicas = []
    for name in ("a", "b"):
        key, verifier = key_file(tmp_path, f"replica-{name}")
        settings = topics.with_(ledger_db=str(tmp_path / f"{name}.sqlite3"), ledger_key_file=key)
        replicas.append((settings, verifier))
    async with (
        LedgerServer(replicas[0][0], listen="127.0.0.1:0") as a,
        LedgerServer(replicas[1][0], listen="127.0.0.1:0") as b,
    ):
        second_batch = [
            rating(f"r{i:03d}", float(i % 90) + 1, MUN, 10.0, (f"c{i % 3}",), revision=2)
            for i in range(0, 300, 2)
        ]
        publish(topics, second_batch)
        expected = len(first_batch) + len(second_batch)
        async with asyncio.timeout(60):
            while a.store.size() < expected or b.store.size() < expected:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # nothing more (no second copy) may arrive
        assert a.store.size() == b.store.size() == expected
        for size in (1, 150, 300, 301, expected):
            assert a.store.tree.root(size) == b.store.tree.root(size)
        leaves_a = [e.leaf for e in a.store.entries_from(0, expected)]
        assert leaves_a == [e.leaf for e in b.store.entries_from(0, expected)]
        assert (
            len({(e.supplier_id, e.sequence) for e in a.store.entries_from(0, expected)})
            == expected
        )
        cp_a = Checkpoint.open(a.store.checkpoint()[1], replicas[0][1])
        cp_b = Checkpoint.open(b.store.checkpoint()[1], replicas[1][1])
        assert (cp_a.size, cp_a.root_hash) == (cp_b.size, cp_b.root_hash)


async def test_a_throttled_watcher_is_cut_off_and_resumes_without_losing_an_entry(
    topics: Settings, tmp_path: Path
) -> None:
    """A watcher that reads slower than the log grows is cut off (RESOURCE_EXHAUSTED, with the
    index to resume from); reconnecting from its last index + 1 it gets every entry exactly
    once, then live ones."""
    settings = topics.with_(ledger_watch_max_lag=40)
    publish(settings, [rating("w-first", 50.0, MUN, 10.0, ("cw",))])
    waves, per_wave = 12, 50
    async with LedgerServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ledger_pb2_grpc.LedgerServiceStub(ch)
        await wait_for_rating(stub, "w-first")
        start = server.store.size()
        received: list[int] = []
        cut_offs: list[str] = []

        async def produce_waves() -> None:
            for wave in range(waves):
                batch = [
                    rating(f"w{i:03d}", float(wave), MUN, 10.0, ("cw",), revision=wave + 1)
                    for i in range(per_wave)
                ]
                await asyncio.to_thread(publish, settings, batch)
                await asyncio.sleep(0.1)

        async def watch() -> None:
            request = ledger_pb2.WatchRatingsRequest(chain_id="cw", from_index=start)
            while len(received) < waves * per_wave:
                call = stub.WatchRatings(request)
                try:
                    async for entry in call:
                        received.append(entry.index)
                        if len(received) == waves * per_wave:
                            call.cancel()
                            return
                        await asyncio.sleep(0.004)  # a slow consumer: ~250 entries/s
                except grpc.aio.AioRpcError as err:
                    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err
                    resume = dict(err.trailing_metadata() or ())[RESUME_KEY]
                    cut_offs.append(resume)
                    assert int(resume) == received[-1] + 1 if received else start
                    request = ledger_pb2.WatchRatingsRequest(
                        chain_id="cw", from_index=received[-1] + 1 if received else start
                    )

        async with asyncio.timeout(90):
            await asyncio.gather(produce_waves(), watch())
        assert cut_offs, "the watcher was never cut off: the test did not throttle it enough"
        assert received == list(range(start, start + waves * per_wave))  # each once, in order


async def test_the_clients_watch_resumes_by_itself_after_a_cut_off(topics: Settings) -> None:
    """LedgerClient.watch (behind `greenchain watch`) reconnects from its last index: a slow
    reader still sees every entry of its chain once, in log order, and none of another chain."""
    settings = topics.with_(ledger_watch_max_lag=30)
    async with LedgerServer(settings, listen="127.0.0.1:0") as server:
        client = LedgerClient(f"127.0.0.1:{server.port}")
        start = server.store.size()
        wanted = [
            rating(f"k{i:03d}", float(i % 90), MUN, 10.0, ("ck" if i % 4 else "other",))
            for i in range(400)
        ]
        received: list[tuple[int, str]] = []

        async def follow() -> None:
            async for entry in client.watch("ck", from_index=start):
                received.append((entry.index, entry.supplier_id))
                if len(received) == 300:
                    return
                await asyncio.sleep(0.003)

        async def feed() -> None:
            for at in range(0, 400, 50):
                await asyncio.to_thread(publish, settings, wanted[at : at + 50])
                await asyncio.sleep(0.05)

        async with asyncio.timeout(90):
            await asyncio.gather(follow(), feed())
        in_chain = [e for e in server.store.entries_from(start, 1000) if "ck" in e.rating.chain_ids]
        assert received == [(e.index, e.supplier_id) for e in in_chain]
        assert server.servicer.cut_offs > 0, "never cut off: the reader was not slow enough"

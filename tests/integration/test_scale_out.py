"""Adding scoring workers adds capacity and changes nothing else (issue #15).

The same registry and declarations go through two pipelines on the real broker: one with a
single scoring worker, one with three in the same group, one of which is SIGKILLed half-way
(the survivors take its partitions over: a rebalance). Settled, both ledgers serve the same
ratings, byte for byte once the fields that record emission history are cleared (``as_of``,
``revision``, ``score_change``, ``previous_tier``), and those equal the model's over the whole
population at once: benchmarks and ranks are the population's, whichever worker rated.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from greenchain.common.ratings import VOLATILE_FIELDS
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.scoring.watchdog import STALL_SECONDS
from greenchain.testing.flows import offline_ratings, sample_declarations
from greenchain.testing.kafka_broker import isolated_settings
from greenchain.testing.pipeline import Pipeline, pipeline
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2


def settled_bytes(rating: rating_pb2.SupplierRating) -> bytes:
    core = rating_pb2.SupplierRating()
    core.CopyFrom(rating)
    for name in VOLATILE_FIELDS:
        core.ClearField(name)
    return core.SerializeToString(deterministic=True)


def differing(a: bytes, b: bytes) -> list[str]:
    """The names of the rating fields in which two serialized ratings differ."""
    x, y = rating_pb2.SupplierRating.FromString(a), rating_pb2.SupplierRating.FromString(b)
    fields = rating_pb2.SupplierRating.DESCRIPTOR.fields
    return [f.name for f in fields if getattr(x, f.name) != getattr(y, f.name)]


def run(
    workers: int,
    suppliers: list[supplier_pb2.Supplier],
    decls: list[declaration_pb2.Declaration],
    bootstrap: str,
    workdir: Path,
) -> dict[str, bytes]:
    settings = isolated_settings(bootstrap, workdir, topic_partitions=6, scoring_batch_size=40)
    ensure_topics(settings)
    items = [Item(d, i) for i, d in enumerate(decls)]
    with pipeline(settings, workdir / "logs", scoring_workers=workers) as running:

        async def feed(running: Pipeline) -> dict[str, rating_pb2.SupplierRating]:
            connector = Connector(running.settings.ingest_listen, chunk_size=20, max_backoff=2)
            await upsert_suppliers(connector, suppliers)
            acknowledged = 0

            def progress(n: int) -> None:
                nonlocal acknowledged
                acknowledged += n
                if (
                    workers > 1
                    and acknowledged >= len(items) // 2
                    and running.services[f"scoring-{workers}"].running
                ):
                    running.kill(f"scoring-{workers}")  # a rebalance mid-run

            summary = await connector.send(items, on_progress=progress)
            assert summary.accepted == len(items)
            # quiet for longer than the stall watchdog's reaction and a few snapshot cycles
            return await running.settled_ledger(len(suppliers), quiet=STALL_SECONDS + 10)

        served = asyncio.run(feed(running))
        if workers > 1:
            assert not running.services[f"scoring-{workers}"].running
            logs = [running.services[f"scoring-{n}"].log_text() for n in range(2, workers)]
            logs.append(running.services["scoring"].log_text())
            assert sum("published snapshot" in log for log in logs) >= 1  # a leader built them
    return {sid: settled_bytes(r) for sid, r in served.items()}


def test_one_or_three_workers_settle_on_the_same_ratings(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suppliers, decls = sample_declarations(suppliers=60, months=6, seed=23)
    one = run(1, suppliers, decls, kafka_bootstrap, tmp_path / "one")
    three = run(3, suppliers, decls, kafka_bootstrap, tmp_path / "three")
    expected = {sid: settled_bytes(r) for sid, r in offline_ratings(suppliers, decls).items()}
    assert set(one) == set(three) == set(expected)
    # per supplier, the fields that differ from the model's (none)
    for settled in (one, three):
        problems = {sid: differing(settled[sid], expected[sid]) for sid in settled}
        assert {sid: fields for sid, fields in problems.items() if fields} == {}

"""Fault injection on the whole pipeline: a connector run over real processes and a real broker,
one part broken in the middle of it. Afterwards nothing may be lost or doubled:

* every accepted declaration id is in the provenance of the final ratings,
* the final ratings equal those of an uninterrupted run (the model run once, offline),
* the ledger holds each distinct rating of the ratings topic once, in topic order, and every
  supplier's hash chain verifies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from greenchain.common import topics as topic_names
from greenchain.common.ratings import rating_fingerprint
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.flows import (
    assert_same_ratings,
    offline_ratings,
    provenance,
    read_all,
    sample_declarations,
)
from greenchain.testing.kafka_broker import PrivateBroker, isolated_settings, private_broker
from greenchain.testing.pipeline import Pipeline, pipeline
from greenchain.v1 import rating_pb2

FAULTS = ["kafka-broker-restart", "sigkill-ingest", "sigkill-scoring", "sigkill-ledger"]


@contextmanager
def broker_for(fault: str, tmp_path: Path) -> Iterator[PrivateBroker | None]:
    """A broker of the test's own when the fault is to restart it; None: use the shared one."""
    if fault == "kafka-broker-restart":
        with private_broker(tmp_path / "kafka") as broker:
            yield broker
    else:
        yield None


async def inject(fault: str, running: Pipeline, broker: PrivateBroker | None) -> None:
    if broker is not None:
        await asyncio.to_thread(broker.down)
        await asyncio.sleep(3)
        await asyncio.to_thread(broker.up)
        return
    service = fault.removeprefix("sigkill-")
    running.kill(service)
    await asyncio.sleep(1)
    await asyncio.to_thread(running.start, service)


def collapse(fingerprints: list[str]) -> list[str]:
    """A run of equal consecutive fingerprints as one (what the ledger stores of a repeat)."""
    return [f for i, f in enumerate(fingerprints) if i == 0 or fingerprints[i - 1] != f]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_mid_run_loses_and_doubles_nothing(
    fault: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    suppliers, decls = sample_declarations(suppliers=60, months=8, seed=7)
    items = [Item(d, i) for i, d in enumerate(decls)]
    with broker_for(fault, tmp_path) as broker:
        bootstrap = broker.bootstrap if broker else kafka_bootstrap
        settings = isolated_settings(bootstrap, tmp_path, scoring_batch_size=50)
        ensure_topics(settings)
        with pipeline(settings, tmp_path / "logs") as running:

            async def run() -> tuple[int, dict[str, rating_pb2.SupplierRating]]:
                # small chunks and a fault once a third is acknowledged: it lands mid-run
                connector = Connector(running.settings.ingest_listen, chunk_size=25, max_backoff=2)
                await upsert_suppliers(connector, suppliers)
                acknowledged = 0
                fault_task: asyncio.Task[None] | None = None

                def progress(n: int) -> None:
                    nonlocal acknowledged, fault_task
                    acknowledged += n
                    if fault_task is None and acknowledged >= len(items) // 3:
                        fault_task = asyncio.create_task(inject(fault, running, broker))

                summary = await connector.send(items, on_progress=progress)
                assert fault_task is not None
                await fault_task
                return summary.accepted, await running.settled_ledger(len(suppliers))

            accepted, served = asyncio.run(run())
            on_topic = asyncio.run(read_all(settings, topic_names.RATINGS, quiet=2, within=60))
            stored = running.ledger_fingerprints()
            broken = running.broken_chains()

    assert accepted == len(items)
    expected = offline_ratings(suppliers, decls)
    assert_same_ratings(served, expected)
    assert {sid: r.declarations_digest for sid, r in served.items()} == provenance(decls)
    # the ledger: each rating of the topic once (a re-emitted identical rating is not a new
    # entry), in topic order, nothing skipped; every hash chain intact
    emitted: dict[str, list[str]] = {}
    for value in on_topic:
        rating = rating_pb2.SupplierRating.FromString(value)
        emitted.setdefault(rating.supplier_id, []).append(rating_fingerprint(rating))
    assert stored == {sid: collapse(fps) for sid, fps in emitted.items()}
    assert not broken

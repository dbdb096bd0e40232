"""A broker lost for good on a real three-node cluster: the pipeline runs on
``scripts/kafka.sh up --cluster`` with every topic (faust's changelog too) at replication 3 and
``min.insync.replicas=2``, and the leader of the declarations topic is SIGKILLed mid-run (no
controlled shutdown, no leader hand-over). Afterwards:

* every acknowledged declaration is on the declarations topic exactly once,
* the settled ratings equal those of an uninterrupted run and cite every declaration,
* the ledger holds each rating of the ratings topic once, in order, with intact hash chains,
* every produce request (ingest's, scoring's, the ledger's) asked for acks=all, as the nodes'
  request logs show,
* faust found its changelog and leader topics at start (made by ensure_topics and known to every
  node before the worker starts; else its first table write fails with PartitionsMismatch),

and the pipeline kept going on the two nodes left. A service that exits is started again, as
Kubernetes would (scoring's watchdog exits on purpose when its partitions stay stuck); the test
prints which did.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from greenchain.common import topics as topic_names
from greenchain.common.config import Settings
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
    read_declarations_on_topic,
    sample_declarations,
)
from greenchain.testing.kafka_broker import BrokerCluster, broker_cluster, isolated_settings
from greenchain.testing.pipeline import Pipeline, pipeline
from greenchain.v1 import rating_pb2


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[BrokerCluster]:
    with broker_cluster(tmp_path / "cluster") as running:
        yield running


def describe(settings: Settings, topic: str) -> tuple[dict[int, tuple[int, list[int]]], str]:
    """Per partition (leader, replicas) of ``topic``, and its min.insync.replicas."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        (described,) = admin.describe_topics([topic])
        layout = {
            p["partition_index"]: (p["leader_id"], list(p["replica_nodes"]))
            for p in described["partitions"]
        }
        resource = ConfigResource(ConfigResourceType.TOPIC, topic)
        configs = admin.describe_configs([resource])["topic"][topic]
        return layout, configs["min.insync.replicas"]["value"]
    finally:
        admin.close()


async def supervise(running: Pipeline, restarts: list[str]) -> None:
    """What Kubernetes does (restartPolicy Always): a service that exits is started again.
    Scoring's watchdog exits on purpose when its partitions stay stuck (README, Operations)."""
    while True:
        for name, service in running.services.items():
            if not service.running:
                restarts.append(name)
                await asyncio.to_thread(running.start, name)
        await asyncio.sleep(0.5)


async def settled(
    running: Pipeline, expected: int, quiet: float = 8.0, within: float = 300.0
) -> dict[str, rating_pb2.SupplierRating]:
    """The ledger's ratings once it serves ``expected`` suppliers, unchanged for ``quiet`` s
    (as Pipeline.settled_ledger, but a service restarting meanwhile is not an error)."""
    deadline = time.monotonic() + within
    last: tuple[int, str] = (-1, "")
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        try:
            ratings = await running.ledger_ratings()
        except grpc.aio.AioRpcError:  # the ledger is restarting
            await asyncio.sleep(1.0)
            continue
        state = (len(ratings), "".join(sorted(rating_fingerprint(r) for r in ratings.values())))
        if state != last:
            last, last_change = state, time.monotonic()
        elif len(ratings) >= expected and time.monotonic() - last_change >= quiet:
            return ratings
        await asyncio.sleep(1.0)
    raise TimeoutError(f"the ledger serves {last[0]} of {expected} suppliers")


def collapse(fingerprints: list[str]) -> list[str]:
    """A run of equal consecutive fingerprints as one (what the ledger stores of a repeat)."""
    return [f for i, f in enumerate(fingerprints) if i == 0 or fingerprints[i - 1] != f]


def test_sigkill_of_the_declarations_leader_loses_and_doubles_nothing(
    cluster: BrokerCluster, tmp_path: Path
) -> None:
    suppliers, decls = sample_declarations(suppliers=40, months=6, seed=11)
    items = [Item(d, i) for i, d in enumerate(decls)]
    settings = isolated_settings(
        cluster.bootstrap,
        tmp_path,
        topic_replication=3,
        topic_min_insync_replicas=2,
        scoring_batch_size=50,
    )
    ensure_topics(settings)
    layout, min_isr = describe(settings, settings.topic(topic_names.DECLARATIONS))
    assert min_isr == "2"
    assert all(sorted(replicas) == [1, 2, 3] for _, replicas in layout.values())
    leader = layout[0][0]
    cluster.log_requests()  # to show which acks every producer asked for
    killed: list[int] = []
    restarts: list[str] = []

    with pipeline(settings, tmp_path / "logs") as running:

        async def run() -> tuple[int, dict[str, rating_pb2.SupplierRating]]:
            connector = Connector(running.settings.ingest_listen, chunk_size=25, max_backoff=2)
            await upsert_suppliers(connector, suppliers)
            acknowledged = 0
            fault: asyncio.Task[None] | None = None

            def progress(n: int) -> None:
                nonlocal acknowledged, fault
                acknowledged += n
                if fault is None and acknowledged >= len(items) // 3:
                    fault = asyncio.create_task(asyncio.to_thread(cluster.kill, leader))
                    killed.append(acknowledged)

            supervisor = asyncio.create_task(supervise(running, restarts))
            try:
                summary = await connector.send(items, on_progress=progress)
                assert fault is not None
                await fault
                return summary.accepted, await settled(running, len(suppliers))
            finally:
                supervisor.cancel()

        accepted, served = asyncio.run(run())
        on_declarations = asyncio.run(read_declarations_on_topic(settings, quiet=2, within=60))
        on_ratings = asyncio.run(read_all(settings, topic_names.RATINGS, quiet=2, within=60))
        stored = running.ledger_fingerprints()
        broken = running.broken_chains()
        running.check_running()  # every service is up at the end
        scoring_log = running.services["scoring"].log_text()
        changelog = topic_names.scoring_changelog(settings)
        changelog_layout, changelog_min_isr = describe(settings, changelog)

    acks: dict[str, set[int]] = {}  # topic -> the acks its producers asked for
    for request in cluster.produce_requests():
        for topic in request.topics:
            if topic.startswith(settings.topic_namespace):
                acks.setdefault(topic, set()).add(request.acks)
    print(f"services restarted after exiting: {restarts or 'none'}")
    print(f"acks of the produce requests per topic: {acks}")
    assert killed and killed[0] < len(items)  # the broker died mid-run
    assert cluster.pid(leader) is None  # and stayed dead to the end
    assert accepted == len(items)
    # every acknowledged declaration on the topic exactly once
    counts = Counter(d.declaration_id for d in on_declarations)
    assert set(counts) == {d.declaration_id for d in decls}
    assert [i for i, n in counts.items() if n != 1] == []
    # settled ratings for all, as an uninterrupted run rates them, citing every declaration
    assert_same_ratings(served, offline_ratings(suppliers, decls))
    assert {sid: r.declarations_digest for sid, r in served.items()} == provenance(decls)
    emitted: dict[str, list[str]] = {}
    for value in on_ratings:
        rating = rating_pb2.SupplierRating.FromString(value)
        emitted.setdefault(rating.supplier_id, []).append(rating_fingerprint(rating))
    assert stored == {sid: collapse(fps) for sid, fps in emitted.items()}
    assert not broken
    # faust's changelog is as durable as greenchain's own topics
    assert changelog_min_isr == "2"
    assert all(len(replicas) == 3 for _, replicas in changelog_layout.values())
    # every write was acks=all (-1): ingest's declarations, scoring's ratings and changelog...
    for topic in (topic_names.DECLARATIONS, topic_names.RATINGS):
        assert acks.get(settings.topic(topic)) == {-1}, topic
    assert acks.get(changelog) == {-1}
    assert set().union(*acks.values()) == {-1}
    # faust saw its own topics from the start
    assert "PartitionsMismatch" not in scoring_log
    assert "Ignoring missing topic" not in scoring_log

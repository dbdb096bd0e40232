"""What operators rely on, against a real broker: readers that survive bad records, health that
turns NOT_SERVING when an essential task dies, Prometheus metrics on each service process, and
log lines that never carry a bearer token."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from kafka import KafkaProducer

from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.common.health import check
from greenchain.common.logs import setup_logging
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.ingest.server import IngestServer
from greenchain.testing.builders import envelope, supplier
from greenchain.testing.flows import (
    assert_same_ratings,
    offline_ratings,
    produce_declarations,
    produce_registry,
    sample_declarations,
    settled_ratings,
)
from greenchain.testing.grpc_clients import bearer, channel
from greenchain.testing.kafka_broker import free_port, isolated_settings
from greenchain.testing.pipeline import pipeline
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ingest_pb2_grpc, supplier_pb2

TOKENS = {"admin-token": "admin", "chain-token": "chain:chain-a"}


def write_tokens(path: Path) -> Path:
    entries = [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    return path


def produce_raw(settings: Settings, base: str, records: list[tuple[bytes, bytes | None]]) -> None:
    """Records as they are, tombstones (None) included."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    try:
        for key, value in records:
            producer.send(settings.topic(base), key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def poison(settings: Settings) -> None:
    """Records today's readers die of: garbage bytes, a registry entry from a newer schema (a
    designation level this version does not know), a tombstone whose key is not UTF-8, and
    garbage on the ratings topic."""
    newer = supplier("sup-new")
    newer.sites[0].green_factory.CopyFrom(
        supplier_pb2.Designation(level=9, status=supplier_pb2.DESIGNATION_STATUS_ACTIVE)  # type: ignore[arg-type]
    )
    produce_raw(
        settings,
        topic_names.SUPPLIERS,
        [
            (b"sup-garbage", b"\xff\x00garbage\x13"),
            (b"sup-new", newer.SerializeToString()),
            (b"\xff\xfe", None),
        ],
    )
    produce_raw(settings, topic_names.RATINGS, [(b"sup-garbage", b"\xff\x00garbage\x13")])


def scrape(url: str) -> dict[str, float]:
    """``name{labels}`` -> value of every sample at ``url`` (Prometheus text format)."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    found = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        have = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if metric == name and all(have.get(k) == v for k, v in labels.items()):
            found += value
    return found


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return err.code


async def test_poison_records_at_start_up_do_not_stop_ingest_or_scoring(
    topics: Settings, tmp_path: Path
) -> None:
    poison(topics)
    suppliers, decls = sample_declarations(suppliers=6, months=4)
    posted = supplier("sup-posted")  # its declaration comes through ingest
    suppliers.append(posted)
    produce_registry(topics, suppliers)
    produce_declarations(topics, decls)
    extra = envelope("energy", supplier_id=posted.supplier_id)
    settings = topics.with_(scoring_metrics_port=free_port())
    worker = ServiceProcess("scoring", settings, tmp_path / "scoring.log").start()
    try:
        # ingest reads the same registry: it must come up and accept a registered supplier's
        async with asyncio.timeout(60):
            server = await IngestServer(topics, listen="127.0.0.1:0").__aenter__()
        try:
            assert server.servicer.reader.skipped == 2  # the garbage and the bad tombstone
            assert "sup-new" in server.servicer.registry  # readable for ingest: kept
            async with channel(server.port) as ch:
                stub = ingest_pb2_grpc.IngestServiceStub(ch)
                result = await stub.SubmitDeclaration(extra)
            assert result.WhichOneof("outcome") == "accepted"
            serving, _ = await asyncio.to_thread(check, f"127.0.0.1:{server.port}")
            assert serving
        finally:
            await server.__aexit__(None, None, None)
        await asyncio.to_thread(worker.wait_for_log, "scoring ready", 60)
        ratings = await asyncio.to_thread(settled_ratings, topics, len(suppliers))
        metrics = scrape(f"http://127.0.0.1:{settings.scoring_metrics_port}/metrics")
    finally:
        worker.stop()
    assert_same_ratings(ratings, offline_ratings(suppliers, [*decls, extra]))
    log = (tmp_path / "scoring.log").read_text()
    assert "skipped a record that cannot be read" in log
    skipped = total(metrics, "greenchain_kafka_skipped_records_total")
    # the unknown level on the registry (one reader, which keeps following); scoring no longer
    # reads the ratings topic (its restart state is the compacted indicators topic)
    assert skipped >= 1


async def test_a_dead_registry_reader_turns_ingest_not_serving(topics: Settings) -> None:
    server = await IngestServer(topics, listen="127.0.0.1:0").__aenter__()
    try:
        target = f"127.0.0.1:{server.port}"
        assert (await asyncio.to_thread(check, target))[0]
        # the fault: the reader's Kafka consumer goes away under it (as after a fatal client
        # error); the reading task ends while the server still runs
        consumer = server.servicer.reader._consumer
        assert consumer is not None
        await consumer.stop()
        async with asyncio.timeout(20):
            await server.failed.wait()  # set once health says NOT_SERVING
        assert await asyncio.to_thread(check, target) == (False, f"{target}: NOT_SERVING")
        assert server.failure is not None and "greenchain.suppliers" in server.failure
    finally:
        await server.__aexit__(None, None, None)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("json", stream=out)
    try:
        yield out
    finally:
        root.handlers, root.level = handlers, level


async def test_no_log_line_of_a_request_carries_its_bearer_token(
    topics: Settings, tmp_path: Path, json_log: io.StringIO
) -> None:
    settings = topics.with_(tokens_file=str(write_tokens(tmp_path / "tokens.yaml")))
    wrong = "not-a-known-token-7f3a9c"
    async with IngestServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SubmitDeclaration(envelope("energy"), metadata=bearer(wrong))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as denied:  # a chain may not post
            await stub.SubmitDeclaration(envelope("energy"), metadata=bearer("chain-token"))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    calls = [line for line in lines if "SubmitDeclaration" in str(line["event"])]
    assert [c["event"].split()[2] for c in calls] == ["UNAUTHENTICATED", "PERMISSION_DENIED"]
    assert all(len(str(c["trace_id"])) == 32 for c in calls)  # each in its request's trace
    text = json_log.getvalue()
    assert wrong not in text and "chain-token" not in text


def test_every_service_serves_its_metrics(kafka_bootstrap: str, tmp_path: Path) -> None:
    suppliers, decls = sample_declarations(suppliers=12, months=4, seed=3)
    unknown = envelope("energy", supplier_id="sup-unknown")
    items = [Item(d, i) for i, d in enumerate([*decls, unknown])]
    settings = isolated_settings(kafka_bootstrap, tmp_path, log_format="json")
    ensure_topics(settings)
    with pipeline(settings, tmp_path / "logs") as running:

        async def run() -> int:
            connector = Connector(running.settings.ingest_listen)
            await upsert_suppliers(connector, suppliers)
            summary = await connector.send(items)
            await running.settled_ledger(len(suppliers))
            return summary.accepted

        accepted = asyncio.run(run())
        ingest = scrape(running.metrics_url("ingest"))
        ledger = scrape(running.metrics_url("ledger"))
        deadline = time.monotonic() + 30  # the watchdog measures lag every 5 s
        while True:
            scoring = scrape(running.metrics_url("scoring"))
            lag = total(scoring, "greenchain_kafka_consumer_lag", service="scoring")
            partitions = [k for k in scoring if k.startswith("greenchain_kafka_consumer_lag{")]
            if (partitions and lag == 0) or time.monotonic() > deadline:
                break
            time.sleep(1)
        base = running.metrics_url("scoring").removesuffix("/metrics")
        probes = http_status(f"{base}/healthz"), http_status(f"{base}/readyz")
        ingest_log = (tmp_path / "logs" / "ingest.log").read_text().splitlines()

    assert accepted == len(decls)
    # ingest: declarations by outcome and reason, produce latency, gRPC server metrics
    assert total(ingest, "greenchain_ingest_declarations_total", outcome="accepted") == accepted
    assert total(ingest, "greenchain_ingest_declarations_total", reason="INVALID_ARGUMENT") == 1
    # a produce per registry entry and per declaration record (many declarations per record)
    assert total(ingest, "greenchain_kafka_produce_seconds_count") >= len(suppliers) + 1
    assert total(ingest, "greenchain_kafka_produce_seconds_sum") > 0
    assert total(
        ingest, "grpc_server_handled_total", grpc_method="UpsertSupplier", grpc_code="OK"
    ) == len(suppliers)
    assert total(ingest, "grpc_server_handling_seconds_count", grpc_method="StreamDeclarations")
    # scoring: batches, ratings, lag per partition, produce latency, probes
    assert total(scoring, "greenchain_scoring_batch_size_sum") >= 1  # records, not declarations
    assert total(scoring, "greenchain_scoring_batch_seconds_count") >= 1
    emitted = total(scoring, "greenchain_scoring_ratings_emitted_total")
    assert emitted >= len(suppliers)
    assert total(scoring, "greenchain_kafka_produce_seconds_count") >= emitted
    assert len(partitions) == settings.topic_partitions and lag == 0
    assert probes == (200, 200)
    # ledger: append latency, entries, lag, gRPC
    assert total(ledger, "greenchain_ledger_append_seconds_count") >= 1
    assert total(ledger, "greenchain_ledger_entries_appended_total") >= len(suppliers)
    assert total(ledger, "greenchain_kafka_consumer_lag", service="ledger") == 0
    assert total(ledger, "grpc_server_handled_total", grpc_method="ListRatings", grpc_code="OK")
    # JSON logs
    records = [json.loads(line) for line in ingest_log if line.strip()]
    assert any(r["event"] == "IngestServer started" for r in records)

"""The scoring worker as a real process against a real broker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from greenchain.common import topics as topics_mod
from greenchain.common.batches import BATCH_FORMAT_HEADER, encode_batch, partition_for
from greenchain.common.config import Settings
from greenchain.scoring.model import Methodology
from greenchain.scoring.watchdog import STALL_SECONDS
from greenchain.testing.flows import (
    assert_same_ratings,
    offline_ratings,
    produce,
    produce_declarations,
    produce_registry,
    provenance,
    sample_declarations,
    settled_ratings,
)
from greenchain.testing.grpc_clients import read_topic
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import declaration_pb2


def test_declarations_in_ratings_out_with_the_models_values(
    topics: Settings, tmp_path: Path
) -> None:
    suppliers, decls = sample_declarations(suppliers=30, months=6)
    produce_registry(topics, suppliers)
    worker = ServiceProcess("scoring", topics, tmp_path / "scoring.log").start()
    try:
        worker.wait_for_log("scoring ready")
        produce_declarations(topics, decls)
        ratings = settled_ratings(topics, expected=len(suppliers))
    finally:
        worker.stop()
    expected = offline_ratings(suppliers, decls)
    assert_same_ratings(ratings, expected)
    # explainable: every indicator with benchmark, leading value and points; provenance complete
    sample = next(iter(ratings.values()))
    methodology = Methodology.load()
    assert len(sample.indicators) == len(methodology.indicators) and len(sample.categories) == 5
    assert sum(c.points for c in sample.categories) == pytest.approx(sample.total_score, abs=1e-3)
    assert {sid: r.declarations_digest for sid, r in ratings.items()} == provenance(decls)


def test_garbage_goes_to_the_dlq_and_valid_records_are_still_rated(
    topics: Settings, tmp_path: Path
) -> None:
    suppliers, decls = sample_declarations(suppliers=3, months=4)
    produce_registry(topics, suppliers)
    no_body = declaration_pb2.Declaration(
        declaration_id="x-1", supplier_id=suppliers[0].supplier_id
    )
    produce(
        topics,
        topics_mod.DECLARATIONS,
        [(b"sup-00001", b"\xff\x00garbage\x13"), (b"sup-00001", no_body.SerializeToString())],
    )
    produce_declarations(topics, decls)
    worker = ServiceProcess("scoring", topics, tmp_path / "scoring.log").start()
    try:
        ratings = settled_ratings(topics, expected=len(suppliers))
    finally:
        worker.stop()
    assert_same_ratings(ratings, offline_ratings(suppliers, decls))
    dead = asyncio.run(read_topic(topics, topics.topic(topics_mod.DECLARATIONS_DLQ), 2))
    assert {value for _, value, _ in dead} == {b"\xff\x00garbage\x13", no_body.SerializeToString()}
    for _, _, headers in dead:
        names = dict(headers)
        assert (
            names["error"]
            and names["source.topic"] == topics.topic(topics_mod.DECLARATIONS).encode()
        )


def test_batch_records_and_old_records_are_rated_and_one_bad_declaration_dead_letters_alone(
    topics: Settings, tmp_path: Path
) -> None:
    """Existing one-declaration records, then batch records as ingest writes them with one
    declaration scoring cannot accept in the middle of a batch: the ratings are those of the
    good declarations, and the DLQ holds that one declaration alone, with its position."""
    from kafka import KafkaProducer

    suppliers, decls = sample_declarations(suppliers=8, months=4, seed=21)
    produce_registry(topics, suppliers)
    half = len(decls) // 2
    produce_declarations(topics, decls[:half])  # the original form, as existing data has it
    no_body = declaration_pb2.Declaration(
        declaration_id="x-1", supplier_id=suppliers[0].supplier_id
    )
    parts: dict[int, list[tuple[declaration_pb2.Declaration, dict[str, str]]]] = {}
    for d in [*decls[half:], no_body]:
        partition = partition_for(d.supplier_id.encode(), topics.topic_partitions)
        parts.setdefault(partition, []).append((d, {"traceparent": f"t-{d.declaration_id}"}))
    bad_partition = partition_for(no_body.supplier_id.encode(), topics.topic_partitions)
    bad_part = parts[bad_partition]
    bad_part.insert(len(bad_part) // 2, bad_part.pop())  # amid good ones, not last
    bad_index = next(i for i, (d, _) in enumerate(bad_part) if d is no_body)
    producer = KafkaProducer(bootstrap_servers=topics.kafka_bootstrap_servers, acks="all")
    try:
        sent = {
            partition: producer.send(
                topics.topic(topics_mod.DECLARATIONS),
                key=entries[0][0].supplier_id.encode(),
                value=encode_batch(entries),
                headers=[BATCH_FORMAT_HEADER],
                partition=partition,
            )
            for partition, entries in parts.items()
        }
        producer.flush(60)
        bad_offset = sent[bad_partition].get(10).offset
    finally:
        producer.close()

    worker = ServiceProcess("scoring", topics, tmp_path / "scoring.log").start()
    try:
        ratings = settled_ratings(topics, expected=len(suppliers))
    finally:
        worker.stop()
    assert_same_ratings(ratings, offline_ratings(suppliers, decls))
    # at least once (a retried batch sends its dead letters again), and only that declaration
    dead = asyncio.run(read_topic(topics, topics.topic(topics_mod.DECLARATIONS_DLQ), 1))
    for key, value, headers in dead:
        assert (key, value) == (no_body.supplier_id.encode(), no_body.SerializeToString())
        names = dict(headers)
        assert names["error"].startswith(b"Unacceptable")
        assert names["source.partition"] == str(bad_partition).encode()
        assert names["source.offset"] == str(bad_offset).encode()
        assert names["source.index"] == str(bad_index).encode()
        assert names["traceparent"] == b"t-x-1"


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_sigkill_mid_stream_then_restart_ends_with_the_uninterrupted_ratings(
    topics: Settings, tmp_path: Path, store: str
) -> None:
    suppliers, decls = sample_declarations(suppliers=40, months=8, seed=3)
    produce_registry(topics, suppliers)
    # a correction and a duplicate on the way, as real traffic has
    correction = declaration_pb2.Declaration()
    correction.CopyFrom(decls[0])
    correction.submitted_at.seconds += 60
    body = getattr(correction, correction.WhichOneof("body") or "")
    first_field = body.DESCRIPTOR.fields[0].name
    setattr(body, first_field, getattr(body, first_field) * 0.5)
    correction.declaration_id = decls[0].declaration_id + "-corrected"
    stream = [*decls, decls[5], correction]

    log = tmp_path / "scoring.log"
    settings = topics.with_(scoring_batch_size=100, scoring_store=store)
    worker = ServiceProcess("scoring", settings, log).start()
    worker.wait_for_log("scoring ready")
    half = len(stream) // 2
    produce_declarations(topics, stream[:half])
    time.sleep(2.0)  # let it rate part of the first half
    worker.kill()
    produce_declarations(topics, stream[half:])
    restarted = ServiceProcess("scoring", settings, log).start()
    try:
        # quiet longer than the stall watchdog's reaction time (STALL_SECONDS), so a record
        # range faust skipped on its recovery path is re-read before the ratings count as settled
        ratings = settled_ratings(topics, expected=len(suppliers), quiet=STALL_SECONDS + 5)
    finally:
        restarted.stop()
    final = [d for d in stream if d is not decls[0]]
    assert_same_ratings(ratings, offline_ratings(suppliers, final))
    assert {sid: r.declarations_digest for sid, r in ratings.items()} == provenance(final)


def test_a_worker_killed_while_catching_up_reads_again_what_it_owed_ratings_for(
    topics: Settings, tmp_path: Path
) -> None:
    """Catching up (a history written before the worker starts), the worker applies batches
    and holds back their acks until it rates each supplier once at the end. Killed before that
    (SIGKILL), its group's committed offset stopped before every record it owed a rating for:
    the restarted worker reads them again and ends with the uninterrupted ratings."""
    suppliers, decls = sample_declarations(suppliers=60, months=12, seed=8)
    produce_registry(topics, suppliers)
    produce_declarations(topics, decls)  # one record each: many small batches
    log = tmp_path / "scoring.log"
    settings = topics.with_(
        scoring_batch_size=10, scoring_catch_up_records=1, scoring_catch_up_seconds=600.0
    )
    worker = ServiceProcess("scoring", settings, log).start()
    worker.wait_for_log("catching up")
    worker.kill()
    killed_log = worker.log_text()
    assert "caught up" not in killed_log  # killed while it owed ratings
    restarted = ServiceProcess("scoring", settings, log).start()
    try:
        ratings = settled_ratings(topics, expected=len(suppliers), quiet=STALL_SECONDS + 5)
        restarted.wait_for_log("caught up")
    finally:
        restarted.stop()
    assert_same_ratings(ratings, offline_ratings(suppliers, decls))
    assert {sid: r.declarations_digest for sid, r in ratings.items()} == provenance(decls)


def _set_topic_config(settings: Settings, topic: str, configs: dict[str, str]) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
    finally:
        admin.close()


def test_a_rejected_emit_is_retried_and_no_declaration_is_skipped(
    topics: Settings, tmp_path: Path
) -> None:
    """The broker refuses the ratings (MESSAGE_TOO_LARGE, not retried by the producer) until the
    operator fixes the topic: the worker retries the same batch instead of acknowledging it,
    and in the end every declaration is in a rating, with no restart."""
    ratings_topic = topics.topic(topics_mod.RATINGS)
    _set_topic_config(topics, ratings_topic, {"max.message.bytes": "512"})  # a rating is larger
    suppliers, decls = sample_declarations(suppliers=12, months=4, seed=9)
    produce_registry(topics, suppliers)
    log = tmp_path / "scoring.log"
    worker = ServiceProcess("scoring", topics.with_(scoring_emit_retry_seconds=300.0), log).start()
    try:
        worker.wait_for_log("scoring ready")
        produce_declarations(topics, decls)
        worker.wait_for_log("MessageSizeTooLargeError", within=90)  # the broker said no
        time.sleep(3)  # a few more failed attempts
        _set_topic_config(topics, ratings_topic, {"max.message.bytes": "1048588"})
        ratings = settled_ratings(topics, expected=len(suppliers), quiet=STALL_SECONDS + 5)
        assert worker.running, "the worker stopped instead of retrying"
    finally:
        worker.stop()
    assert_same_ratings(ratings, offline_ratings(suppliers, decls))

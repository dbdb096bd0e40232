"""A worker killed between writing a rating and its indicators record (issue #18 campaign,
seed 1043275376): the restarted worker must not give the next rating the same revision.

Real broker; the worker's start-up reading (``preload``) on topics this test writes as the
crashed worker left them: the indicators topic names rating revision 1, the ratings topic has
revision 2 after it.
"""

from __future__ import annotations

from kafka import KafkaProducer

from greenchain.common import topics as topic_names
from greenchain.common.config import Settings
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.model import Methodology
from greenchain.scoring.worker import preload
from greenchain.v1 import benchmark_pb2, rating_pb2


def _rating(revision: int, total: float) -> rating_pb2.SupplierRating:
    return rating_pb2.SupplierRating(supplier_id="sup-001", revision=revision, total_score=total)


async def test_a_rating_without_its_indicators_record_counts_for_the_next_revision(
    topics: Settings,
) -> None:
    producer = KafkaProducer(bootstrap_servers=topics.kafka_bootstrap_servers, acks="all")
    ratings, indicators = topics.topic(topic_names.RATINGS), topics.topic(topic_names.INDICATORS)
    try:
        first = producer.send(
            ratings, key=b"sup-001", value=_rating(1, 50.0).SerializeToString()
        ).get(timeout=30)
        named = benchmark_pb2.SupplierIndicators(
            supplier_id="sup-001",
            emitted=benchmark_pb2.EmittedRating(
                revision=1,
                fingerprint="f1",
                total_score=50.0,
                rating_partition=first.partition,
                rating_next_offset=first.offset + 1,
            ),
        )
        producer.send(indicators, key=b"sup-001", value=named.SerializeToString()).get(timeout=30)
        # the crash: revision 2 is on the ratings topic, its indicators record never written
        producer.send(ratings, key=b"sup-001", value=_rating(2, 61.5).SerializeToString()).get(
            timeout=30
        )
    finally:
        producer.close()

    engine = ScoringEngine(Methodology.load())
    readers = await preload(topics, engine)
    try:
        resumed = engine.emitted["sup-001"]
        assert resumed.revision == 2
        assert resumed.signature[0] == 61.5
        assert "sup-001" in engine.dirty  # rated again; emitted only if it differs from rev 2
        assert engine.ratings_named_up_to == {first.partition: first.offset + 1}
    finally:
        for reader in readers:
            await reader.stop()

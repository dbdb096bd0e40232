"""Resuming revisions after a crash between a rating and its indicators record.

``ScoringWorker.emit`` writes a batch's ratings, then (once Kafka acked them) their indicators
records, each naming its rating's position on the ratings topic. A worker killed between the two
writes leaves ratings that no indicators record names; a restarted worker reads just those (the
ratings after the last named position of each partition) so that the next revision of such a
supplier follows them and no revision is given twice.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import DecodeError

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import assign_all_partitions, client_security, start_with_retry
from greenchain.scoring.engine import ScoringEngine
from greenchain.v1 import rating_pb2

log = logging.getLogger(__name__)


async def read_unnamed_ratings(settings: Settings, engine: ScoringEngine) -> None:
    """The ratings after the last position an indicators record names, per partition: those a
    worker emitted and then stopped before writing their indicators records (emit() writes a
    rating first). Their revisions count, so no revision is given twice. The cost follows that
    crash window; a partition no indicators record names yet is read from its beginning."""
    topic = settings.topic(topics.RATINGS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **client_security(settings),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await start_with_retry(consumer.start, f"reader of {topic}")
    try:
        partitions = await assign_all_partitions(consumer, topic)
        ends = await consumer.end_offsets(partitions)
        named = engine.ratings_named_up_to
        todo = [tp for tp in partitions if named.get(tp.partition, 0) < ends[tp]]
        if not todo:
            return
        consumer.assign(todo)  # never an empty assignment: aiokafka's stop() then hangs
        for tp in todo:
            if tp.partition in named:
                consumer.seek(tp, named[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        read = newer = 0

        def tp_of(partition: int) -> TopicPartition:
            return TopicPartition(topic, partition)

        while any([await consumer.position(tp) < ends[tp] for tp in todo]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.value is None or record.offset >= ends[tp_of(record.partition)]:
                        continue
                    read += 1
                    try:
                        newer += engine.remember_rating(
                            rating_pb2.SupplierRating.FromString(record.value)
                        )
                    except DecodeError:
                        log.warning("skipping undecodable rating at offset %d", record.offset)
        if newer:
            log.warning(
                "%d ratings on the topic had no indicators record (a worker stopped between "
                "the two writes): revisions resume after them",
                newer,
            )
        log.info("ratings after the last named positions: %d read", read)
    finally:
        await consumer.stop()

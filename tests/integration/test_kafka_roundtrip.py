"""The contract survives a real broker: topics are created, declarations round-trip unchanged."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from greenchain.common.config import Settings
from greenchain.common.topics import DECLARATIONS, SUPPLIERS, ensure_topics, topic_specs
from greenchain.testing.builders import BODY_KINDS, envelope
from greenchain.testing.grpc_clients import read_topic
from greenchain.v1 import declaration_pb2


def test_ensure_topics_creates_each_topic_once_with_its_config(settings: Settings) -> None:
    created = ensure_topics(settings)
    assert sorted(created) == sorted(spec.name for spec in topic_specs(settings))
    assert ensure_topics(settings) == []  # idempotent

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        (described,) = admin.describe_topics([settings.topic(DECLARATIONS)])
        assert len(described["partitions"]) == 3
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic(SUPPLIERS))
        configs = admin.describe_configs([resource])["topic"][settings.topic(SUPPLIERS)]
        assert configs["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()


async def test_declarations_round_trip_every_field(topics: Settings) -> None:
    topic = topics.topic(DECLARATIONS)
    sent = [envelope(kind, supplier_id=f"sup-{i}") for i, kind in enumerate(BODY_KINDS)]
    producer = KafkaProducer(
        bootstrap_servers=topics.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    try:
        for decl in sent:
            metadata = producer.send(
                topic, key=decl.supplier_id.encode(), value=decl.SerializeToString()
            ).get(timeout=30)
            assert metadata.offset >= 0
    finally:
        producer.close()

    records = await read_topic(topics, topic, len(sent))
    received = {
        declaration_pb2.Declaration.FromString(value).declaration_id: (key, value)
        for key, value, _ in records
    }

    for decl in sent:
        key, value = received[decl.declaration_id]
        assert key == decl.supplier_id.encode()
        assert value == decl.SerializeToString()
        assert declaration_pb2.Declaration.FromString(value) == decl
        assert decl.WhichOneof("body") is not None

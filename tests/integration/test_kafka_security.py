"""Kafka with logins and ACLs (``scripts/kafka.sh up --secure``): no client writes the ratings
topic (which the ledger appends as genuine) without the scoring login, each service's login can
do only its part of the data path, and the pipeline still rates declarations end to end with
every service logged in as itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.kafka_acls import ensure_acls
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.flows import assert_same_ratings, offline_ratings, sample_declarations
from greenchain.testing.kafka_broker import SecureBroker, isolated_settings, secure_broker
from greenchain.testing.pipeline import SERVICES, Pipeline
from greenchain.v1 import rating_pb2


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("kafka-secure")) as running:
        yield running


@pytest.fixture
def admin(broker: SecureBroker, tmp_path: Path) -> Settings:
    """The admin login in a namespace of this test's own, its topics and ACLs created."""
    settings = broker.settings_as(isolated_settings(broker.bootstrap, tmp_path), "admin")
    topics.ensure_topics(settings)
    ensure_acls(settings)
    return settings


def send_one(settings: Settings, base_topic: str) -> None:
    """Writes one record to ``base_topic`` with ``settings``' login (a fresh producer: a refusal
    stays with the producer that met it)."""
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        max_block_ms=8000,
        request_timeout_ms=8000,
        **client_security(settings),
    )
    try:
        producer.send(settings.topic(base_topic), key=b"sup-1", value=b"forged").get(timeout=15)
    finally:
        producer.close(timeout=5)


def record_count(admin: Settings, base_topic: str) -> int:
    """Records on ``base_topic`` (sum of its partitions' end offsets), read as admin."""
    consumer = KafkaConsumer(
        bootstrap_servers=admin.kafka_bootstrap_servers, **client_security(admin)
    )
    try:
        name = admin.topic(base_topic)
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def test_a_client_without_a_login_cannot_write_ratings(admin: Settings) -> None:
    anonymous = admin.with_(
        kafka_security_protocol="PLAINTEXT", kafka_username="", kafka_password_file=""
    )
    with pytest.raises(KafkaError):
        send_one(anonymous, topics.RATINGS)
    assert record_count(admin, topics.RATINGS) == 0


def test_a_wrong_password_is_refused(admin: Settings, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password")
    with pytest.raises(KafkaError):
        impostor = admin.with_(kafka_username="scoring", kafka_password_file=str(wrong))
        send_one(impostor, topics.RATINGS)
    assert record_count(admin, topics.RATINGS) == 0


WRITES = [
    ("ingest", topics.DECLARATIONS, True),
    ("ingest", topics.SUPPLIERS, True),
    ("ingest", topics.CHAINS, True),
    ("ingest", topics.RATINGS, False),
    ("scoring", topics.RATINGS, True),
    ("scoring", topics.DECLARATIONS_DLQ, True),
    ("scoring", topics.SUPPLIERS, False),
    ("scoring", topics.DECLARATIONS, False),
    ("ledger", topics.LEDGER_SEQUENCE, True),
    ("ledger", topics.RATINGS, False),
    ("ledger", topics.CHAINS, False),
]


@pytest.mark.parametrize(("user", "topic", "allowed"), WRITES)
def test_a_service_login_writes_only_its_own_topics(
    broker: SecureBroker, admin: Settings, user: str, topic: str, allowed: bool
) -> None:
    login = broker.settings_as(admin, user)
    if allowed:
        send_one(login, topic)
        assert record_count(admin, topic) == 1
    else:
        with pytest.raises(TopicAuthorizationFailedError):
            send_one(login, topic)
        assert record_count(admin, topic) == 0


@pytest.mark.parametrize(
    ("user", "topic"), [("ledger", topics.DECLARATIONS), ("ingest", topics.RATINGS)]
)
def test_a_service_login_cannot_read_another_part_of_the_data_path(
    broker: SecureBroker, admin: Settings, user: str, topic: str
) -> None:
    send_one(admin, topic)  # something to read
    login = broker.settings_as(admin, user)
    consumer = KafkaConsumer(
        bootstrap_servers=login.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        **client_security(login),
    )
    try:
        consumer.assign([TopicPartition(login.topic(topic), p) for p in range(3)])
        with pytest.raises(TopicAuthorizationFailedError):
            for _ in range(20):
                assert not consumer.poll(timeout_ms=500)
    finally:
        consumer.close()


def test_the_pipeline_rates_declarations_with_each_service_logged_in_as_itself(
    broker: SecureBroker, admin: Settings, tmp_path: Path
) -> None:
    suppliers, decls = sample_declarations(suppliers=12, months=3, seed=3)
    running = Pipeline(admin.with_(scoring_batch_size=50), tmp_path / "logs")
    for name in SERVICES:  # each process with its own login, none with the admin's
        running.services[name].env.update(broker.login_env(name))
    try:
        running.start()

        async def run() -> tuple[int, dict[str, rating_pb2.SupplierRating]]:
            connector = Connector(running.settings.ingest_listen, chunk_size=50, max_backoff=2)
            await upsert_suppliers(connector, suppliers)
            summary = await connector.send([Item(d, i) for i, d in enumerate(decls)])
            return summary.accepted, await running.settled_ledger(len(suppliers))

        accepted, served = asyncio.run(run())
        logs = {name: s.log_text() for name, s in running.services.items()}
    finally:
        running.stop()
    assert accepted == len(decls)
    assert_same_ratings(served, offline_ratings(suppliers, decls))
    for name, text in logs.items():
        assert "TopicAuthorizationFailed" not in text, name

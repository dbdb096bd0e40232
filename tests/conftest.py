"""Fixtures shared by every test folder: a real Kafka broker and isolated topic namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from greenchain.common.config import Settings
from greenchain.common.topics import ensure_topics
from tests.kafka_broker import kafka_broker


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real broker (see tests/kafka_broker.py for where it comes from)."""
    with kafka_broker() as address:
        yield address


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings on the real broker, in a topic namespace of this test's own."""
    data = tmp_path_factory.mktemp("greenchain")
    return Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=3,
        ledger_db=str(data / "ledger.sqlite3"),
        scoring_data_dir=str(data / "scoring"),
    )


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """``settings`` with every greenchain topic created."""
    ensure_topics(settings)
    return settings

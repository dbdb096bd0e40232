"""Fixtures shared by every test folder: a real Kafka broker and isolated topic namespaces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greenchain.common.config import Settings
from greenchain.common.telemetry import setup_tracing
from greenchain.common.topics import ensure_topics
from greenchain.testing.kafka_broker import isolated_settings, kafka_broker


@pytest.fixture(scope="session", autouse=True)
def tracing() -> None:
    """A real tracer provider (exporting nothing), as every service process installs one."""
    setup_tracing("greenchain-tests", Settings(otel_exporter="none"))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real broker (see tests/kafka_broker.py for where it comes from)."""
    with kafka_broker() as address:
        yield address


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings on the real broker, in a topic namespace of this test's own."""
    return isolated_settings(kafka_bootstrap, tmp_path_factory.mktemp("greenchain"))


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """``settings`` with every greenchain topic created."""
    ensure_topics(settings)
    return settings

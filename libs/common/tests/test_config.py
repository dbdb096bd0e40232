from __future__ import annotations

import pytest

from greenchain.common.config import ENVIRONMENT, Settings


def test_defaults_and_environment_overrides() -> None:
    settings = Settings.from_env(
        {"GREENCHAIN_TOPIC_PARTITIONS": "12", "GREENCHAIN_SCORING_BATCH_SECONDS": "0.5"}
    )
    assert settings.topic_partitions == 12
    assert settings.scoring_batch_seconds == 0.5
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="GREENCHAIN_TOPIC_PARTITIONS"):
        Settings.from_env({"GREENCHAIN_TOPIC_PARTITIONS": "many"})


def test_namespace_prefixes_topics_and_groups() -> None:
    settings = Settings(topic_namespace="acme.")
    assert settings.topic("greenchain.ratings.v1") == "acme.greenchain.ratings.v1"
    assert settings.group("ledger") == "acme.greenchain-ledger"


def test_every_setting_is_documented() -> None:
    assert all(name.isupper() and doc for name, _, doc in ENVIRONMENT)


def test_namespace_without_a_separator_gets_one() -> None:
    assert Settings(topic_namespace="acme").topic_namespace == "acme."
    assert Settings.from_env({"GREENCHAIN_TOPIC_NAMESPACE": "t1"}).topic("x") == "t1.x"
    for kept in ("acme.", "acme-", "acme_", ""):
        assert Settings(topic_namespace=kept).topic_namespace == kept


def test_namespace_with_characters_kafka_refuses_is_rejected() -> None:
    with pytest.raises(ValueError, match="GREENCHAIN_TOPIC_NAMESPACE"):
        Settings.from_env({"GREENCHAIN_TOPIC_NAMESPACE": "acme/prod"})


def test_clients_reach_a_wildcard_listen_address_on_this_machine() -> None:
    settings = Settings(ledger_listen="0.0.0.0:50052", ingest_listen="[::]:50051")
    assert settings.ledger_address == "127.0.0.1:50052"
    assert settings.ingest_address == "127.0.0.1:50051"
    assert Settings(ledger_target="ledger:50052").ledger_address == "ledger:50052"

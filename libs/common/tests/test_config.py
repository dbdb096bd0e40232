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

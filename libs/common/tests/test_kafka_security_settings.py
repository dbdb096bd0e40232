"""Kafka login and durability settings: complete or a start-up error; one place builds the
clients' security arguments; ACLs give each service only its part of the data path."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ResourceType

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.kafka_acls import service_acls


@pytest.mark.parametrize(
    "env",
    [
        {"GREENCHAIN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
        {"GREENCHAIN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "GREENCHAIN_KAFKA_USERNAME": "x"},
        {"GREENCHAIN_KAFKA_USERNAME": "ingest", "GREENCHAIN_KAFKA_PASSWORD": "p"},
        {
            "GREENCHAIN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "GREENCHAIN_KAFKA_USERNAME": "ingest",
            "GREENCHAIN_KAFKA_PASSWORD": "p",
            "GREENCHAIN_KAFKA_PASSWORD_FILE": "/p",
        },
        {"GREENCHAIN_KAFKA_SECURITY_PROTOCOL": "SSL"},
        {"GREENCHAIN_KAFKA_SASL_MECHANISM": "GSSAPI"},
        {"GREENCHAIN_TOPIC_MIN_INSYNC_REPLICAS": "2"},  # replication 1
    ],
)
def test_a_half_configured_kafka_login_or_durability_is_a_start_up_error(
    env: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match="GREENCHAIN_"):
        Settings.from_env(env)


def test_plaintext_clients_carry_no_login() -> None:
    assert client_security(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_the_password_file_is_read_when_a_client_is_made(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("first\n")
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_username="scoring",
        kafka_password_file=str(secret),
    )
    assert client_security(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "scoring",
        "sasl_plain_password": "first",
    }
    secret.write_text("rotated")
    assert client_security(settings)["sasl_plain_password"] == "rotated"


@pytest.mark.parametrize(("replication", "setting", "expected"), [(1, 0, 1), (3, 0, 2), (3, 3, 3)])
def test_topics_get_min_insync_replicas_from_the_settings(
    replication: int, setting: int, expected: int
) -> None:
    settings = Settings(topic_replication=replication, topic_min_insync_replicas=setting)
    for spec in topics.topic_specs(settings):
        assert spec.replication == replication
        assert spec.config["min.insync.replicas"] == str(expected), spec.name
    assert topics.changelog_config(settings) == {"min.insync.replicas": str(expected)}


def test_only_scoring_may_write_ratings_and_only_ingest_declarations() -> None:
    settings = Settings(topic_namespace="t1")
    writers: dict[str, set[str]] = {}
    for acl in service_acls(settings):
        pattern = acl.resource_pattern
        if pattern.resource_type == ResourceType.TOPIC and acl.operation == ACLOperation.WRITE:
            writers.setdefault(pattern.resource_name, set()).add(acl.principal)
    assert writers[settings.topic(topics.RATINGS)] == {"User:scoring"}
    assert writers[settings.topic(topics.DECLARATIONS)] == {"User:ingest"}
    assert writers[settings.topic(topics.SUPPLIERS)] == {"User:ingest"}
    assert writers[settings.topic(topics.LEDGER_SEQUENCE)] == {"User:ledger"}
    assert all(name.startswith("t1.") for name in writers)

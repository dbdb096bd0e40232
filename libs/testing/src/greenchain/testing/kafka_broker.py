"""Where the tests get a real Kafka broker, in the order DESIGN.md section 6 gives:

1. ``KAFKA_BOOTSTRAP_SERVERS`` if set (an existing cluster);
2. else the local broker of ``scripts/kafka.sh`` (Maven-fetched Apache Kafka, KRaft, 127.0.0.1);
3. else a testcontainers ``KafkaContainer`` when a Docker engine and a local Kafka image exist.

There is no fourth option: without a broker the Kafka tests fail, they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from greenchain.common.config import Settings
from greenchain.testing import ROOT

KAFKA_SH = ROOT / "scripts" / "kafka.sh"
KAFKA_IMAGE = os.environ.get("GREENCHAIN_KAFKA_IMAGE", "apache/kafka:3.9.1")


class NoBrokerError(RuntimeError):
    pass


def kafka_sh(*args: str, env: dict[str, str] | None = None) -> str:
    """Run scripts/kafka.sh; returns its stdout (the bootstrap address for ``up``)."""
    result = subprocess.run(
        [str(KAFKA_SH), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/kafka.sh {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def _docker_image_present(image: str) -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
    return probe.returncode == 0


@contextmanager
def kafka_broker() -> Iterator[str]:
    """Yields a bootstrap address; stops only a broker it started itself."""
    if address := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield address
        return
    if shutil.which("java") and (shutil.which("mvn") or (ROOT / ".cache/kafka/lib").exists()):
        was_running = subprocess.run([str(KAFKA_SH), "status"], capture_output=True).returncode == 0
        address = kafka_sh("up").splitlines()[-1]
        try:
            yield address
        finally:
            if not was_running:
                kafka_sh("down")
        return
    if _docker_image_present(KAFKA_IMAGE):
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    raise NoBrokerError(
        "no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS, install Java 17 + Maven for "
        "scripts/kafka.sh, or provide a Docker engine with the image " + KAFKA_IMAGE
    )


def isolated_settings(bootstrap: str, data_dir: Path, **changes: object) -> Settings:
    """Settings on broker ``bootstrap`` in a fresh topic namespace, state under ``data_dir``."""
    defaults: dict[str, object] = {
        "kafka_bootstrap_servers": bootstrap,
        "topic_namespace": f"t{uuid.uuid4().hex[:10]}.",
        "topic_partitions": 3,
        "ledger_db": str(data_dir / "ledger.sqlite3"),
        "scoring_data_dir": str(data_dir / "scoring"),
    }
    return Settings(**{**defaults, **changes})  # type: ignore[arg-type]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A broker of a test's own (own data dir and ports) that the test may stop and restart."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.env = {
            "GREENCHAIN_KAFKA_HOME": str(home),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_HEAP": "256m",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def up(self) -> None:
        kafka_sh("up", env=self.env)

    def down(self) -> None:
        kafka_sh("down", env=self.env)


@contextmanager
def private_broker(home: Path) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(home)
    broker.up()
    try:
        yield broker
    finally:
        broker.down()

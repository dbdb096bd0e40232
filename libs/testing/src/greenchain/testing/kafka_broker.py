"""Where the tests get a real Kafka broker, in the order DESIGN.md section 6 gives:

1. ``KAFKA_BOOTSTRAP_SERVERS`` if set (an existing cluster);
2. else the local broker of ``scripts/kafka.sh`` (Maven-fetched Apache Kafka, KRaft, 127.0.0.1);
3. else a testcontainers ``KafkaContainer`` when a Docker engine and a local Kafka image exist.

There is no fourth option: without a broker the Kafka tests fail, they are never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

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


SERVICE_USERS = ("admin", "ingest", "scoring", "ledger")
"""The SCRAM users ``scripts/kafka.sh up --secure`` creates (admin is the super user)."""


class SecureBroker:
    """A broker of a test's own with SASL/SCRAM-SHA-512 and ACLs (``scripts/kafka.sh up
    --secure``): no client gets in without a login, and a login may do only what its ACLs
    allow. The users' random passwords are in ``credentials/<user>.password`` under ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.env = {
            "GREENCHAIN_KAFKA_HOME": str(home),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_HEAP": "256m",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def up(self) -> None:
        kafka_sh("up", "--secure", env=self.env)

    def down(self) -> None:
        kafka_sh("down", "--secure", env=self.env)

    def password_file(self, user: str) -> Path:
        return self.home / "credentials" / f"{user}.password"

    def login_env(self, user: str) -> dict[str, str]:
        """The environment that makes a service process log in as ``user``."""
        return {
            "GREENCHAIN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "GREENCHAIN_KAFKA_USERNAME": user,
            "GREENCHAIN_KAFKA_PASSWORD_FILE": str(self.password_file(user)),
        }

    def settings_as(self, settings: Settings, user: str) -> Settings:
        """``settings`` on this broker, logged in as ``user``."""
        return settings.with_(
            kafka_bootstrap_servers=self.bootstrap,
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_username=user,
            kafka_password_file=str(self.password_file(user)),
        )


@contextmanager
def secure_broker(home: Path) -> Iterator[SecureBroker]:
    """A :class:`SecureBroker`, stopped afterwards."""
    broker = SecureBroker(home)
    broker.up()
    try:
        yield broker
    finally:
        broker.down()


class ProduceRequest(NamedTuple):
    """One produce request a node's request log recorded."""

    node: int
    client_id: str
    acks: int
    topics: tuple[str, ...]


CLUSTER_PORT = int(os.environ.get("GREENCHAIN_KAFKA_CLUSTER_PORT", "19192"))
"""First broker port of the test cluster (nodes on this port and the next two; controllers on
the same ports + 100)."""


class BrokerCluster:
    """Three KRaft nodes (each broker + controller) of a test's own on 127.0.0.1
    (``scripts/kafka.sh up --cluster``), whose nodes a test may SIGKILL and start again."""

    nodes = (1, 2, 3)

    def __init__(self, home: Path, port: int = CLUSTER_PORT) -> None:
        self.home = home
        self.env = {
            "GREENCHAIN_KAFKA_HOME": str(home),
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(port + 100),
            "KAFKA_HEAP": "512m",
        }
        self.ports = {node: port + node - 1 for node in self.nodes}
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in self.ports.values())

    def up(self) -> None:
        """Starts every node that is not running (all of them the first time)."""
        kafka_sh("up", "--cluster", env=self.env)

    def down(self) -> None:
        kafka_sh("down", "--cluster", env=self.env)

    def pid(self, node: int) -> int | None:
        pidfile = self.home / f"node-{node}" / "kafka.pid"
        try:
            pid = int(pidfile.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def log_requests(self) -> None:
        """Turns on the request log of every running node (logger ``kafka.request.logger`` at
        DEBUG, a dynamic broker-logger config): each request a client makes is then in the
        node's kafka.log, with its client id and, for a produce request, its acks."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.BROKER_LOGGER,
                        str(node),
                        configs={"kafka.request.logger": "DEBUG"},
                    )
                    for node in self.nodes
                    if self.pid(node) is not None
                ],
                raise_on_unknown=False,
            )
        finally:
            admin.close()

    def produce_requests(self) -> Iterator[ProduceRequest]:
        """The produce requests the nodes logged since :meth:`log_requests`."""
        marker = "Completed request:"
        for node in self.nodes:
            with (self.home / f"node-{node}" / "kafka.log").open(errors="replace") as log:
                for line in log:
                    if '"requestApiKeyName":"PRODUCE"' not in line:
                        continue
                    body = line[line.index(marker) + len(marker) : line.rindex(" (kafka.request")]
                    entry = json.loads(body)
                    request = entry["request"]
                    yield ProduceRequest(
                        node,
                        entry["requestHeader"]["clientId"],
                        request["acks"],
                        tuple(t["name"] for t in request["topicData"]),
                    )

    def kill(self, node: int) -> None:
        """SIGKILL node ``node``: no controlled shutdown, no leader hand-over, no flush."""
        pid = self.pid(node)
        if pid is None:
            raise RuntimeError(f"kafka node {node} is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10  # gone once reaped (a zombie may linger a moment)
        while self.pid(node) is not None and time.monotonic() < deadline:
            time.sleep(0.1)


@contextmanager
def broker_cluster(home: Path) -> Iterator[BrokerCluster]:
    """A running :class:`BrokerCluster`, stopped afterwards."""
    cluster = BrokerCluster(home)
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()

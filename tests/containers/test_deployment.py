"""The deployment, tested with testcontainers: the same images Kubernetes runs (built locally
from services/<service>/Dockerfile by scripts/images.sh), started read-only with host
networking against the test broker, driven over gRPC from outside."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from testcontainers.core.container import DockerContainer

from greenchain.common.config import Settings
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.scoring.model import Methodology
from greenchain.testing import ROOT
from greenchain.testing.flows import sample_declarations
from greenchain.testing.kafka_broker import isolated_settings
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc

VERSION = "0.1.0"
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image cannot be pulled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def images() -> list[str]:
    """Builds the four images (the base image once); fails, never skips, without Docker."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "images.sh")], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, (
        f"cannot build the images (is a Docker engine running?):\n{result.stderr}"
    )
    return result.stdout.split()


@pytest.fixture
def deployment(images: list[str], kafka_bootstrap: str, tmp_path: Path) -> Iterator[Settings]:
    settings = isolated_settings(kafka_bootstrap, tmp_path, topic_partitions=2).with_(
        ingest_listen=f"127.0.0.1:{free_port()}", ledger_listen=f"127.0.0.1:{free_port()}"
    )
    ensure_topics(settings)
    env = settings.to_env()
    for key in ("GREENCHAIN_LEDGER_DB", "GREENCHAIN_SCORING_DATA_DIR"):
        env.pop(key)  # the images' own paths, on their volume
    containers = []
    for service in ("ingest", "scoring", "ledger"):
        container = DockerContainer(f"greenchain-{service}:{VERSION}")
        for key, value in env.items():
            container.with_env(key, value)
        container.with_kwargs(network_mode="host", read_only=True).with_tmpfs_mount("/tmp")
        containers.append(container.start())
    try:
        yield settings
    finally:
        for container in containers:
            logs = container.get_logs()
            (tmp_path / f"{container.image}.log".replace("/", "_")).write_bytes(logs[0] + logs[1])
            container.stop()


# What each image must and must not carry: a service ships only what it imports.
IMAGE_CONTENTS = {
    "ingest": (["greenchain.ingest.server", "grpc", "aiokafka"], ["faust", "polars", "rocksdict"]),
    "scoring": (
        ["greenchain.scoring.worker", "faust", "polars", "rocksdict"],
        ["greenchain.ledger"],
    ),
    "ledger": (
        ["greenchain.ledger.server", "polars"],
        ["faust", "rocksdict", "greenchain.scoring"],
    ),
    "console": (
        ["greenchain.console.app", "greenchain.reports.pdf", "starlette", "uvicorn", "fpdf"],
        ["faust", "polars", "rocksdict", "greenchain.ledger", "greenchain.client"],
    ),
}

PROBE = """
import importlib.util, sys
present = {name: importlib.util.find_spec(name) is not None for name in sys.argv[1:]}
print(" ".join(name for name, found in present.items() if found))
"""


@pytest.mark.parametrize("service", sorted(IMAGE_CONTENTS))
def test_each_image_holds_only_its_service(images: list[str], service: str) -> None:
    needed, absent = IMAGE_CONTENTS[service]
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            f"greenchain-{service}:{VERSION}",
            "python",
            "-c",
            PROBE,
            *needed,
            *absent,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = set(result.stdout.split())
    assert found >= set(needed), f"{service} image lacks {set(needed) - found}"
    assert not found & set(absent), f"{service} image carries {found & set(absent)}"


def test_declarations_through_the_containers_become_ledger_ratings(deployment: Settings) -> None:
    suppliers, decls = sample_declarations(suppliers=5, months=4)

    async def drive() -> ledger_pb2.ListRatingsResponse:
        connector = Connector(deployment.ingest_listen)
        async with asyncio.timeout(120):
            while True:  # the ingest container is up when its registry answers
                try:
                    await upsert_suppliers(connector, suppliers)
                    break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(1)
        summary = await connector.send([Item(d, i) for i, d in enumerate(decls)])
        assert summary.accepted == len(decls)
        async with grpc.aio.insecure_channel(deployment.ledger_listen) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            async with asyncio.timeout(180):
                while True:
                    try:
                        page = await stub.ListRatings(ledger_pb2.ListRatingsRequest())
                        if page.total_size == len(suppliers):
                            return page
                    except grpc.aio.AioRpcError:
                        pass
                    await asyncio.sleep(1)

    page = asyncio.run(drive())
    assert {r.supplier_id for r in page.ratings} == {s.supplier_id for s in suppliers}
    indicators = len(Methodology.load().indicators)
    assert all(len(r.indicators) == indicators and r.methodology_version for r in page.ratings)

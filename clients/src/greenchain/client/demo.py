"""``make run``: the main job on one machine, from nothing to a chain leader's first view.

Starts ingest, scoring and ledger as processes (logs in ``var/demo/logs``) on the local Kafka,
generates the sample population, registers it, runs the ERP connector over every export and the
PACT documents, waits until the ledger holds a settled rating for every supplier, and prints each
chain's progress toward the 40 % goal, its top and bottom suppliers, and the leverage list.
Ctrl-C stops everything; running it again reuses the state (declarations are idempotent).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console
from rich.table import Table

from greenchain.client import sampledata
from greenchain.client.ledger import LedgerClient
from greenchain.client.views import progress_panel, ratings_table
from greenchain.common.auth import hash_token, new_token
from greenchain.common.config import Settings
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.designations import read_designation_list
from greenchain.connector.mapping import Mapping
from greenchain.connector.pact import read_pact
from greenchain.connector.readers import Item, declarations_from_table, read_table
from greenchain.connector.registry import import_designations, upsert_chains, upsert_suppliers
from greenchain.connector.run import progress_bar, send_with_progress
from greenchain.v1 import ingest_pb2, ledger_pb2

# Wide enough for the tables when the output is a file or a CI log (rich assumes 80 there).
console = Console(width=None if sys.stdout.isatty() else 150)


class Services:
    """The three services as child processes with one settings object."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env()}
        for name in ("ingest", "scoring", "ledger"):
            with (self.logs / f"{name}.log").open("ab") as log:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", f"greenchain.{name}"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


async def wait_serving(target: str, services: Services, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            services.check()
            try:
                answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(f"{target} did not become healthy")


def write_tokens(path: Path, principals: list[str]) -> dict[str, str]:
    """Fresh tokens for the demo principals; the file stores only their hashes."""
    tokens = {p: new_token() for p in principals}
    entries = [{"sha256": hash_token(t), "principal": p} for p, t in tokens.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    return tokens


def export_items(sample: Path) -> list[tuple[str, list[Item]]]:
    batches: list[tuple[str, list[Item]]] = []
    for export in sorted((sample / "exports").rglob("batch-*")):
        if ".rejected." in export.name:
            continue
        flavour = export.parent.name + ("-verified" if "-verified" in export.name else "")
        mapping = Mapping.load(sample / "mappings" / f"{flavour}.yaml")
        batches.append(
            (
                f"{export.parent.name}/{export.name}",
                declarations_from_table(read_table(export), mapping),
            )
        )
    pact: list[Item] = []
    for document in sorted((sample / "pact").glob("*.json")):
        supplier = document.name.rsplit("-", 1)[0]
        share = float((sample / "pact" / f"{supplier}.share").read_text())
        pact.extend(read_pact(document, supplier, "s1", share, source="pact-exchange").items)
    batches.append(("pact/*.json", pact))
    return batches


async def settle(
    ledger: LedgerClient, expected: int, services: Services, quiet: float = 6.0
) -> None:
    """Waits until the ledger has a rating for every supplier and no new one for ``quiet`` s."""
    with progress_bar(console) as progress:
        task = progress.add_task("ratings in the ledger", total=expected)
        last_state: tuple[int, int] = (-1, -1)
        last_change = time.monotonic()
        while True:
            services.check()
            count, revisions = 0, 0
            async for rating in ledger.all_ratings("", ledger_pb2.RATING_ORDER_SUPPLIER_ID, 1000):
                count += 1
                revisions += rating.revision
            progress.update(task, completed=count)
            if (count, revisions) != last_state:
                last_state, last_change = (count, revisions), time.monotonic()
            elif count >= expected and time.monotonic() - last_change >= quiet:
                return
            await asyncio.sleep(1.0)


async def main_job(
    settings: Settings, workdir: Path, tokens: dict[str, str], suppliers: int, months: int
) -> int:
    services = Services(settings, workdir / "logs")
    console.rule("[bold green]greenchain")
    console.print(
        f"Kafka {settings.kafka_bootstrap_servers}, topics '{settings.topic_namespace}*', "
        f"logs in {services.logs}"
    )
    services.start()
    try:
        await wait_serving(settings.ingest_listen, services)
        await wait_serving(settings.ledger_listen, services)
        console.print("[green]✓[/] ingest, scoring and ledger are running")

        sample = workdir / "sample"
        population = sampledata.generate(suppliers, months)
        sampledata.write_exports(population, sample)
        console.print(
            f"[green]✓[/] sample population: {len(population.suppliers)} suppliers, "
            f"{len(sampledata.SECTORS)} sectors, {len(sampledata.CHAINS)} chains, {months} months"
        )
        connector = Connector(settings.ingest_listen, token=tokens["admin"])
        await upsert_suppliers(connector, population.suppliers)
        await upsert_chains(connector, population.chains)
        console.print(
            f"[green]✓[/] {len(population.suppliers)} suppliers and "
            f"{len(population.chains)} chain leaders registered"
        )
        for listing in sorted((sample / "lists").glob("*.csv")):
            kind = "zero-carbon" if listing.stem == "zero-carbon" else "green-factory"
            rows = read_designation_list(listing, kind)
            answer = await import_designations(connector, rows)
            unmatched = sum(r.outcome == ingest_pb2.ROW_OUTCOME_UNMATCHED for r in answer.results)
            console.print(
                f"[green]✓[/] {listing.name}: {answer.applied} of {len(rows)} listed factories "
                f"are suppliers (designations applied); {unmatched} supply none of the chains"
            )

        summary = Table(
            "export",
            "declarations",
            "accepted",
            "rejected",
            title="ERP connector",
            title_justify="left",
        )
        suppliers_with_data: set[str] = set()
        for name, items in export_items(sample):
            result = await send_with_progress(connector, items, name, console)
            summary.add_row(name, str(len(items)), str(result.accepted), str(result.rejected_count))
            rejected = set(result.rejected)
            suppliers_with_data |= {
                i.declaration.supplier_id for i in items if i.origin not in rejected
            }
        console.print(summary)

        ledger = LedgerClient(settings.ledger_listen, token=tokens["admin"])
        await settle(ledger, len(suppliers_with_data), services)
        console.print(
            f"[green]✓[/] {len(suppliers_with_data)} suppliers rated and recorded in the ledger"
        )

        for chain in sampledata.CHAINS:
            chain_view = LedgerClient(settings.ledger_listen, token=tokens[f"chain:{chain}"])
            console.print(progress_panel(await chain_view.progress(chain)))
            ranked = [r async for r in chain_view.all_ratings(chain)]
            rated = [r for r in ranked if r.coverage.months_present >= 3]
            console.print(ratings_table(rated[:5], f"{chain}: top 5 suppliers"))
            console.print(ratings_table(rated[-5:], f"{chain}: bottom 5 suppliers"))
        console.print(
            f"The ledger stays in {settings.ledger_db}; the README shows how to query it with "
            "greenchain progress / ratings / history / verify."
        )
        return 0
    finally:
        services.stop()
        console.print("services stopped")


def run_demo(workdir: str = "var/demo", suppliers: int = 600, months: int = 24) -> int:
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env().with_(
        topic_namespace=os.environ.get("GREENCHAIN_TOPIC_NAMESPACE", "demo."),
        ledger_db=str(folder / "ledger.sqlite3"),
        scoring_data_dir=str(folder / "scoring"),
        tokens_file=str(folder / "tokens.yaml"),
    )
    principals = ["admin", *(f"chain:{c}" for c in sampledata.CHAINS)]
    tokens = write_tokens(folder / "tokens.yaml", principals)
    ensure_topics(settings)
    try:
        return asyncio.run(main_job(settings, folder, tokens, suppliers, months))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: services stopped")
        return 130

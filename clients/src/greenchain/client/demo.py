"""``make run``: the main job on one machine, from nothing to a chain leader's first view.

Starts the local broker when none answers (``--kafka-script``), then ingest, scoring, ledger and
the web console as processes (logs in ``var/demo/logs``), generates the sample population,
registers it, runs the ERP connector over every export and the PACT documents, waits until the
ledger holds a settled rating for every supplier, and prints each chain's progress toward the
40 % goal, its top and bottom suppliers, and the leverage list. Then it leaves everything running:
it writes the tokens it minted to ``access-tokens.txt`` (mode 0600), prints the console's URL and
three commands to try, and waits. Ctrl-C, or ``greenchain stop`` (``make stop``) from another
shell, stops the services and the broker it started. Running it again reuses the topics and the
ledger (declarations are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console
from rich.table import Table
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_delay

from greenchain.client import sampledata
from greenchain.client.ledger import LedgerClient
from greenchain.client.views import progress_panel, ratings_table
from greenchain.common.auth import hash_token, new_token, retry_delay
from greenchain.common.config import Settings
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.designations import read_designation_list
from greenchain.connector.mapping import Mapping
from greenchain.connector.pact import read_pact
from greenchain.connector.readers import Item, declarations_from_table, read_table
from greenchain.connector.registry import import_designations, upsert_chains, upsert_suppliers
from greenchain.connector.run import progress_bar, send_with_progress
from greenchain.v1 import declaration_pb2, ingest_pb2, ingest_pb2_grpc, ledger_pb2

# Wide enough for the tables when the output is a file or a CI log (rich assumes 80 there).
console = Console(width=None if sys.stdout.isatty() else 150)


SERVICES = ("ingest", "scoring", "ledger", "console")
PID_FILE, ACCESS_TOKENS = "run.pid", "access-tokens.txt"


class Services:
    """The four services as child processes with one settings object."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env()}
        for name in SERVICES:
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


async def wait_http(url: str, services: Services, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        services.check()
        try:
            with await asyncio.to_thread(urllib.request.urlopen, url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.3)
    raise TimeoutError(f"{url} did not answer")


def write_tokens(path: Path, principals: list[str]) -> dict[str, str]:
    """Fresh tokens for the demo principals; the file stores only their hashes."""
    tokens = {p: new_token() for p in principals}
    entries = [{"sha256": hash_token(t), "principal": p} for p, t in tokens.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    return tokens


def write_access_tokens(path: Path, tokens: dict[str, str]) -> None:
    """The minted tokens themselves, one ``<principal> <token>`` line each, readable by the
    owner only (0600): ``greenchain ... --token-file PATH --principal P`` and the console's
    sign-in use them."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(
            "# bearer tokens minted by `make run` (secret; valid until the next make run)\n"
            "# use: greenchain <command> --token-file THIS_FILE --principal <principal>\n"
        )
        for principal, token in tokens.items():
            out.write(f"{principal} {token}\n")


def port_taken(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host.strip("[]") or "127.0.0.1", int(port))) == 0


def reachable(bootstrap: str) -> bool:
    return any(port_taken(address) for address in bootstrap.split(","))


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


DEMO_VERIFIER = "verifier:demo-cqc"


def _rate_limited(error: BaseException) -> bool:
    return isinstance(error, grpc.RpcError) and (error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED)


def _server_delay(state: RetryCallState) -> float:
    """The delay the server's google.rpc.RetryInfo asks for (0.2 s without one)."""
    error = state.outcome.exception() if state.outcome else None
    delay = retry_delay(error) if isinstance(error, grpc.RpcError) else None
    return delay if delay is not None else 0.2


async def record_verifications(connector: Connector, items: list[Item]) -> int:
    """The demo's verification body records the accepted declarations its exports mark as
    verified (a supplier's own flag counts for nothing; docs/methodology.md "Verification")."""
    claimed = [
        i.declaration
        for i in items
        if i.declaration.assurance.level == declaration_pb2.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
    ]
    gate = asyncio.Semaphore(64)
    async with connector.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)

        async def verify(decl: declaration_pb2.Declaration) -> None:
            request = ingest_pb2.VerifyDeclarationRequest(
                declaration_id=decl.declaration_id,
                supplier_id=decl.supplier_id,
                site_id=decl.site_id,
                period=decl.period,
                verifier=decl.assurance.verifier,
                statement_id=decl.assurance.statement_id or f"demo-{decl.declaration_id[:100]}",
            )
            async with gate:
                # over the verifier's rate limit: wait as long as the server's RetryInfo says
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception(_rate_limited),
                    wait=_server_delay,
                    stop=stop_after_delay(120),
                    reraise=True,
                ):
                    with attempt:
                        await stub.VerifyDeclaration(request, metadata=connector.metadata())

        await asyncio.gather(*(verify(d) for d in claimed))
    return len(claimed)


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
    task = asyncio.current_task()
    assert task is not None
    stopped_by: list[str] = []

    def on_signal(name: str) -> None:
        stopped_by.append(name)
        task.cancel()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, on_signal, "Ctrl-C")
    loop.add_signal_handler(signal.SIGTERM, on_signal, "greenchain stop")
    services.start()
    try:
        await wait_serving(settings.ingest_address, services)
        await wait_serving(settings.ledger_address, services)
        console_url = f"http://{settings.console_listen}"
        await wait_http(f"{console_url}/healthz", services)
        console.print("[green]✓[/] ingest, scoring, ledger and the web console are running")

        sample = workdir / "sample"
        population = sampledata.generate(suppliers, months)
        sampledata.write_exports(population, sample)
        console.print(
            f"[green]✓[/] sample population: {len(population.suppliers)} suppliers, "
            f"{len(sampledata.SECTORS)} sectors, {len(sampledata.CHAINS)} chains, {months} months"
        )
        connector = Connector(settings.ingest_address, token=tokens["admin"])
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
        accepted: list[Item] = []
        for name, items in export_items(sample):
            result = await send_with_progress(connector, items, name, console)
            summary.add_row(name, str(len(items)), str(result.accepted), str(result.rejected_count))
            rejected = set(result.rejected)
            accepted += [i for i in items if i.origin not in rejected]
            suppliers_with_data |= {i.declaration.supplier_id for i in accepted}
        console.print(summary)
        verifier = Connector(settings.ingest_address, token=tokens[DEMO_VERIFIER])
        verified = await record_verifications(verifier, accepted)
        console.print(f"[green]✓[/] {verified} declarations verified by {DEMO_VERIFIER}")

        ledger = LedgerClient(settings.ledger_address, token=tokens["admin"])
        await settle(ledger, len(suppliers_with_data), services)
        console.print(
            f"[green]✓[/] {len(suppliers_with_data)} suppliers rated and recorded in the ledger"
        )

        example = ""
        for chain in sampledata.CHAINS:
            chain_view = LedgerClient(settings.ledger_address, token=tokens[f"chain:{chain}"])
            progress = await chain_view.progress(chain)
            console.print(progress_panel(progress))
            ranked = [r async for r in chain_view.all_ratings(chain)]
            rated = [r for r in ranked if r.coverage.months_present >= 3]
            console.print(ratings_table(rated[:5], f"{chain}: top 5 suppliers"))
            console.print(ratings_table(rated[-5:], f"{chain}: bottom 5 suppliers"))
            if not example:
                ready = [item.supplier_id for item in progress.leverage]
                example = ready[0] if ready else (rated[0].supplier_id if rated else "")
        print_next_steps(settings, workdir, console_url, example or "sup-00001")
        while True:  # until Ctrl-C or greenchain stop; a service that dies ends it too
            services.check()
            await asyncio.sleep(1.0)
    except asyncio.CancelledError:
        console.print(f"[yellow]{stopped_by[0] if stopped_by else 'cancelled'}: stopping")
        return 0
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        services.stop()
        console.print("services stopped")


def print_next_steps(settings: Settings, workdir: Path, console_url: str, supplier: str) -> None:
    """The console's address and three commands that work as printed (from this folder)."""
    cli = Path(sys.executable).parent / "greenchain"
    program = os.path.relpath(cli) if cli.exists() else "greenchain"
    env = ""
    if settings.ledger_address != Settings().ledger_address:
        env = f"GREENCHAIN_LEDGER_TARGET={settings.ledger_address} "
    tokens = shlex.quote(str(workdir / ACCESS_TOKENS))
    chain = sampledata.CHAINS[0]
    as_chain = f"--token-file {tokens} --principal chain:{chain}"
    report = shlex.quote(str(workdir / f"{chain}.xlsx"))
    commands = [
        f"{env}{program} progress --chain {chain} {as_chain}",
        f"{env}{program} rating --supplier {supplier} --token-file {tokens} "
        f"--principal supplier:{supplier}",
        f"{env}{program} report --chain {chain} --format xlsx --out {report} {as_chain}",
    ]
    console.rule("[bold green]greenchain is running")
    console.print(
        f"web console: {console_url}  (sign in with a token from {workdir / ACCESS_TOKENS}, "
        f"e.g. the line of chain:{chain} or supplier:{supplier})",
        soft_wrap=True,
    )
    console.print("try, in another shell in this folder:", soft_wrap=True)
    for command in commands:
        console.print(f"  {command}", soft_wrap=True, highlight=False, markup=False)
    console.print(
        "Ctrl-C here, or `make stop` in another shell, stops the services "
        "(and the broker, if make run started it).",
        soft_wrap=True,
    )


def _running_pid(folder: Path) -> int | None:
    """The pid of a demo running in ``folder`` (its pid file names a live greenchain demo)."""
    try:
        pid = int((folder / PID_FILE).read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if b"demo" in command and any(b"greenchain" in c for c in command) else None


def run_demo(
    workdir: str = "var/demo",
    suppliers: int = 600,
    months: int = 24,
    kafka_script: str | None = None,
) -> int:
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    if (pid := _running_pid(folder)) is not None:
        console.print(f"[red]a demo is already running in {folder} (pid {pid}): make stop")
        return 69
    settings = Settings.from_env().with_(
        topic_namespace=os.environ.get("GREENCHAIN_TOPIC_NAMESPACE", "demo."),
        ledger_db=str(folder / "ledger.sqlite3"),
        scoring_data_dir=str(folder / "scoring"),
        tokens_file=str(folder / "tokens.yaml"),
    )
    for name, address in (
        ("ingest", settings.ingest_address),
        ("ledger", settings.ledger_address),
        ("console", settings.console_listen),
    ):
        if port_taken(address):
            console.print(
                f"[red]{address} ({name}) is in use: another greenchain still running? "
                "(make stop), or set GREENCHAIN_{name.upper()}_LISTEN"
            )
            return 69
    started_broker = False
    if kafka_script and not reachable(settings.kafka_bootstrap_servers):
        console.print(f"starting the local Kafka broker ({kafka_script} up)")
        subprocess.run([kafka_script, "up"], check=True, start_new_session=True)
        started_broker = True
    (folder / PID_FILE).write_text(f"{os.getpid()}\n")
    try:
        population = sampledata.generate(suppliers, months)
        principals = [
            "admin",
            DEMO_VERIFIER,
            *(f"chain:{c}" for c in sampledata.CHAINS),
            *(f"supplier:{s.supplier_id}" for s in population.suppliers),
        ]
        tokens = write_tokens(folder / "tokens.yaml", principals)
        write_access_tokens(folder / ACCESS_TOKENS, tokens)
        ensure_topics(settings)
        return asyncio.run(main_job(settings, folder, tokens, suppliers, months))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: services stopped")
        return 130
    finally:
        (folder / PID_FILE).unlink(missing_ok=True)
        if started_broker and kafka_script:
            subprocess.run([kafka_script, "down"], check=False, start_new_session=True)
            console.print("Kafka broker stopped")


def stop_demo(workdir: str = "var/demo", within: float = 120) -> int:
    """Stops the demo running in ``workdir`` (SIGTERM) and waits until it has stopped its
    services and the broker it started."""
    folder = Path(workdir)
    pid = _running_pid(folder)
    if pid is None:
        console.print(f"no greenchain demo is running in {folder}")
        return 0
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _running_pid(folder) is None:
            console.print(f"greenchain demo (pid {pid}) stopped")
            return 0
        time.sleep(0.3)
    console.print(f"[red]the demo (pid {pid}) did not stop within {within:.0f} s")
    return 69

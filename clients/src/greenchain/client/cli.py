"""The ``greenchain`` command: run services, generate sample data, connect ERP exports, read
the ledger.

Conventions: the bearer token comes from ``GREENCHAIN_TOKEN`` or ``--token-file`` (``--token``
works but shows the token to every user of the machine); targets and TLS come from the same
settings as the services (``GREENCHAIN_LEDGER_TARGET``/``_LISTEN``, ``GREENCHAIN_TLS_CA_FILE``);
every read command takes ``--output table|json|csv``; an error is one line on stderr with an
exit code: usage 2, invalid input 65, unavailable 69, internal 70, I/O 74, permission 77.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console

from greenchain.client.output import (
    EXIT_DATA,
    EXIT_IO,
    EXIT_PERMISSION,
    EXIT_SOFTWARE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    OUTPUTS,
    fail,
)
from greenchain.common.config import ENVIRONMENT, Settings
from greenchain.v1 import ledger_pb2

if TYPE_CHECKING:
    from greenchain.client.ledger import LedgerClient
    from greenchain.common.tls import ClientTls
    from greenchain.connector.client import Connector
    from greenchain.v1 import rating_pb2

console = Console(stderr=True)


def _sample(args: argparse.Namespace) -> int:
    from greenchain.client import sampledata

    population = sampledata.generate(args.suppliers, args.months, args.seed)
    files = sampledata.write_exports(population, Path(args.out))
    total = sum(len(v) for v in files.values())
    console.print(
        f"{len(population.suppliers)} suppliers, {population.monthly.height} site-months, "
        f"{total} export files in {args.out}"
    )
    return 0


class UsageError(ValueError):
    """A command line that cannot work (exit 2)."""


def read_token_file(path: Path, principal: str | None) -> str:
    """The token in ``path``: a file with one token, or lines ``<principal> <token>`` (what
    ``make run`` writes) from which ``principal`` picks one. Lines starting with # are notes."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read the token file {path}: {exc.strerror}") from None
    entries: list[tuple[str, str]] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        entries.append((fields[0], fields[1]) if len(fields) >= 2 else ("", fields[0]))
    if principal:
        found = [token for who, token in entries if who == principal]
        if not found:
            raise UsageError(f"{path} has no token for {principal}")
        return found[0]
    if len(entries) == 1:
        return entries[0][1]
    if not entries:
        raise UsageError(f"{path} holds no token")
    names = ", ".join(who for who, _ in entries[:4] if who)
    raise UsageError(
        f"{path} holds {len(entries)} tokens: choose one with --principal (e.g. {names})"
    )


def resolve_token(args: argparse.Namespace, environ: dict[str, str] | None = None) -> str:
    """--token, else --token-file, else GREENCHAIN_TOKEN; empty when there is none (a service
    without a tokens file needs none)."""
    env = os.environ if environ is None else environ
    if getattr(args, "token", None):
        return str(args.token)
    if getattr(args, "token_file", None):
        return read_token_file(Path(args.token_file), getattr(args, "principal", None))
    if getattr(args, "principal", None):
        raise UsageError("--principal picks a token from --token-file: give the file too")
    return env.get("GREENCHAIN_TOKEN", "").strip()


def _client_tls(args: argparse.Namespace) -> ClientTls:
    """--ca-file (else GREENCHAIN_TLS_CA_FILE) and the client certificate settings (mTLS)."""
    from greenchain.common.tls import ClientTls

    return ClientTls.from_settings(Settings.from_env(), ca_file=args.ca_file or "")


def _connector(args: argparse.Namespace) -> Connector:
    from greenchain.connector.client import Connector

    settings = Settings.from_env()
    tls = _client_tls(args)
    return Connector(
        args.target or settings.ingest_address,
        token=resolve_token(args),
        root_certificates=tls.root_certificates,
        certificate_chain=tls.certificate_chain,
        private_key=tls.private_key,
        insecure_dev=bool(settings.insecure_dev),
    )


def _registry(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from greenchain.connector.registry import upsert_suppliers
    from greenchain.v1 import supplier_pb2

    suppliers = [
        json_format.Parse(line, supplier_pb2.Supplier())
        for line in Path(args.file).read_text().splitlines()
        if line.strip()
    ]
    stored = asyncio.run(upsert_suppliers(_connector(args), suppliers))
    console.print(f"{stored} suppliers registered")
    return 0


def _rpc_exit(err: Exception) -> int:
    """One line on stderr and the exit code for a failed call."""
    import grpc

    code = err.code() if isinstance(err, grpc.RpcError) and hasattr(err, "code") else None
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        exit_code = EXIT_PERMISSION
    elif code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
        exit_code = EXIT_DATA
    else:
        exit_code = EXIT_UNAVAILABLE
    details = err.details() if isinstance(err, grpc.RpcError) and hasattr(err, "details") else ""
    return fail(f"{code.name if code else 'failed'}: {details or err}", exit_code)


def _chains(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import json_format

    from greenchain.connector.registry import upsert_chains
    from greenchain.v1 import supplier_pb2

    chains = [
        json_format.Parse(line, supplier_pb2.Chain())
        for line in Path(args.file).read_text().splitlines()
        if line.strip()
    ]
    try:
        stored = asyncio.run(upsert_chains(_connector(args), chains))
    except grpc.aio.AioRpcError as err:
        return _rpc_exit(err)
    console.print(f"{stored} chain leaders registered")
    return 0


def _designations(args: argparse.Namespace) -> int:
    """Applies a published designation list; prints every row's outcome. Exit 0 when every row
    was applied, already so, or names a factory that is not a registered supplier (a public list
    is mostly such factories); 65 when a row needs fixing (invalid, ambiguous, conflicting)."""
    import grpc
    from rich.table import Table

    from greenchain.connector.designations import ListError, read_designation_list
    from greenchain.connector.registry import import_designations
    from greenchain.v1 import ingest_pb2

    try:
        rows = read_designation_list(
            Path(args.file), args.kind, args.level, args.year, args.list_reference
        )
    except ListError as exc:
        return fail(str(exc), EXIT_DATA)
    try:
        answer = asyncio.run(import_designations(_connector(args), rows, dry_run=args.dry_run))
    except grpc.aio.AioRpcError as err:
        return _rpc_exit(err)
    ok = (
        ingest_pb2.ROW_OUTCOME_APPLIED,
        ingest_pb2.ROW_OUTCOME_UNCHANGED,
        ingest_pb2.ROW_OUTCOME_DUPLICATE,
        ingest_pb2.ROW_OUTCOME_UNMATCHED,
    )
    table = Table("row", "outcome", "supplier", "site", "detail", title=args.file)
    for result in answer.results:
        name = ingest_pb2.RowOutcome.Name(result.outcome).removeprefix("ROW_OUTCOME_").lower()
        style = "" if result.outcome in ok else "red"
        table.add_row(
            str(result.row), name, result.supplier_id, result.site_id, result.detail, style=style
        )
    Console().print(table)
    to_fix = sum(r.outcome not in ok for r in answer.results)
    unmatched = sum(r.outcome == ingest_pb2.ROW_OUTCOME_UNMATCHED for r in answer.results)
    verb = "would be applied (dry run)" if answer.dry_run else "applied"
    console.print(
        f"{answer.applied} of {len(rows)} rows {verb} to {answer.suppliers_updated} suppliers; "
        f"{unmatched} unmatched; {to_fix} to fix",
        highlight=False,
    )
    return EXIT_DATA if to_fix else 0


def _connect(args: argparse.Namespace) -> int:
    from greenchain.connector.mapping import Mapping
    from greenchain.connector.pact import OutputShares
    from greenchain.connector.run import (
        PactOwner,
        connect_file,
        print_declarations,
        read_file,
        report_pact,
        summary_json,
    )

    owner: PactOwner | None = None
    mapping: Mapping | None = None
    if args.pact_supplier:
        shares = (
            OutputShares.load(args.output_shares, args.output_share)
            if args.output_shares
            else OutputShares(default=args.output_share)
        )
        owner = PactOwner(args.pact_supplier, args.pact_site, shares)
    else:
        mapping = Mapping.load(args.mapping)
    exit_code = 0
    for name in args.files:
        path = Path(name)
        if args.dry_run:  # read and print what would be sent; no server, nothing sent
            read = read_file(path, mapping, owner)
            report_pact(console, path, read.pact)
            print_declarations(read.items, args.output)
            if read.pact is not None and read.pact.rejected:
                exit_code = 1
            continue
        result = connect_file(path, _connector(args), mapping=mapping, pact_owner=owner)
        report_pact(console, path, result.pact)
        s = result.summary
        if args.output == "json":
            print(summary_json(path, result), flush=True)
        console.print(
            f"{path.name}: {len(result.items)} declarations, [green]{s.accepted} accepted[/], "
            f"[red]{s.rejected_count} rejected[/]"
            + (f" -> fix and resend {result.rejected_file}" if result.rejected_file else "")
        )
        if s.rejected_count:
            exit_code = 1
    return exit_code


def _ledger(args: argparse.Namespace) -> LedgerClient:
    from greenchain.client.ledger import LedgerClient

    settings = Settings.from_env()
    tls = _client_tls(args)
    return LedgerClient(
        args.target or settings.ledger_address,
        token=resolve_token(args),
        root_certificates=tls.root_certificates,
        certificate_chain=tls.certificate_chain,
        private_key=tls.private_key,
        insecure_dev=bool(settings.insecure_dev),
    )


def _ratings(args: argparse.Namespace) -> int:
    from greenchain.client.output import as_dict, print_csv, print_json
    from greenchain.client.views import ratings_table
    from greenchain.reports.rows import rating_row

    async def collect() -> list[rating_pb2.SupplierRating]:
        return [r async for r in _ledger(args).all_ratings(args.chain)]

    ratings = asyncio.run(collect())
    if args.output == "json":
        print_json([as_dict(r) for r in ratings])
    elif args.output == "csv":
        print_csv([rating_row(r) for r in ratings])
    else:
        Console().print(ratings_table(ratings, f"ratings of chain {args.chain or '(all)'}"))
    return 0


def _rating(args: argparse.Namespace) -> int:
    """One supplier's current rating with its improvement plan."""
    from dataclasses import asdict

    from greenchain.client.output import as_dict, print_csv, print_json
    from greenchain.client.views import scorecard
    from greenchain.reports.labels import category_label
    from greenchain.reports.plan import improvement_plan

    entry = asyncio.run(_ledger(args).rating(args.supplier))
    if args.output == "json":
        plan = improvement_plan(entry.rating)
        print_json(
            {
                "entry": as_dict(entry),
                "improvement_plan": {
                    "summary": plan.summary(),
                    "next_tier": plan.next_tier,
                    "target_score": plan.target_score,
                    "gap": plan.gap,
                    "steps": [asdict(step) | {"gain": step.gain} for step in plan.steps],
                    "conditions": [asdict(c) | {"met": c.met} for c in plan.conditions],
                },
            }
        )
    elif args.output == "csv":
        print_csv(
            [
                {
                    "supplier_id": entry.supplier_id,
                    "category": category_label(ind.category),
                    "indicator": ind.indicator,
                    "value": ind.value if ind.HasField("value") else None,
                    "unit": ind.unit,
                    "benchmark_value": ind.benchmark_value,
                    "leading_value": ind.leading_value,
                    "lower_is_better": ind.lower_is_better,
                    "points": ind.points,
                    "max_points": ind.max_points,
                }
                for ind in entry.rating.indicators
            ]
        )
    else:
        Console().print(scorecard(entry))
    return 0


def _progress(args: argparse.Namespace) -> int:
    from greenchain.client.output import as_dict, print_csv, print_json
    from greenchain.client.views import progress_panel
    from greenchain.reports.rows import progress_rows

    progress = asyncio.run(_ledger(args).progress(args.chain))
    if args.output == "json":
        print_json(as_dict(progress))
    elif args.output == "csv":
        print_csv([{"metric": k, "value": v} for k, v in progress_rows(progress)])
    else:
        Console().print(progress_panel(progress))
    return 0


def _history_row(e: ledger_pb2.LedgerEntry) -> dict[str, object]:
    from greenchain.common.grades import grade_label, tier_label
    from greenchain.reports.labels import period

    return {
        "sequence": e.sequence,
        "recorded_at": e.recorded_at.ToDatetime().isoformat() + "Z",
        "window_start": period(e.rating.window_start),
        "window_end": period(e.rating.window_end),
        "total_score": e.rating.total_score,
        "green_code": grade_label(e.rating.grade),
        "readiness_tier": tier_label(e.rating.readiness_tier),
        "declarations": e.rating.coverage.declarations_used,
        "declarations_digest": e.rating.declarations_digest,
        "entry_hash": e.entry_hash.hex(),
        "previous_hash": e.previous_hash.hex(),
    }


def _history(args: argparse.Namespace) -> int:
    from greenchain.client.output import as_dict, print_csv, print_json
    from greenchain.client.views import history_table

    entries = asyncio.run(_ledger(args).history(args.supplier))
    if args.output == "json":
        print_json([as_dict(e) for e in entries])
    elif args.output == "csv":
        print_csv([_history_row(e) for e in entries])
    else:
        Console().print(history_table(entries, args.supplier))
    return 0


def _export(args: argparse.Namespace) -> int:
    out = Path(args.out or f"{args.chain}.{args.format}")
    count = asyncio.run(_ledger(args).export(args.chain, out, args.format))
    console.print(f"{count} suppliers written to {out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """The chain report: Excel (progress, suppliers, leverage, methodology version) or a
    one-page PDF summary."""
    from greenchain.reports.pdf import chain_summary_pdf
    from greenchain.reports.workbook import chain_workbook

    async def collect() -> tuple[ledger_pb2.ChainProgress, list[rating_pb2.SupplierRating]]:
        ledger = _ledger(args)
        progress = await ledger.progress(args.chain)
        ratings = [
            r async for r in ledger.all_ratings(args.chain, ledger_pb2.RATING_ORDER_SUPPLIER_ID)
        ]
        return progress, ratings

    progress, ratings = asyncio.run(collect())
    data = (
        chain_workbook(progress, ratings)
        if args.format == "xlsx"
        else chain_summary_pdf(progress, ratings)
    )
    out = Path(args.out or f"{args.chain}.{args.format}")
    out.write_bytes(data)
    console.print(f"chain report of {args.chain} ({len(ratings)} suppliers) written to {out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """With --key: check the ledger's signed checkpoint, its consistency with the one held and
    every entry's inclusion proof on this machine (exit 0 verified, 1 with one line saying what
    failed, 2 bad usage). Without --key: ask the ledger to recompute the supplier's hash chain."""
    if not args.key:
        if not args.supplier:
            return fail("verify needs --supplier (or --key for the client-side check)", 2)
        return _verify_on_server(args)

    import grpc

    from greenchain.client import transparency as t
    from greenchain.common.signed_note import NoteError

    try:
        verifier = t.load_verifier(args.key)
    except NoteError as exc:
        console.print(f"[red]error:[/] --key: {exc}")
        return 2
    store = t.CheckpointStore(
        Path(args.checkpoints) if args.checkpoints else t.default_store_path()
    )
    try:
        verified = asyncio.run(t.verify(_ledger(args), verifier, store, args.supplier or None))
    except t.VerificationFailed as exc:
        print(f"verify failed: {exc}")
        return 1
    except grpc.RpcError as exc:
        print(f"verify failed: the ledger did not answer: {exc.code().name}: {exc.details()}")
        return 1
    print(verified.summary())
    return 0


def _keygen(args: argparse.Namespace) -> int:
    """A new Ed25519 key pair for the ledger's checkpoints, in the signed-note key format."""
    import os

    from greenchain.common.signed_note import Signer

    out = Path(args.out)
    private, public = out / "ledger.key", out / "ledger.pub"
    for path in (private, public):
        if path.exists():
            console.print(f"[red]error:[/] {path} exists; remove it first (keys are not replaced)")
            return 2
    signer = Signer.generate(args.name)
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as key_file:
        key_file.write(signer.encode() + "\n")
    public.write_text(signer.verifier().encode() + "\n", encoding="utf-8")
    print(signer.verifier().encode())
    console.print(
        f"private key {private} (mode 600: GREENCHAIN_LEDGER_KEY_FILE, or a Kubernetes Secret: "
        f"kubectl create secret generic greenchain-ledger-key --from-file={private}); "
        f"public key {public}: give it to everyone who runs greenchain verify",
        highlight=False,
    )
    return 0


def _verify_on_server(args: argparse.Namespace) -> int:
    from greenchain.client.output import as_dict, print_csv, print_json

    result = asyncio.run(_ledger(args).verify(args.supplier))
    if args.output == "json":
        print_json(as_dict(result) | {"head_hash": result.head_hash.hex()})
    elif args.output == "csv":
        print_csv(
            [
                {
                    "supplier_id": result.supplier_id,
                    "intact": result.intact,
                    "entries": result.entries,
                    "head_hash": result.head_hash.hex(),
                    "first_broken_sequence": result.first_broken_sequence,
                    "detail": result.detail,
                }
            ]
        )
    elif result.intact:
        Console().print(
            f"[green]intact[/]: {result.entries} entries, head {result.head_hash.hex()}"
        )
    else:
        Console().print(f"[red]BROKEN at entry {result.first_broken_sequence}[/]: {result.detail}")
    return 0 if result.intact else 1


def _watch(args: argparse.Namespace) -> int:
    """New ratings of a chain as the ledger records them, with the alerts they raise."""
    from greenchain.client.output import CsvStream, as_dict, print_json_line
    from greenchain.common.grades import tier_label
    from greenchain.reports.alerts import alerts_for

    stale_months = args.stale_months or Settings.from_env().console_stale_months
    columns = (
        "recorded_at",
        "supplier_id",
        "supplier_name",
        "total_score",
        "readiness_tier",
        "previous_tier",
        "alerts",
    )
    stream = CsvStream(columns) if args.output == "csv" else None
    if args.output == "table":
        console.print(f"watching chain {args.chain or '(all)'}; Ctrl-C stops", highlight=False)

    async def follow() -> None:
        seen = 0
        start = args.from_index if args.from_index >= 0 else None
        async for entry in _ledger(args).watch(args.chain, start):
            r = entry.rating
            alerts = [a.message for a in alerts_for(r, None, stale_months)]
            if args.output == "json":
                print_json_line(as_dict(entry) | {"alerts": alerts})
            elif stream is not None:
                stream.row(
                    {
                        "recorded_at": entry.recorded_at.ToDatetime().isoformat() + "Z",
                        "supplier_id": r.supplier_id,
                        "supplier_name": r.supplier_name,
                        "total_score": r.total_score,
                        "readiness_tier": tier_label(r.readiness_tier),
                        "previous_tier": tier_label(r.previous_tier),
                        "alerts": "; ".join(alerts),
                    }
                )
            else:
                Console().print(
                    f"{entry.recorded_at.ToDatetime():%H:%M:%S} {r.supplier_id} "
                    f"{r.supplier_name}: {r.total_score:.1f} {tier_label(r.readiness_tier)}"
                    + "".join(f"  [red]{a}[/]" for a in alerts),
                    highlight=False,
                )
            seen += 1
            if args.count and seen >= args.count:
                return

    asyncio.run(follow())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from greenchain.client.demo import run_demo

    return run_demo(args.workdir, args.suppliers, args.months, args.kafka_script)


def _stop(args: argparse.Namespace) -> int:
    from greenchain.client.demo import stop_demo

    return stop_demo(args.workdir)


def _token(args: argparse.Namespace) -> int:
    from greenchain.common.auth import Principal, hash_token, new_token

    principal = Principal.parse(args.principal)
    token = new_token()
    print(token)
    console.print(
        f"add to the tokens file:\n  - sha256: {hash_token(token)}\n    principal: {principal}",
        highlight=False,
    )
    return 0


def _health(args: argparse.Namespace) -> int:
    """gRPC health check (TLS when a CA is configured): exit 0 when SERVING, 69 otherwise."""
    from greenchain.client.output import print_csv, print_json
    from greenchain.common.health import check

    target = args.target or Settings.from_env().ledger_address
    tls = _client_tls(args)
    serving, text = check(
        target, 3.0, tls.root_certificates, tls.certificate_chain, tls.private_key
    )
    status = text.rpartition(": ")[2]
    record = {"target": target, "status": status, "serving": serving, "tls": tls.secure}
    if args.output == "json":
        print_json(record)
    elif args.output == "csv":
        print_csv([record])
    elif serving:
        Console().print(text, highlight=False)
    if not serving and args.output == "table":
        return fail(f"{text}", EXIT_UNAVAILABLE)
    return 0 if serving else EXIT_UNAVAILABLE


def _config(args: argparse.Namespace) -> int:
    from rich.table import Table

    from greenchain.client.output import print_csv, print_json

    settings = Settings.from_env()
    current = settings.to_env()
    rows = [
        {"variable": name, "value": current.get(name, ""), "default": default, "meaning": doc}
        for name, default, doc in ENVIRONMENT
    ]
    if args.output == "json":
        print_json(rows)
    elif args.output == "csv":
        print_csv(rows)
    else:
        table = Table("variable", "value", "default", "meaning")
        for row in rows:
            table.add_row(row["variable"], row["value"], row["default"], row["meaning"])
        Console().print(table)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see {self.prog} --help)", EXIT_USAGE)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="greenchain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sample = sub.add_parser("sample", help="generate a sample supplier population and exports")
    sample.add_argument("--out", default="var/sample")
    sample.add_argument("--suppliers", type=int, default=2000)
    sample.add_argument("--months", type=int, default=24)
    sample.add_argument("--seed", type=int, default=42)
    sample.set_defaults(func=_sample)

    def client_options(p: argparse.ArgumentParser, service: str) -> None:
        p.add_argument(
            "--target",
            default=None,
            help=f"host:port of {service} (default: GREENCHAIN_{service.upper()}_TARGET, else "
            f"GREENCHAIN_{service.upper()}_LISTEN)",
        )
        p.add_argument(
            "--token-file",
            default=None,
            help="file with the bearer token, or with '<principal> <token>' lines (make run's "
            "access-tokens.txt; pick one with --principal). Default: GREENCHAIN_TOKEN",
        )
        p.add_argument(
            "--principal", default=None, help="which token of --token-file, e.g. chain:chain-ev"
        )
        p.add_argument(
            "--token",
            default=None,
            help="bearer token on the command line (other users see it: prefer GREENCHAIN_TOKEN "
            "or --token-file)",
        )
        p.add_argument(
            "--ca-file",
            default=None,
            help="CA certificate (PEM): talk TLS (default: GREENCHAIN_TLS_CA_FILE)",
        )

    def output_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--output", choices=OUTPUTS, default="table", help="table (default), json or csv"
        )

    registry = sub.add_parser("registry", help="register suppliers (JSON lines of Supplier)")
    registry.add_argument("file")
    client_options(registry, "ingest")
    registry.set_defaults(func=_registry)

    chains = sub.add_parser("chains", help="register chain leaders (JSON lines of Chain)")
    chains.add_argument("file")
    client_options(chains, "ingest")
    chains.set_defaults(func=_chains)

    designations = sub.add_parser(
        "designations", help="apply a published green / zero-carbon factory list (admin)"
    )
    designations.add_argument("action", choices=["import"])
    designations.add_argument("file", help="the list, .csv or .xlsx (see docs/methodology.md)")
    designations.add_argument(
        "--kind", choices=["green-factory", "zero-carbon"], default="green-factory"
    )
    designations.add_argument("--level", default="", help="level when the file has no column")
    designations.add_argument("--year", type=int, default=0, help="year when the file has none")
    designations.add_argument("--list-reference", default="", help="the list or batch name")
    designations.add_argument(
        "--dry-run", action="store_true", help="report what would change; change nothing"
    )
    client_options(designations, "ingest")
    designations.set_defaults(func=_designations)

    connect = sub.add_parser("connect", help="send ERP exports or PACT documents to ingest")
    connect.add_argument("files", nargs="+")
    connect.add_argument("--mapping", help="mapping file (YAML) for ERP exports")
    connect.add_argument("--pact-supplier", help="PACT documents: the supplier id")
    connect.add_argument("--pact-site", default="s1", help="PACT documents: the site id")
    connect.add_argument(
        "--output-share",
        type=float,
        default=None,
        help="PACT: share of the site's output value (0..1) for every product not in "
        "--output-shares",
    )
    connect.add_argument(
        "--output-shares",
        default=None,
        help="PACT: YAML/JSON file {default: 0.2, products: {<product id>: 0.4}}",
    )
    connect.add_argument(
        "--dry-run",
        action="store_true",
        help="print the declarations that would be sent; send nothing (no server needed)",
    )
    connect.add_argument(
        "--output",
        choices=["text", "json"],
        default="text",
        help="json: one JSON object per line on stdout (dry run: each declaration)",
    )
    client_options(connect, "ingest")
    connect.set_defaults(func=_connect)

    ratings = sub.add_parser("ratings", help="current ratings of a chain's suppliers")
    ratings.add_argument("--chain", default="", help="chain id (admin: empty = all)")
    client_options(ratings, "ledger")
    output_option(ratings)
    ratings.set_defaults(func=_ratings)

    rating = sub.add_parser(
        "rating", help="one supplier's current rating, every indicator, the improvement plan"
    )
    rating.add_argument("--supplier", required=True)
    client_options(rating, "ledger")
    output_option(rating)
    rating.set_defaults(func=_rating)

    progress = sub.add_parser("progress", help="a chain's progress toward the 40 %% goal")
    progress.add_argument("--chain", required=True)
    client_options(progress, "ledger")
    output_option(progress)
    progress.set_defaults(func=_progress)

    history = sub.add_parser("history", help="every rating of a supplier, with hashes")
    history.add_argument("--supplier", required=True)
    client_options(history, "ledger")
    output_option(history)
    history.set_defaults(func=_history)

    watch = sub.add_parser("watch", help="new ratings of a chain as they are recorded (alerts)")
    watch.add_argument("--chain", default="", help="chain id (admin: empty = all)")
    watch.add_argument(
        "--from-index", type=int, default=-1, help="start at this log index (default: live only)"
    )
    watch.add_argument("--count", type=int, default=0, help="stop after this many (0 = never)")
    watch.add_argument("--stale-months", type=int, default=None, help=argparse.SUPPRESS)
    client_options(watch, "ledger")
    output_option(watch)
    watch.set_defaults(func=_watch)

    export = sub.add_parser("export", help="a chain's ratings to CSV or Parquet")
    export.add_argument("--chain", required=True)
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--out", default=None)
    client_options(export, "ledger")
    export.set_defaults(func=_export)

    report = sub.add_parser(
        "report", help="the chain report: Excel (4 sheets) or a one-page PDF summary"
    )
    report.add_argument("--chain", required=True)
    report.add_argument("--format", choices=["xlsx", "pdf"], default="xlsx")
    report.add_argument("--out", default=None, help="file (default: <chain>.<format>)")
    client_options(report, "ledger")
    report.set_defaults(func=_report)

    verify = sub.add_parser(
        "verify",
        help="with --key: check the ledger's signed checkpoint, its consistency with the one you "
        "hold and (with --supplier) every entry's inclusion proof, without trusting the ledger; "
        "without --key: ask the ledger to recompute a supplier's hash chain",
    )
    verify.add_argument("--supplier", default="", help="the supplier whose entries to check")
    verify.add_argument(
        "--key", default="", help="the ledger's public key (name+hash+key) or a file with it"
    )
    verify.add_argument(
        "--checkpoints",
        default=None,
        help="checkpoint store file (default ~/.config/greenchain/checkpoints)",
    )
    client_options(verify, "ledger")
    output_option(verify)
    verify.set_defaults(func=_verify)

    keygen = sub.add_parser("keygen", help="make the ledger's checkpoint signing key pair")
    keygen.add_argument("--name", required=True, help="key name, e.g. the log origin")
    keygen.add_argument("--out", default=".", help="folder for ledger.key and ledger.pub")
    keygen.set_defaults(func=_keygen)

    demo = sub.add_parser("demo", help="the main job (make run): services, sample data, result")
    demo.add_argument("--workdir", default="var/demo")
    demo.add_argument("--suppliers", type=int, default=600)
    demo.add_argument("--months", type=int, default=24)
    demo.add_argument(
        "--kafka-script",
        default=None,
        help="scripts/kafka.sh: start a local broker when none answers, stop it at the end",
    )
    demo.set_defaults(func=_demo)

    stop = sub.add_parser("stop", help="end a running demo (make run) from another shell")
    stop.add_argument("--workdir", default="var/demo")
    stop.set_defaults(func=_stop)

    token = sub.add_parser("token", help="make a bearer token and print its tokens-file entry")
    token.add_argument(
        "--principal", required=True, help="supplier:<id>, chain:<id>, verifier:<id> or admin"
    )
    token.set_defaults(func=_token)

    health = sub.add_parser(
        "health", help="gRPC health check of a service, over TLS when configured (exit 0 = serving)"
    )
    health.add_argument("target", nargs="?", default=None, help="host:port (default: the ledger)")
    health.add_argument(
        "--ca-file", default=None, help="CA certificate (PEM) (default: GREENCHAIN_TLS_CA_FILE)"
    )
    output_option(health)
    health.set_defaults(func=_health)

    config = sub.add_parser("config", help="every setting: its value here, default and meaning")
    output_option(config)
    config.set_defaults(func=_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import grpc

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "connect" and not (args.mapping or args.pact_supplier):
        return fail("connect needs --mapping (ERP export) or --pact-supplier (PACT JSON)", 2)
    try:
        return int(args.func(args))
    except grpc.RpcError as err:
        return _rpc_exit(err)
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        return fail(f"{exc.filename or ''} {exc.strerror or exc}", EXIT_IO)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for people; -v shows it
        if args.verbose:
            logging.exception("internal error")
        return fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_SOFTWARE)


if __name__ == "__main__":
    sys.exit(main())

"""The ``greenchain`` command: run services, generate sample data, connect ERP exports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from greenchain.common.config import ENVIRONMENT, Settings

if TYPE_CHECKING:
    from greenchain.client.ledger import LedgerClient
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


def _connector(args: argparse.Namespace) -> Connector:
    from greenchain.connector.client import Connector

    roots = Path(args.ca_file).read_bytes() if args.ca_file else None
    return Connector(args.target, token=args.token or "", root_certificates=roots)


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


EXIT_DATA, EXIT_UNAVAILABLE, EXIT_PERMISSION = 65, 69, 77
"""sysexits.h: invalid input data, service unavailable, permission denied."""


def _rpc_exit(err: Exception) -> int:
    """One line on stderr and the exit code for a failed call."""
    import grpc

    code = err.code() if isinstance(err, grpc.aio.AioRpcError) else None
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        exit_code = EXIT_PERMISSION
    elif code == grpc.StatusCode.INVALID_ARGUMENT:
        exit_code = EXIT_DATA
    else:
        exit_code = EXIT_UNAVAILABLE
    details = err.details() if isinstance(err, grpc.aio.AioRpcError) else str(err)
    console.print(f"[red]error:[/] {code.name if code else 'failed'}: {details}", highlight=False)
    return exit_code


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
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return EXIT_DATA
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

    roots = Path(args.ca_file).read_bytes() if args.ca_file else None
    return LedgerClient(args.target, token=args.token or "", root_certificates=roots)


def _ratings(args: argparse.Namespace) -> int:
    from greenchain.client.views import ratings_table

    async def collect() -> list[rating_pb2.SupplierRating]:
        return [r async for r in _ledger(args).all_ratings(args.chain)]

    Console().print(ratings_table(asyncio.run(collect()), f"ratings of chain {args.chain}"))
    return 0


def _progress(args: argparse.Namespace) -> int:
    from greenchain.client.views import progress_panel

    Console().print(progress_panel(asyncio.run(_ledger(args).progress(args.chain))))
    return 0


def _history(args: argparse.Namespace) -> int:
    from greenchain.client.views import history_table

    entries = asyncio.run(_ledger(args).history(args.supplier))
    Console().print(history_table(entries, args.supplier))
    return 0


def _watch(args: argparse.Namespace) -> int:
    """New ratings of a chain, one line each, until Ctrl-C; resumes after a cut-off."""

    async def follow() -> None:
        start = args.from_index if args.from_index >= 0 else None
        async for entry in _ledger(args).watch(args.chain, start):
            r = entry.rating
            print(
                f"{entry.index}\t{r.supplier_id}\t#{entry.sequence}\t{r.total_score:.1f}\t"
                f"{r.readiness_tier}\t{entry.entry_hash.hex()[:16]}",
                flush=True,
            )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow())
    return 0


def _export(args: argparse.Namespace) -> int:
    out = Path(args.out or f"{args.chain}.{args.format}")
    count = asyncio.run(_ledger(args).export(args.chain, out, args.format))
    console.print(f"{count} suppliers written to {out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 when everything verified, 1 with one line saying what did not (2: bad usage)."""
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


def _demo(args: argparse.Namespace) -> int:
    from greenchain.client.demo import run_demo

    return run_demo(args.workdir, args.suppliers, args.months)


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
    """gRPC health check: exit 0 when SERVING."""
    from greenchain.common.health import check

    serving, text = check(args.target)
    console.print(text if serving else f"[red]{text}")
    return 0 if serving else 1


def _config(_: argparse.Namespace) -> int:
    from rich.table import Table

    table = Table("variable", "default", "meaning")
    for name, default, doc in ENVIRONMENT:
        table.add_row(name, default, doc)
    Console().print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenchain", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample", help="generate a sample supplier population and exports")
    sample.add_argument("--out", default="var/sample")
    sample.add_argument("--suppliers", type=int, default=2000)
    sample.add_argument("--months", type=int, default=24)
    sample.add_argument("--seed", type=int, default=42)
    sample.set_defaults(func=_sample)

    def client_options(p: argparse.ArgumentParser, default_target: str) -> None:
        p.add_argument("--target", default=default_target, help="host:port of the service")
        p.add_argument("--token", default=None, help="bearer token")
        p.add_argument("--ca-file", default=None, help="CA certificate (PEM) to use TLS")

    registry = sub.add_parser("registry", help="register suppliers (JSON lines of Supplier)")
    registry.add_argument("file")
    client_options(registry, Settings().ingest_listen)
    registry.set_defaults(func=_registry)

    chains = sub.add_parser("chains", help="register chain leaders (JSON lines of Chain)")
    chains.add_argument("file")
    client_options(chains, Settings().ingest_listen)
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
    client_options(designations, Settings().ingest_listen)
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
    client_options(connect, Settings().ingest_listen)
    connect.set_defaults(func=_connect)

    ledger_target = Settings().ledger_listen
    ratings = sub.add_parser("ratings", help="current ratings of a chain's suppliers")
    ratings.add_argument("--chain", default="", help="chain id (admin: empty = all)")
    client_options(ratings, ledger_target)
    ratings.set_defaults(func=_ratings)

    progress = sub.add_parser("progress", help="a chain's progress toward the 40 %% goal")
    progress.add_argument("--chain", required=True)
    client_options(progress, ledger_target)
    progress.set_defaults(func=_progress)

    history = sub.add_parser("history", help="every rating of a supplier, with hashes")
    history.add_argument("--supplier", required=True)
    client_options(history, ledger_target)
    history.set_defaults(func=_history)

    watch = sub.add_parser(
        "watch", help="follow a chain's new ratings (log index, supplier, sequence, score ...)"
    )
    watch.add_argument("--chain", default="", help="chain id (admin: empty = all)")
    watch.add_argument(
        "--from-index", type=int, default=-1, help="start at this log index (default: live only)"
    )
    client_options(watch, ledger_target)
    watch.set_defaults(func=_watch)

    export = sub.add_parser("export", help="a chain's ratings to CSV or Parquet")
    export.add_argument("--chain", required=True)
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--out", default=None)
    client_options(export, ledger_target)
    export.set_defaults(func=_export)

    verify = sub.add_parser(
        "verify",
        help="check the ledger's signed checkpoint, its consistency with the one you hold, and "
        "(with --supplier) every entry's inclusion proof, without trusting the ledger",
    )
    verify.add_argument("--supplier", default="", help="also verify this supplier's entries")
    verify.add_argument(
        "--key", required=True, help="the ledger's public key (name+hash+key) or a file with it"
    )
    verify.add_argument(
        "--checkpoints",
        default=None,
        help="checkpoint store file (default ~/.config/greenchain/checkpoints)",
    )
    client_options(verify, ledger_target)
    verify.set_defaults(func=_verify)

    keygen = sub.add_parser("keygen", help="make the ledger's checkpoint signing key pair")
    keygen.add_argument("--name", required=True, help="key name, e.g. the log origin")
    keygen.add_argument("--out", default=".", help="folder for ledger.key and ledger.pub")
    keygen.set_defaults(func=_keygen)

    demo = sub.add_parser("demo", help="the main job (make run): services, sample data, result")
    demo.add_argument("--workdir", default="var/demo")
    demo.add_argument("--suppliers", type=int, default=600)
    demo.add_argument("--months", type=int, default=24)
    demo.set_defaults(func=_demo)

    token = sub.add_parser("token", help="make a bearer token and print its tokens-file entry")
    token.add_argument("--principal", required=True, help="supplier:<id>, chain:<id> or admin")
    token.set_defaults(func=_token)

    health = sub.add_parser("health", help="gRPC health check of a service (exit 0 = serving)")
    health.add_argument("target", help="host:port")
    health.set_defaults(func=_health)

    config = sub.add_parser("config", help="list the environment variables and defaults")
    config.set_defaults(func=_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "connect" and not (args.mapping or args.pact_supplier):
        console.print("[red]connect needs --mapping (ERP export) or --pact-supplier (PACT JSON)")
        return 2
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())

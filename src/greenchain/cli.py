"""The ``greenchain`` command: run services, generate sample data, connect ERP exports."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from greenchain.common.config import ENVIRONMENT, Settings

if TYPE_CHECKING:
    from greenchain.connector.client import Connector

console = Console(stderr=True)


def _serve(args: argparse.Namespace) -> int:
    from greenchain.common.telemetry import setup_tracing
    from greenchain.services import run_service

    settings = Settings.from_env()
    setup_tracing(f"greenchain-{args.service}", settings)
    return run_service(args.service, settings)


def _sample(args: argparse.Namespace) -> int:
    from greenchain import sampledata

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


def _connect(args: argparse.Namespace) -> int:
    from greenchain.connector.mapping import Mapping
    from greenchain.connector.run import connect_file

    connector = _connector(args)
    exit_code = 0
    for name in args.files:
        path = Path(name)
        if args.pact_supplier:
            result = connect_file(
                path, connector, pact_owner=(args.pact_supplier, args.pact_site, args.output_share)
            )
        else:
            result = connect_file(path, connector, mapping=Mapping.load(args.mapping))
        s = result.summary
        console.print(
            f"{path.name}: {len(result.items)} declarations, [green]{s.accepted} accepted[/], "
            f"[red]{s.rejected_count} rejected[/]"
            + (f" -> fix and resend {result.rejected_file}" if result.rejected_file else "")
        )
        if s.rejected_count:
            exit_code = 1
    return exit_code


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

    serve = sub.add_parser("serve", help="run one service (settings from the environment)")
    serve.add_argument("service", choices=["ingest", "scoring", "ledger"])
    serve.set_defaults(func=_serve)

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

    connect = sub.add_parser("connect", help="send ERP exports or PACT documents to ingest")
    connect.add_argument("files", nargs="+")
    connect.add_argument("--mapping", help="mapping file (YAML) for ERP exports")
    connect.add_argument("--pact-supplier", help="PACT documents: the supplier id")
    connect.add_argument("--pact-site", default="s1", help="PACT documents: the site id")
    connect.add_argument(
        "--output-share", type=float, default=1.0, help="PACT: share of the site's output value"
    )
    client_options(connect, Settings().ingest_listen)
    connect.set_defaults(func=_connect)

    token = sub.add_parser("token", help="make a bearer token and print its tokens-file entry")
    token.add_argument("--principal", required=True, help="supplier:<id>, chain:<id> or admin")
    token.set_defaults(func=_token)

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

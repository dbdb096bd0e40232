"""Published designation lists (绿色工厂 / 零碳工厂 名单) applied to the registry.

Pure (no I/O): :func:`plan_import` matches each row to a registered supplier by its unified
social credit code and says, per row, what it would do. A row changes the registry only when it
is valid, matched to exactly one site, and not contradicted by another row; everything else is
reported with the reason, never silently dropped or guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from greenchain.common.grades import LEVEL_BY_NAME
from greenchain.common.grpc_server import Violation
from greenchain.v1 import ingest_pb2, supplier_pb2

LEVELS: dict[str, supplier_pb2.DesignationLevel] = {
    **LEVEL_BY_NAME,
    "国家级": supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
    "国家": supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
    "省级": supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL,
    "省": supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL,
    "市级": supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL,
    "市": supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL,
}
"""The level words a list may use (English or Chinese)."""

STATUSES: dict[str, supplier_pb2.DesignationStatus] = {
    "": supplier_pb2.DESIGNATION_STATUS_ACTIVE,
    "active": supplier_pb2.DESIGNATION_STATUS_ACTIVE,
    "有效": supplier_pb2.DESIGNATION_STATUS_ACTIVE,
    "revoked": supplier_pb2.DESIGNATION_STATUS_REVOKED,
    "撤销": supplier_pb2.DESIGNATION_STATUS_REVOKED,
}

FIRST_LIST_YEAR = 2016
"""MIIT published its first green manufacturing list (绿色制造示范名单, first batch) in 2016;
an earlier year is a typing error."""

MAX_ROWS = 10_000

_FIELD: dict[int, str] = {
    ingest_pb2.DESIGNATION_KIND_GREEN_FACTORY: "green_factory",
    ingest_pb2.DESIGNATION_KIND_ZERO_CARBON_FACTORY: "zero_carbon_factory",
}


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码 (GB 32100-2015), or None."""
    try:
        uscc.validate(code)
    except ValidationError as exc:
        return f"{code!r} is not a valid unified social credit code: {exc}"
    return None


def row_violations(row: ingest_pb2.DesignationRow, this_year: int) -> list[Violation]:
    """What is wrong with one row on its own (no registry needed)."""
    out: list[Violation] = []
    if problem := credit_code_problem(row.credit_code.strip().upper()):
        out.append(("credit_code", problem))
    if row.level.strip().lower() not in LEVELS:
        out.append(("level", f"unknown level {row.level!r}: national, provincial or municipal"))
    if not FIRST_LIST_YEAR <= row.year <= this_year:
        out.append(("year", f"{row.year} is not a list year ({FIRST_LIST_YEAR}..{this_year})"))
    if row.kind not in _FIELD:
        out.append(("kind", "green factory or zero-carbon factory list"))
    if row.status.strip().lower() not in STATUSES:
        out.append(("status", f"unknown status {row.status!r}: active or revoked"))
    return out


def designation_of(row: ingest_pb2.DesignationRow) -> supplier_pb2.Designation:
    return supplier_pb2.Designation(
        level=LEVELS[row.level.strip().lower()],
        year=row.year,
        list_reference=row.list_reference.strip(),
        status=STATUSES[row.status.strip().lower()],
    )


@dataclass
class ImportPlan:
    """Per row what happens, and the registry entries that change."""

    results: list[ingest_pb2.DesignationRowResult]
    updated: dict[str, supplier_pb2.Supplier] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        return sum(r.outcome == ingest_pb2.ROW_OUTCOME_APPLIED for r in self.results)


def plan_import(
    rows: Sequence[ingest_pb2.DesignationRow],
    registry: Mapping[str, supplier_pb2.Supplier],
    this_year: int,
) -> ImportPlan:
    """Matches ``rows`` to ``registry`` by credit code and plans the changes."""
    by_code: dict[str, list[supplier_pb2.Supplier]] = defaultdict(list)
    for supplier in registry.values():
        if supplier.credit_code:
            by_code[supplier.credit_code.strip().upper()].append(supplier)

    results = [ingest_pb2.DesignationRowResult(row=row.row) for row in rows]
    targets: dict[tuple[str, str, int], list[int]] = defaultdict(list)  # (supplier, site, kind)
    for i, row in enumerate(rows):
        result = results[i]
        violations = row_violations(row, this_year)
        if violations:
            result.outcome = ingest_pb2.ROW_OUTCOME_INVALID
            result.violations.extend(
                ingest_pb2.FieldViolation(field=f, description=d) for f, d in violations
            )
            result.detail = "; ".join(d for _, d in violations)
            continue
        matches = by_code.get(row.credit_code.strip().upper(), [])
        if len(matches) != 1:
            result.outcome = (
                ingest_pb2.ROW_OUTCOME_UNMATCHED
                if not matches
                else ingest_pb2.ROW_OUTCOME_AMBIGUOUS
            )
            result.detail = (
                f"no registered supplier has credit code {row.credit_code} ({row.name})"
                if not matches
                else f"{len(matches)} registered suppliers share credit code {row.credit_code}"
            )
            continue
        supplier = matches[0]
        result.supplier_id = supplier.supplier_id
        sites = [s.site_id for s in supplier.sites]
        if row.site_id:
            if row.site_id not in sites:
                result.outcome = ingest_pb2.ROW_OUTCOME_INVALID
                result.violations.append(
                    ingest_pb2.FieldViolation(
                        field="site_id",
                        description=f"{row.site_id!r} is not a site of {supplier.supplier_id}",
                    )
                )
                result.detail = result.violations[0].description
                continue
            site = row.site_id
        elif len(sites) == 1:
            site = sites[0]
        else:
            result.outcome = ingest_pb2.ROW_OUTCOME_AMBIGUOUS
            result.detail = (
                f"{supplier.supplier_id} has {len(sites)} sites ({', '.join(sites)}); "
                "add a site_id column"
            )
            continue
        result.site_id = site
        targets[(supplier.supplier_id, site, row.kind)].append(i)

    updated: dict[str, supplier_pb2.Supplier] = {}
    for (supplier_id, site_id, kind), indexes in targets.items():
        designations = [designation_of(rows[i]) for i in indexes]
        if any(d != designations[0] for d in designations[1:]):
            for i in indexes:
                results[i].outcome = ingest_pb2.ROW_OUTCOME_CONFLICT
                others = [str(rows[j].row) for j in indexes if j != i]
                results[i].detail = f"rows {', '.join(others)} say otherwise for {site_id}"
            continue
        first, *repeats = indexes
        for i in repeats:
            results[i].outcome = ingest_pb2.ROW_OUTCOME_DUPLICATE
            results[i].detail = f"same as row {rows[first].row}"
        entry = updated.get(supplier_id)
        if entry is None:
            entry = supplier_pb2.Supplier()
            entry.CopyFrom(registry[supplier_id])
        target = next(s for s in entry.sites if s.site_id == site_id)
        current: supplier_pb2.Designation = getattr(target, _FIELD[kind])
        if target.HasField(_FIELD[kind]) and current == designations[0]:
            results[first].outcome = ingest_pb2.ROW_OUTCOME_UNCHANGED
            continue
        current.CopyFrom(designations[0])
        results[first].outcome = ingest_pb2.ROW_OUTCOME_APPLIED
        updated[supplier_id] = entry
    return ImportPlan(results, updated)

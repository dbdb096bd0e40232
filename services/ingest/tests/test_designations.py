"""A published designation list against the registry: each row applied, or reported with why
(wrong check digit, unknown level, duplicate, conflict, unmatched, ambiguous), nothing guessed."""

from __future__ import annotations

from stdnum.cn import uscc

from greenchain.ingest.designations import credit_code_problem, plan_import
from greenchain.ingest.validation import validate_supplier
from greenchain.testing.builders import supplier
from greenchain.v1 import ingest_pb2, supplier_pb2

YEAR = 2026
GF = ingest_pb2.DESIGNATION_KIND_GREEN_FACTORY
ZC = ingest_pb2.DESIGNATION_KIND_ZERO_CARBON_FACTORY


def code(body: str) -> str:
    """A valid credit code from its first 17 characters."""
    return body + uscc.calc_check_digit(body)


CODE_1, CODE_2 = code("91320500MA1N00010"), code("91310000MA1K00020")
CODE_3 = code("91330100MA2B00030")


def registry() -> dict[str, supplier_pb2.Supplier]:
    one = supplier("sup-1")
    one.credit_code = CODE_1
    two = supplier("sup-2")  # two sites
    two.credit_code = CODE_2
    two.sites.add(site_id="s2", name="Second plant", land_area_m2=1000.0)
    return {"sup-1": one, "sup-2": two}


def row(
    n: int, credit: str, level: str = "national", **fields: object
) -> ingest_pb2.DesignationRow:
    values: dict[str, object] = {
        "row": n,
        "name": f"Factory {n}",
        "credit_code": credit,
        "province": "jiangsu",
        "level": level,
        "year": 2024,
        "list_reference": "MIIT 2024",
        "kind": GF,
    }
    return ingest_pb2.DesignationRow(**(values | fields))  # type: ignore[arg-type]


def test_a_good_row_sets_the_site_designation() -> None:
    plan = plan_import([row(1, CODE_1, "国家级")], registry(), YEAR)
    (result,) = plan.results
    assert (result.outcome, result.supplier_id, result.site_id) == (
        ingest_pb2.ROW_OUTCOME_APPLIED,
        "sup-1",
        "s1",
    )
    designation = plan.updated["sup-1"].sites[0].green_factory
    assert (designation.level, designation.year, designation.status) == (
        supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
        2024,
        supplier_pb2.DESIGNATION_STATUS_ACTIVE,
    )
    # the registry entry handed in is not modified; applying it again changes nothing
    assert not registry()["sup-1"].sites[0].HasField("green_factory")
    again = plan_import([row(1, CODE_1)], plan.updated | {"sup-2": registry()["sup-2"]}, YEAR)
    assert again.results[0].outcome == ingest_pb2.ROW_OUTCOME_UNCHANGED and not again.updated


def test_a_bad_list_is_reported_row_by_row_and_changes_nothing_it_cannot_match() -> None:
    wrong_digit = CODE_1[:-1] + ("0" if CODE_1[-1] != "0" else "1")
    rows = [
        row(1, wrong_digit),  # check digit
        row(2, CODE_1, "county"),  # unknown level
        row(3, CODE_1, year=2009),  # before the first list
        row(4, CODE_3),  # valid code, not registered
        row(5, CODE_2),  # two sites, no site_id
        row(6, CODE_2, site_id="s9"),  # not a site of it
        row(7, CODE_2, site_id="s2", level="provincial"),
        row(8, CODE_2, site_id="s2", level="provincial"),  # duplicate of 7
        row(9, CODE_2, site_id="s1", kind=ZC, level="national"),
        row(10, CODE_2, site_id="s1", kind=ZC, level="provincial"),  # conflicts with 9
    ]
    plan = plan_import(rows, registry(), YEAR)
    outcomes = [(r.row, r.outcome) for r in plan.results]
    assert outcomes == [
        (1, ingest_pb2.ROW_OUTCOME_INVALID),
        (2, ingest_pb2.ROW_OUTCOME_INVALID),
        (3, ingest_pb2.ROW_OUTCOME_INVALID),
        (4, ingest_pb2.ROW_OUTCOME_UNMATCHED),
        (5, ingest_pb2.ROW_OUTCOME_AMBIGUOUS),
        (6, ingest_pb2.ROW_OUTCOME_INVALID),
        (7, ingest_pb2.ROW_OUTCOME_APPLIED),
        (8, ingest_pb2.ROW_OUTCOME_DUPLICATE),
        (9, ingest_pb2.ROW_OUTCOME_CONFLICT),
        (10, ingest_pb2.ROW_OUTCOME_CONFLICT),
    ]
    fields = {r.row: [v.field for v in r.violations] for r in plan.results if r.violations}
    assert fields == {1: ["credit_code"], 2: ["level"], 3: ["year"], 6: ["site_id"]}
    assert "check digit" in plan.results[0].detail
    # only sup-2's site s2 changed; its s1 kept no zero-carbon designation; sup-1 untouched
    assert set(plan.updated) == {"sup-2"}
    s1, s2 = plan.updated["sup-2"].sites
    assert s2.green_factory.level == supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL
    assert not s1.HasField("zero_carbon_factory") and not s1.HasField("green_factory")


def test_registry_entries_validate_credit_code_designations_and_purchases() -> None:
    good = supplier("sup-1")
    good.credit_code = CODE_1
    good.purchases.add(chain_id="chain-a", annual_purchase_value_cny=1e6)
    good.sites[0].green_factory.CopyFrom(
        supplier_pb2.Designation(
            level=supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL,
            year=2023,
            status=supplier_pb2.DESIGNATION_STATUS_ACTIVE,
        )
    )
    assert validate_supplier(good) == []
    bad = supplier("sup-1")
    bad.credit_code = CODE_1[:-1] + "I"  # I is not in the code's alphabet
    bad.purchases.add(chain_id="chain-z", annual_purchase_value_cny=-1)
    bad.sites[0].green_factory.year = 2024  # level and status missing
    assert {path for path, _ in validate_supplier(bad)} == {
        "credit_code",
        "purchases[0].chain_id",
        "purchases[0].annual_purchase_value_cny",
        "sites[0].green_factory.level",
        "sites[0].green_factory.status",
    }
    assert credit_code_problem(CODE_2) is None

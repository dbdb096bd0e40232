"""The rating model alone: polars vs the plain-Python implementation, same inputs, same results."""

from __future__ import annotations

import gc
from typing import Any

from bench import plain_model
from bench.common import timed
from bench.workloads import model_inputs, plain_inputs
from greenchain.scoring.model import Methodology, rate, score, snapshot, supplier_indicators


def run(suppliers: int) -> dict[str, Any]:
    m = Methodology.load()
    declarations, registry = model_inputs(suppliers, months=12)
    rows, plain_registry = plain_inputs(declarations, registry)

    # full rating: declarations -> indicators -> benchmarks -> scores
    polars_full, rated = timed(rate, declarations, registry, m, repeat=3)
    plain_full, plain_rated = timed(plain_model.rate, rows, plain_registry, m)
    mismatches = [
        r["supplier_id"]
        for r in rated.iter_rows(named=True)
        if abs(plain_rated[r["supplier_id"]].total_score - r["total_score"]) > 1e-3
        or plain_rated[r["supplier_id"]].readiness_tier != r["readiness_tier"]
        or plain_rated[r["supplier_id"]].grade != r["grade"]
    ]
    if mismatches or len(plain_rated) != rated.height:
        raise AssertionError(f"plain and polars models disagree on {mismatches[:10]}")

    # re-rating: what the worker does when benchmarks move (indicators already known)
    population = supplier_indicators(declarations, registry, m)
    polars_rerate, _ = timed(lambda: score(population, snapshot(population, m), m), repeat=3)
    plain_population = plain_model.population(rows, plain_registry, m)
    plain_rerate_s, _ = timed(plain_model.score_population, plain_population, m)
    del rows, plain_population
    gc.collect()
    return {
        "requested_suppliers": suppliers,
        "suppliers": rated.height,  # a few of the generated suppliers never declare anything
        "declarations": declarations.height,
        "full_rating_s": {"polars": polars_full, "plain_python": plain_full},
        "re_rating_s": {"polars": polars_rerate, "plain_python": plain_rerate_s},
        "speedup_full": plain_full / polars_full,
        "speedup_re_rating": plain_rerate_s / polars_rerate,
        "results_identical": True,
    }

"""Results as JSON, a PNG chart and the table in docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.peers import CONSUMERS

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

GOALS = {
    "scoring_vs_naive": 20.0,
    "ingest_share_of_ceiling": 0.10,
    "e2e_p99_ms_at_2000": 1000.0,
    "model_100k_full_s": 2.0,
    "merkle_proof_p99_ms_at_1m": 10.0,
    "scale_batch_cost_ratio_1m_to_1k": 2.0,  # issue #15: cost follows the batch
    "scale_batch_ms_at_1m": 50.0,
    "ledger_list_page_p99_ms_at_20k_chain": 10.0,
    "e2e_p99_ms_at_2000_with_100k_suppliers": 1000.0,
    "restart_rating_again_s_at_100k": 30.0,
    "scoring_vs_quix_same_job": 1.0,
    "scoring_share_of_quix_noop": 0.5,
    "backfill_declarations_per_s": 50_000.0,
}


def _p99(level: dict[str, Any]) -> float:
    """A latency level's p99 (ms); when nothing reached the ledger while it was watched, the
    watched time, a lower bound (bench.latency)."""
    if level["p99_ms"] is not None:
        return float(level["p99_ms"])
    return 1000.0 * float(level["waited_after_offer_s"])


def _latency(level: dict[str, Any]) -> str:
    if level["p99_ms"] is None:
        return f"none reached the ledger {level['waited_after_offer_s']:g} s after the offer"
    return (
        f"p50 {_f(level['p50_ms'])} ms, p99 {_f(level['p99_ms'])} ms, max {_f(level['max_ms'])} ms"
    )


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each goal of docs/performance.md with the measured figure and whether it was met."""
    out: dict[str, dict[str, Any]] = {}
    if scoring := results.get("scoring"):
        out["scoring_vs_naive"] = {
            "measured": scoring["speedup_vs_naive"],
            "higher_is_better": True,
        }
    if ingest := results.get("ingest"):
        out["ingest_share_of_ceiling"] = {
            "measured": ingest["share_of_ceiling"],
            "higher_is_better": True,
        }
    if latency := results.get("latency"):
        at_2000 = next((lv for lv in latency["levels"] if lv["offered_per_s"] == 2000), None)
        if at_2000:
            out["e2e_p99_ms_at_2000"] = {"measured": _p99(at_2000), "higher_is_better": False}
    if (model := results.get("model")) and model["requested_suppliers"] >= 100_000:
        out["model_100k_full_s"] = {
            "measured": model["full_rating_s"]["polars"],
            "higher_is_better": False,
        }
    if (mk := results.get("merkle")) and mk["proofs"]["size"] >= 1_000_000:
        p = mk["proofs"]
        out["merkle_proof_p99_ms_at_1m"] = {
            "measured": max(p["inclusion_proof"]["p99_ms"], p["consistency_proof"]["p99_ms"]),
            "higher_is_better": False,
        }
    engine = results.get("scale", {}).get("scoring_engine")
    if engine and "1000000" in engine["populations"]:
        out["scale_batch_cost_ratio_1m_to_1k"] = {
            "measured": engine["cost_ratio_largest_to_smallest"],
            "higher_is_better": False,
        }
        out["scale_batch_ms_at_1m"] = {
            "measured": engine["populations"]["1000000"]["batch_ms_median"],
            "higher_is_better": False,
        }
    listing = results.get("scale", {}).get("ledger_list_ratings")
    if listing and listing["chain_members"] >= 20_000:
        out["ledger_list_page_p99_ms_at_20k_chain"] = {
            "measured": listing["p99_ms"],
            "higher_is_better": False,
        }
    at_scale = results.get("scale", {}).get("e2e_latency_at_population")
    if at_scale and at_scale["population"] >= 100_000 and at_scale["offered_per_s"] >= 2000:
        out["e2e_p99_ms_at_2000_with_100k_suppliers"] = {
            "measured": _p99(at_scale),
            "higher_is_better": False,
        }
    restart = results.get("scale", {}).get("restart")
    if restart and restart["suppliers"] >= 100_000:
        # not rated again within the window it was watched: the window, a lower bound (not met)
        again = restart["first_new_rating_s"]
        out["restart_rating_again_s_at_100k"] = {
            "measured": restart["watched_s"] if again is None else again,
            "higher_is_better": False,
        }
    if peers := results.get("peers"):
        ratio = peers["greenchain_ratio"]
        for verdict_name, peer in (
            ("scoring_vs_quix_same_job", "quix_scoring"),
            ("scoring_share_of_quix_noop", "quix_noop"),
        ):
            if ratio.get(peer) is not None:
                out[verdict_name] = {"measured": ratio[peer], "higher_is_better": True}
    if (backfill := results.get("backfill")) and backfill["declarations"] >= 5_000_000:
        out["backfill_declarations_per_s"] = {
            "measured": backfill["declarations_per_s"],
            "higher_is_better": True,
        }
    for name, verdict in out.items():
        goal = GOALS[name]
        verdict["goal"] = goal
        better = verdict.pop("higher_is_better")
        verdict["met"] = verdict["measured"] >= goal if better else verdict["measured"] <= goal
    return out


def chart(results: dict[str, Any], path: Path) -> None:
    """One panel per comparison, each normalised to its baseline of the same run."""
    panels: list[tuple[str, dict[str, float], str]] = []
    if scoring := results.get("scoring"):
        panels.append(("scoring, declarations/s", scoring["declarations_per_s"], "log"))
    if peers := results.get("peers"):
        rates = {n: c["declarations_per_s"] for n, c in peers["consumers"].items()}
        panels.append(("peers, declarations/s", rates, "log"))
    if backfill := results.get("backfill"):
        goal = GOALS["backfill_declarations_per_s"]
        rates = {"scoring worker": backfill["declarations_per_s"], "goal": goal}
        panels.append((f"backfill of {backfill['declarations']:,}, declarations/s", rates, "log"))
    if ingest := results.get("ingest"):
        panels.append(("ingest, acked declarations/s", ingest["declarations_per_s"], "log"))
    if model := results.get("model"):
        panels.append(
            (f"model, {model['suppliers']:,} suppliers, s", model["full_rating_s"], "linear")
        )
    if ledger := results.get("ledger"):
        panels.append(
            ("ledger, queries/s", {k: v["qps"] for k, v in ledger["queries"].items()}, "log")
        )
    if latency := results.get("latency"):
        panels.append(
            (
                "end-to-end p99 latency, ms",
                {f"{lv['offered_per_s']}/s offered": _p99(lv) for lv in latency["levels"]},
                "linear",
            )
        )
    if merkle := results.get("merkle"):
        panels.append(("ledger append, ratings/s", merkle["append_ratings_per_s"], "linear"))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for axis, (title, values, scale) in zip(axes[0], panels, strict=True):
        names = list(values)
        axis.bar(range(len(names)), [values[n] for n in names], color="#3a7d44")
        axis.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=7)
        axis.set_yscale(scale)
        axis.set_title(title, fontsize=9)
    figure.suptitle(
        f"greenchain benchmarks, {results['date']} ({results['machine']['cores']} cores)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _f(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def table(results: dict[str, Any]) -> str:
    """The markdown block that replaces the one between the markers in docs/performance.md."""
    m = results["machine"]
    stem = results["date"] + ("-quick" if results.get("quick") else "")
    lines = [
        f"Run of **{results['date']}** on {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, "
        f"Python {m['python']}, {m['java']}. Raw figures: `bench/results/{stem}.json`.",
        "",
        f"![benchmarks](../bench/results/{stem}.png)",
        "",
        "| What | greenchain | baseline (same run) | ratio |",
        "|---|---|---|---|",
    ]
    if s := results.get("scoring"):
        rates = s["declarations_per_s"]
        lines += [
            f"| scoring, declarations/s | {_f(rates['polars_worker'])} | naive per-event faust "
            f"agent {_f(rates['naive_faust_agent'])} | **{s['speedup_vs_naive']:.1f}x** |",
            f"| scoring vs faust's own per-event ceiling | {_f(rates['polars_worker'])} | no-op "
            f"faust agent {_f(rates['faust_noop_agent'])} | "
            f"{rates['polars_worker'] / rates['faust_noop_agent']:.0%} |",
            f"| scoring vs Kafka | {_f(rates['polars_worker'])} | ConsumerPerformance "
            f"{_f(rates['kafka_consumer_performance'])} | {s['share_of_ceiling']:.1%} |",
        ]
    if sw := results.get("scale", {}).get("scoring_workers"):
        one, two = sw["workers"]["1"], sw["workers"]["2"]
        lines += [
            f"| scoring, 2 worker processes vs 1 ({sw['partitions']} partitions), "
            f"declarations/s | {_f(two['declarations_per_s'])} | 1 worker "
            f"{_f(one['declarations_per_s'])} | {sw['two_vs_one']:.2f}x |",
            f"| scoring, 2 workers vs Kafka | {_f(two['declarations_per_s'])} | "
            f"ConsumerPerformance {_f(sw['kafka_consumer_performance_per_s'])} | "
            f"{two['share_of_consumer_performance']:.1%} |",
            f"| scoring, 2 workers vs the naive agent | {_f(two['declarations_per_s'])} | "
            f"naive per-event faust agent {_f(sw['naive_faust_agent_per_s'])} | "
            f"{two['vs_naive_faust_agent']:.1f}x |",
        ]
    if sc := results.get("scale", {}).get("scoring_engine"):
        pops = sc["populations"]
        smallest, largest = min(pops, key=int), max(pops, key=int)
        lines.append(
            f"| scoring micro-batch of {sc['batch_declarations']} declarations at "
            f"{int(largest):,} suppliers, ms (engine only) | {pops[largest]['batch_ms_median']} | "
            f"at {int(smallest):,} suppliers {pops[smallest]['batch_ms_median']} | "
            f"{sc['cost_ratio_largest_to_smallest']:.2f}x |"
        )
    if i := results.get("ingest"):
        rates = i["declarations_per_s"]
        lines.append(
            f"| ingest, acked declarations/s ({i['record_bytes']} B, {i['streams']} streams) | "
            f"{_f(rates['ingest'])} | ProducerPerformance {_f(rates['kafka_producer_performance'])}"
            f" | {i['share_of_ceiling']:.1%} |"
        )
        if "ingest_two_processes" in rates:
            lines.append(
                f"| ingest, two processes on one port (SO_REUSEPORT) | "
                f"{_f(rates['ingest_two_processes'])} | ProducerPerformance "
                f"{_f(rates['kafka_producer_performance'])} | "
                f"{i['share_of_ceiling_two_processes']:.1%} |"
            )
    if lat := results.get("latency"):
        for lv in lat["levels"]:
            lines.append(
                f"| end-to-end latency at {lv['offered_per_s']:,}/s offered "
                f"({_f(lv['achieved_per_s'])}/s achieved) | {_latency(lv)} | | |"
            )
    if e2e := results.get("scale", {}).get("e2e_latency_at_population"):
        lines.append(
            f"| end-to-end latency at {e2e['offered_per_s']:,}/s offered "
            f"({_f(e2e['achieved_per_s'])}/s achieved) with {e2e['population']:,} suppliers "
            f"rated before | {_latency(e2e)} | | |"
        )
    if rs := results.get("scale", {}).get("restart"):
        again = rs["first_new_rating_s"]
        lines.append(
            f"| scoring worker holding {rs['suppliers']:,} suppliers, restart to its first new "
            f"rating, s | {'none in the window' if again is None else f'{again:.1f}'} | goal "
            f"{rs['goal_s']:g} | |"
        )
    if led := results.get("ledger"):
        q = led["queries"]
        for name in (
            "get_rating",
            "list_ratings_page_50",
            "list_ratings_big_chain_page_50",
            "get_rating_during_append",
        ):
            if name not in q:
                continue
            share = q[name]["qps"] / q["health_check"]["qps"]
            lines.append(
                f"| ledger {name.replace('_', ' ')}, {led['clients']} clients | "
                f"{_f(q[name]['qps'])} q/s, p99 {q[name]['p99_ms']:.1f} ms | health check "
                f"{_f(q['health_check']['qps'])} q/s | {share:.0%} |"
            )
    if mk := results.get("merkle"):
        rates, p = mk["append_ratings_per_s"], mk["proofs"]
        lines += [
            f"| ledger append with Merkle log + signed checkpoint, ratings/s | "
            f"{_f(rates['merkle_log'])} | per-supplier chain only, unsigned "
            f"{_f(rates['chain_only_unsigned'])} | "
            f"{rates['merkle_log'] / rates['chain_only_unsigned']:.0%} |",
            f"| inclusion / consistency proof, log of {p['size']:,}, p99 ms | "
            f"{p['inclusion_proof']['p99_ms']:.2f} / {p['consistency_proof']['p99_ms']:.2f} | | |",
            f"| client verification of inclusion / consistency, p99 ms | "
            f"{p['verify_inclusion']['p99_ms']:.3f} / {p['verify_consistency']['p99_ms']:.3f} | "
            f"old server-side chain recompute (12 entries) "
            f"{p['old_chain_verify_12_entries']['p99_ms']:.3f} | |",
        ]
    if mo := results.get("model"):
        lines += [
            f"| model, full rating of {mo['suppliers']:,} suppliers ({mo['declarations']:,} "
            f"declarations), s | {mo['full_rating_s']['polars']:.2f} | plain Python "
            f"{mo['full_rating_s']['plain_python']:.2f} | **{mo['speedup_full']:.1f}x** |",
            f"| model, re-rating {mo['suppliers']:,} suppliers (indicators known), s | "
            f"{mo['re_rating_s']['polars']:.2f} | plain Python "
            f"{mo['re_rating_s']['plain_python']:.2f} | **{mo['speedup_re_rating']:.1f}x** |",
        ]
    lines += _peers(results)
    memory: dict[str, float] = {}
    for part in ("ingest", "scoring", "ledger", "latency"):
        for name, mib in results.get(part, {}).get("peak_rss_mib", {}).items():
            memory[name] = max(memory.get(name, 0.0), mib)
    if memory:
        lines += [
            "",
            "Peak memory (VmHWM) per process: "
            + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in sorted(memory.items()))
            + ".",
        ]
    lines += ["", "| Goal | target | measured | met |", "|---|---|---|---|"]
    for name, v in results.get("goals", {}).items():
        lines.append(
            f"| {name} | {v['goal']:g} | {v['measured']:.3g} | {'yes' if v['met'] else '**no**'} |"
        )
    return "\n".join(lines)


def _peers(results: dict[str, Any]) -> list[str]:
    """The peer table (issue #20) and the backfill line, when measured."""
    lines: list[str] = []
    if p := results.get("peers"):
        lines += [
            "",
            f"Peers: {p['declarations']:,} declarations ({p['suppliers']:,} suppliers × "
            f"{p['months']} months, {p['partitions']} partitions), each consumer reading all "
            f"of them in its own group; greenchain's copy in the `{p['greenchain_form']}` form "
            f"({p['greenchain_records']:,} records, "
            f"{p['declarations_per_greenchain_record']:.0f} declarations per record), the peers' "
            "one declaration per record.",
            "",
            "| consumer | records/s | declarations/s | greenchain's declarations/s ÷ this |",
            "|---|---|---|---|",
        ]
        for name, c in p["consumers"].items():
            value = p["greenchain_ratio"].get(name)
            ratio = "" if name == "greenchain" else "n/a" if value is None else f"{value:.2f}"
            partial = "" if c.get("complete", True) else " (budget ended first)"
            partial += " (from its ready line)" if c.get("from_start") else ""
            lines.append(
                f"| {CONSUMERS[name]}{partial} | {_f(c['records_per_s'])} | "
                f"{_f(c['declarations_per_s'])} | {ratio} |"
            )
    if b := results.get("backfill"):
        overall = b["overall_declarations_per_s"]
        lines += [
            "",
            f"Backfill: {b['declarations']:,} declarations of {b['suppliers']:,} suppliers "
            f"({b['records']:,} `{b['form']}` records) from an empty state through one scoring "
            f"worker: **{_f(b['declarations_per_s'])} declarations/s** "
            + ("from its ready line" if b.get("from_start") else "from its first commit")
            + (
                f", {_f(overall)}/s over {b['wall_s']:.0f} s from process start"
                if overall
                else f" (incomplete: {b['measured_declarations']:,} in the {b['budget_s']:.0f} "
                "s budget)"
            )
            + f"; peak memory {b['peak_rss_mib']:.0f} MiB.",
        ]
    return lines


def write(results: dict[str, Any], out_dir: Path, doc: Path) -> tuple[Path, Path]:
    results["goals"] = verdicts(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = results["date"] + ("-quick" if results.get("quick") else "")
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    png_path = out_dir / f"{stem}.png"
    chart(results, png_path)
    text = doc.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{table(results)}\n{END}{tail}")
    return json_path, png_path


if __name__ == "__main__":  # re-render the chart and docs table from a results file
    import sys

    from greenchain.testing import ROOT

    saved = json.loads(Path(sys.argv[1]).read_text())
    print(*write(saved, ROOT / "bench" / "results", ROOT / "docs" / "performance.md"), sep="\n")

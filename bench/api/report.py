"""Markdown tables from a run.py results file: `python bench/api/report.py results.json`."""

import json
import sys


def main(path: str) -> None:
    with open(path) as handle:
        r = json.load(handle)
    d = r["dataset"]
    print(
        f"Data: {d['cases']:,} cases, {d['tasks']:,} tasks, {d['artifacts']:,} artifacts, "
        f"{d['notes']:,} notes; gunicorn {r['gunicorn_workers']} sync workers, "
        f"{r['seconds']:.0f} s per measurement; load average {r['loadavg_before']} before, "
        f"{r['loadavg_after']} after.\n"
    )
    has_before = any("before" in row for v in r["scenarios"].values() for row in v.values())
    head = "| scenario | c | API req/s | API p50 / p99 ms | minimal req/s | minimal p50 / p99 ms |"
    line = "|---|---|---|---|---|---|"
    if has_before:
        head += " before req/s | before p50 / p99 ms |"
        line += "---|---|"
    print(head + " queries |")
    print(line + "---|")
    for name, levels in r["scenarios"].items():
        queries = "/".join(str(q) for q in r["queries"][name]["queries"])
        for level, row in levels.items():
            cells = [name, level]
            for target in ("api", "minimal", "before") if has_before else ("api", "minimal"):
                m = row.get(target)
                if not m or not m["requests"]:
                    cells += ["0", "—"]
                    continue
                cells += [f"{m['rps']:.1f}", f"{m['p50_ms']:.0f} / {m['p99_ms']:.0f}"]
            print("| " + " | ".join(cells) + f" | {queries} |")
    if r.get("inprocess"):
        print("\n| scenario | API CPU ms | minimal CPU ms | ratio | API wall ms | minimal wall ms "
              "| ratio |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for name, row in r["inprocess"].items():
            a, m = row["api"], row["minimal"]
            print(
                f"| {name} | {a['cpu_ms']} | {m['cpu_ms']} | {row['cpu_ratio']} | "
                f"{a['wall_ms']} | {m['wall_ms']} | {row['wall_ratio']} |"
            )


if __name__ == "__main__":
    main(sys.argv[1])

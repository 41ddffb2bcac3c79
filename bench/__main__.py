"""``make bench``: run every benchmark and write bench/results/*.json and bench/results/summary.md.

Benchmarks measure speed and memory against the targets in the issues; they are not tests (timings
depend on the machine and on what else it is doing, so each records the load average too).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHES = ("bench_intake", "bench_scores", "bench_batch", "bench_dashboards", "bench_network")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = ["# Benchmark results", "", "| benchmark | figures | meets target |", "| --- | --- | --- |"]
    ok = True
    for name in BENCHES:
        if not (ROOT / "bench" / f"{name}.py").exists():
            continue
        print(f"running {name} ...", flush=True)
        try:
            figures = importlib.import_module(f"bench.{name}").run(RESULTS)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            figures = {"error": f"{type(exc).__name__}: {exc}", "meets_target": False}
        met = all(v for k, v in figures.items() if k.endswith("meets_target"))
        ok &= met
        shown = ", ".join(f"{k} {v}" for k, v in figures.items() if not isinstance(v, list | dict))
        lines.append(f"| {name} | {shown} | {'yes' if met else 'NO'} |")
        print(json.dumps(figures, indent=2), flush=True)
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"results in {RESULTS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

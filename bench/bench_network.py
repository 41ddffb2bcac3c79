"""Benchmark: the network of 100 councils x 20 neighbourhoods x 3 waves (issue 17, part 3).

1. 100 synthetic returns (``helpers.surfaces.network_sample``, 10 neighbourhoods per project, two projects: 20
   per council) are written; then a child process imports them all into a network database and pools every
   family, measure and wave (``network meta``); its time and peak resident memory are recorded.
2. The network's pages (every family at every later wave) are made from the Parquet export one after another
   in one process, and on a local Dask cluster of two worker processes; both times are recorded.

Our targets (the issue sets none): import and pooling under 60 s and 1 GB. Run: ``python bench/bench_network.py``
-> bench/results/network.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COUNCILS = 100
NEIGHBOURHOODS_PER_PROJECT = 10
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 1024.0

_CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from helpers.config.framework import framework
from helpers.evidence.network import pooled_table
from helpers.store import network
fw = framework()
start = time.perf_counter()
for path in sorted(Path({returns!r}).glob("*.zip")):
    network.import_return({db!r}, path)
imported = time.perf_counter() - start
start = time.perf_counter()
table, differing = pooled_table({db!r}, fw, None)
pooled = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"import_seconds": imported, "meta_seconds": pooled, "pooled_rows": len(table),
                  "peak_rss_mb": peak}}))
"""


def _pages(fw, db: Path, out: Path, executor: str) -> float:
    from helpers.store import network
    from helpers.surfaces.network_batch import plan_pages, run_pages

    data = out / "network-data"
    network.export_parquet(db, data)
    pages = plan_pages(fw, data, out, network.families(data))
    start = time.perf_counter()
    outcomes = run_pages(pages, executor, None, workers=2)
    seconds = time.perf_counter() - start
    failed = [o.error for o in outcomes if o.status != "done"]
    if failed:
        raise RuntimeError(f"network pages failed: {failed[0]}")
    return seconds


def run(results_dir: Path, councils: int = COUNCILS) -> dict:
    from helpers.config.framework import framework
    from helpers.surfaces.network_sample import write_network_sample

    fw = framework()
    with tempfile.TemporaryDirectory(prefix="bench-network-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        write_network_sample(fw, tmp / "returns", councils, neighbourhoods=NEIGHBOURHOODS_PER_PROJECT)
        write_seconds = time.perf_counter() - start
        db = tmp / "network.duckdb"
        code = _CHILD.format(root=str(ROOT), returns=str(tmp / "returns"), db=str(db))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"import and pooling failed:\n{done.stderr}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        one_process = _pages(fw, db, tmp / "pages-local", "local")
        two_workers = _pages(fw, db, tmp / "pages-dask", "dask")
    figures = {
        "councils": councils,
        "neighbourhoods_per_council": 2 * NEIGHBOURHOODS_PER_PROJECT,
        "waves": len(fw.settings.waves),
        "write_returns_seconds": round(write_seconds, 1),
        **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in child.items()},
        "pages": 2 * (len(fw.settings.waves) - 1),
        "pages_one_process_seconds": round(one_process, 1),
        "pages_dask_two_workers_seconds": round(two_workers, 1),
        "target_seconds": TARGET_SECONDS,
        "target_peak_mb": TARGET_PEAK_MB,
        "meets_target": child["import_seconds"] + child["meta_seconds"] < TARGET_SECONDS
        and child["peak_rss_mb"] < TARGET_PEAK_MB,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "network.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, default=COUNCILS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    figures = run(args.out, args.councils)
    print(json.dumps(figures, indent=2))
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

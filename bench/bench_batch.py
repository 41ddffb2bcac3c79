"""Benchmark: the sample batch against the papermill floor, measured side by side in the same run.

Target (issue 6): the whole sample batch takes at most 1.5 x (reports x floor / jobs), where the floor
is a bare ``papermill`` run of an empty notebook on this machine. Also measured: a rerun with nothing
changed (target under 3 s) and the per-report breakdown (kernel start and stop, helpers import, sections,
worker and HTML export). Run: ``python bench/bench_batch.py`` -> bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RATIO_TARGET = 1.5
RERUN_TARGET_SECONDS = 3.0
BIN = Path(sys.executable).parent


def _timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kwargs)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done


def floor_seconds(folder: Path, repeats: int = 3) -> list[float]:
    """A bare papermill run of an empty notebook: process start, papermill import, kernel start."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    empty = folder / "empty.ipynb"
    nbformat.write(nb, empty)
    return [
        _timed([str(BIN / "papermill"), "--no-progress-bar", str(empty), str(folder / "out.ipynb")])[0]
        for _ in range(repeats)
    ]


def breakdown(out: Path, report_seconds: list[float]) -> dict:
    """Where a report's time went in this batch, from papermill's timings in the executed notebooks
    (medians over the neighbourhood x wave reports): the kernel's start and stop, the first code cell
    after the parameters (importing helpers and loading the report's data) and the report's sections;
    the rest of a report's time is the worker's (papermill, HTML export, writing)."""
    import nbformat

    kernel, imports, sections, papermill = [], [], [], []
    from helpers.config import paths

    for path in sorted((paths.work_folder(out) / "executed").rglob("*.ipynb")):
        if path.name == "overview.ipynb":
            continue
        nb = nbformat.read(path, as_version=4)
        cells = [c.metadata["papermill"]["duration"] or 0.0 for c in nb.cells if c.cell_type == "code"]
        first = next(i for i, c in enumerate(c for c in nb.cells if c.cell_type == "code") if "import" in c.source)
        total = nb.metadata["papermill"]["duration"]
        papermill.append(total)
        kernel.append(total - sum(cells))
        imports.append(cells[first])
        sections.append(sum(cells[first + 1 :]))
    return {
        "kernel_start_stop_seconds": round(statistics.median(kernel), 2),
        "helpers_import_seconds": round(statistics.median(imports), 2),
        "sections_seconds": round(statistics.median(sections), 2),
        "worker_seconds": round(statistics.median(report_seconds) - statistics.median(papermill), 2),
    }


def run(results_dir: Path, jobs: int | None = None) -> dict:
    from helpers.config import paths
    from helpers.config.framework import framework
    from helpers.store.intake import build_database

    jobs = jobs or os.cpu_count() or 1
    fw = framework()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        db = tmp / "sample.duckdb"
        build_database(paths.SAMPLE, fw, db)
        floors = floor_seconds(tmp)
        out = tmp / "reports"
        cmd = [sys.executable, "-m", "helpers", "reports", "--db", str(db), "--out", str(out), "--jobs", str(jobs)]
        batch_s, done = _timed([*cmd, "--force"])
        # The floor again after the batch: a machine whose speed drifts during the run is measured both ways.
        floors += floor_seconds(tmp, repeats=2)
        floor = statistics.median(floors)
        per_report = [float(x) for x in re.findall(r"\(([\d.]+) s\)", done.stdout)]
        reports = len(per_report)
        rerun_s, rerun = _timed(cmd)
        export = _export_seconds(out)
        parts = breakdown(out, per_report)
    allowed = RATIO_TARGET * reports * floor / jobs
    figures = {
        "reports": reports,
        "jobs": jobs,
        "floor_seconds": round(floor, 2),
        "floor_runs": [round(f, 2) for f in floors],
        "batch_seconds": round(batch_s, 2),
        "allowed_seconds": round(allowed, 2),
        "ratio_to_floor": round(batch_s / (reports * floor / jobs), 2),
        "ratio_target": RATIO_TARGET,
        "meets_target": batch_s <= allowed,
        "mean_report_seconds": round(statistics.mean(per_report), 2) if per_report else None,
        "rerun_nothing_changed_seconds": round(rerun_s, 2),
        "rerun_target_seconds": RERUN_TARGET_SECONDS,
        "rerun_meets_target": rerun_s < RERUN_TARGET_SECONDS and "running 0" in rerun.stdout,
        "html_export_seconds": export,
        **parts,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "batch.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def _export_seconds(out: Path) -> float:
    from helpers.config import paths
    from helpers.surfaces.batch import export_html

    executed = sorted((paths.work_folder(out) / "executed").rglob("12m.ipynb"))[0]
    export_html(executed)  # first call loads the template, as each worker does once
    start = time.perf_counter()
    export_html(executed)
    return round(time.perf_counter() - start, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    figures = run(args.out, args.jobs)
    print(json.dumps(figures, indent=2))
    return 0 if figures["meets_target"] and figures["rerun_meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

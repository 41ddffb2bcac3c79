"""Benchmark: import a 1,000,000-row survey CSV (target: under 20 s, peak memory under 1.5 GB).

A benchmark, not a test: run it by hand or from CI's benchmark job::

    python bench/bench_intake.py                 # figures printed and written to bench/results/intake.json
    python bench/bench_intake.py --rows 200000   # a smaller run

``run(results_dir)`` generates a valid survey file (vectorised, seeded, with matching areas and
population files) in a temporary folder, loads areas and population, then imports the survey in a
child process so that its peak resident memory can be read with ``getrusage(RUSAGE_CHILDREN)``.
The figures are written to ``results_dir/intake.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.config.framework import Framework, framework  # noqa: E402

ROWS = 1_000_000
TARGET_SECONDS = 20.0
TARGET_PEAK_MB = 1536.0
NEIGHBOURHOODS = 40
SEED = 5


def write_inputs(
    folder: Path, fw: Framework, rows: int = ROWS, seed: int = SEED, neighbourhoods: int | None = None
) -> dict[str, Path]:
    """areas.csv, population.csv and a valid survey.csv of ``rows`` rows in ``folder`` (vectorised)."""
    NEIGHBOURHOODS = neighbourhoods or globals()["NEIGHBOURHOODS"]  # noqa: N806
    rng = np.random.default_rng(seed)
    ins = fw.instrument
    hoods = np.array([f"bench-{i:03d}" for i in range(NEIGHBOURHOODS)])
    project = fw.project_ids[0]
    areas = pd.DataFrame(
        {
            "neighbourhood": hoods,
            "name": [f"Bench area {i}" for i in range(NEIGHBOURHOODS)],
            "project": project,
            "role": np.where(np.arange(NEIGHBOURHOODS) % 2 == 0, "pilot", "comparison"),
        }
    )
    bands = [b.id for b in fw.settings.weighting.age_bands]
    genders = list(fw.settings.weighting.genders)
    population = pd.concat(
        [
            pd.DataFrame({"neighbourhood": np.repeat(hoods, len(bands)), "dimension": "age_band"}).assign(
                category=np.tile(bands, NEIGHBOURHOODS), population=1000
            ),
            pd.DataFrame({"neighbourhood": np.repeat(hoods, len(genders)), "dimension": "gender"}).assign(
                category=np.tile(genders, NEIGHBOURHOODS), population=1000 * len(bands) // len(genders)
            ),
        ]
    )
    waves = np.array(fw.settings.wave_ids)
    cell = np.arange(rows) % (NEIGHBOURHOODS * len(waves))  # neighbourhood x wave of each row
    hood = hoods[cell // len(waves)]
    wave = waves[cell % len(waves)]
    serial = np.arange(rows) // (NEIGHBOURHOODS * len(waves)) + 1

    def answers(low: int, high: int, blank_share: float) -> pa.Array:
        values = rng.integers(low, high + 1, rows)
        return pa.array(values, mask=rng.random(rows) < blank_share, type=pa.int16())

    def picks(choices: list[str], blank_share: float) -> pa.Array:
        index = rng.integers(0, len(choices), rows)
        return pa.DictionaryArray.from_arrays(
            pa.array(index, mask=rng.random(rows) < blank_share, type=pa.int32()), pa.array(choices)
        )

    # ids like the sample's: OAK-baseline-0001 (a million distinct values, as in a real file)
    ids = pd.Series(hood).str.upper() + "-" + pd.Series(wave) + "-" + pd.Series(serial).astype(str).str.zfill(5)
    columns: dict[str, pa.Array] = {
        "respondent_id": pa.array(ids.to_numpy(dtype=object), type=pa.string()),
        "neighbourhood": pa.array(hood, type=pa.string()),
        "wave": pa.array(wave, type=pa.string()),
        "mode": picks([str(c.code) for c in ins.modes], 0.2),
    }
    codes = [int(c.code) for c in ins.statements.scale]
    for s in ins.statement_ids:
        columns[s] = answers(min(codes), max(codes), 0.05)
    health = [int(c.code) for c in ins.general_health.scale]
    columns[ins.general_health.id] = answers(min(health), max(health), 0.03)
    columns[ins.happiness.id] = answers(ins.happiness.min, ins.happiness.max, 0.05)
    for item in ins.years.items:
        columns[item.id] = picks([str(b.code) for b in ins.years.bands], 0.05)
    for item in ins.household.items:
        columns[item.id] = answers(0, 3, 0.1)
    columns[ins.ethnicity.id] = picks([str(c.code) for c in ins.ethnicity.categories], 0.0)
    columns[ins.gender.id] = picks(genders, 0.0)
    columns[ins.age.id] = answers(ins.age.min, 95, 0.02)
    survey = pa.table({c: columns[c] for c in ins.survey_columns()})
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"areas": folder / "areas.csv", "population": folder / "population.csv", "survey": folder / "survey.csv"}
    areas.to_csv(paths["areas"], index=False)
    population.to_csv(paths["population"], index=False)
    # as Excel writes it: a plain header, no quotes (nothing here needs them)
    paths["survey"].write_text(",".join(survey.column_names) + "\n", encoding="utf-8")
    with paths["survey"].open("ab") as handle:
        pacsv.write_csv(survey, handle, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return paths


_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from helpers.config.framework import framework
from helpers.store.intake import import_file
fw = framework()
start = time.perf_counter()
result = import_file("survey", Path({survey!r}), fw, Path({db!r}))
print(json.dumps({{"seconds": time.perf_counter() - start, "rows": result.rows, "status": result.status}}))
"""


def run(results_dir: Path, rows: int = ROWS) -> dict:
    """Generate the inputs, time the survey import in a child process, write ``results_dir/intake.json``."""
    from helpers.store.intake import import_file

    fw = framework()
    results_dir = Path(results_dir)
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = write_inputs(folder, fw, rows)
        generate_seconds = time.perf_counter() - started
        db = folder / "bench.duckdb"
        import_file("areas", paths["areas"], fw, db)
        import_file("population", paths["population"], fw, db)
        code = _CHILD.format(root=str(ROOT), survey=str(paths["survey"]), db=str(db))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"the import failed:\n{done.stderr}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        # The largest child waited for so far (only this one here); kilobytes on Linux, bytes on macOS.
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
        figures = {
            "rows": child["rows"],
            "file_mb": round(paths["survey"].stat().st_size / 1e6, 1),
            "generate_seconds": round(generate_seconds, 2),
            "import_seconds": round(child["seconds"], 2),
            "child_wall_seconds": round(wall, 2),
            "peak_rss_mb": round(peak_mb, 1),
            "target_seconds": TARGET_SECONDS,
            "target_peak_mb": TARGET_PEAK_MB,
            "meets_target": child["seconds"] < TARGET_SECONDS and peak_mb < TARGET_PEAK_MB,
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine slows the import
            "python": platform.python_version(),
            "machine": platform.machine(),
        }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "intake.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"survey rows to generate (default {ROWS:,})")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for intake.json")
    args = parser.parse_args(argv)
    figures = run(args.out, args.rows)
    print(json.dumps(figures, indent=2))
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Two councils' returns built by hand, for the network's per-statement section and its dashboard.

Every figure the tests expect is worked out from the numbers typed here (see the comments), not from the code.
Ashby and Brent run Working Xtra; the first two statements of its map are set by hand (the DiD and the scores of
the others are dropped; both statements have the same scores). Brent words the first differently (another
wording hash), so it is not pooled; the second is pooled (below).

Ashby: pilot areas a1 and a2, comparison area a3. Brent: pilot b1, comparison b2.
- baseline: a1 100 answers 40% (se 5 points), a2 300 answers 60% (se 3): together 0.25 x 40 + 0.75 x 60 = 55%,
  se sqrt(0.25^2 x 0.05^2 + 0.75^2 x 0.03^2) = 0.02574, 95% interval 55 -/+ 5.04 -> 50% to 60%, 400 answers
- 6 months: a1 held back (fewer than 10 answers), so Ashby's pilot areas are "not shown"
- 12 months: a1 200 answers 50% (se 4), a2 200 answers 70% (se 3): 60%, se sqrt(0.25 x 0.0016 + 0.25 x
  0.0009) = 0.025 -> 55% to 65%, 400 answers
- a3: 250 answers, 30% / 31% / 32% (se 3 points each): intervals -/+ 5.88 -> 24-36%, 25-37%, 26-38%
- Ashby's DiD at 12 months +3 points, se 2: -0.92 to +6.92 -> "-1 to +7"; at 6 months +1, se 2
- b1: 500 answers, 20% / 22% / 25% (se 2): -/+ 3.92 -> 16-24%, 18-26%, 21-29%
- b2: 400 answers, 50% each wave (se 2.5): -/+ 4.9 -> 45% to 55%
- Brent's DiD at 12 months +5 points, se 2: +1.08 to +8.92 -> "+1 to +9"; at 6 months +2, se 2
Second statement, DiD at 12 months: Ashby +4 points, Brent +8, se 2 each (Ashby's interval +0.08 to +7.92 ->
"+0.1 to +8", Brent's "+4 to +12"). Pooled by hand (DerSimonian-Laird, two councils, w = 1 / 0.0004 = 2500 each):
fixed effect 6 points, se 1 / sqrt(5000) = 0.01414, interval 6 -/+ 2.77 -> "+3 to +9"; Q = 2500 x (0.02^2 x 2) = 2,
C = 5000 - 2 x 2500^2 / 5000 = 2500, tau2 = (2 - 1) / 2500 = 0.0004, I2 = (2 - 1) / 2 = 50%; random effects
weights 1 / 0.0008 each: 6 points, se 0.02, interval 6 -/+ 3.92 -> "+2 to +10". At 6 months both +2, se 2: pooled
+2, no variation (Q = 0).
Ripple strength for Working Xtra's ideals: Ashby +0.40, Brent -0.10. Self-evaluation: Ashby 'leading' in every
area, Brent 'aspiring' in every area.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.methods.estimates import SCORE_COLUMNS
from helpers.store import returns
from helpers.surfaces.cli import main
from helpers.surfaces.network_sample import council_return_tables, synthetic_manifest

WAVES = ("baseline", "6m", "12m")
AREAS = {"Ashby": (["a1", "a2"], ["a3"]), "Brent": (["b1"], ["b2"])}
# council -> neighbourhood -> per wave (answers, share, se); None: held back (fewer than 10 answers)
SCORES = {
    "Ashby": {
        "a1": [(100, 0.40, 0.05), None, (200, 0.50, 0.04)],
        "a2": [(300, 0.60, 0.03), (300, 0.61, 0.03), (200, 0.70, 0.03)],
        "a3": [(250, 0.30, 0.03), (250, 0.31, 0.03), (250, 0.32, 0.03)],
    },
    "Brent": {
        "b1": [(500, 0.20, 0.02), (500, 0.22, 0.02), (500, 0.25, 0.02)],
        "b2": [(400, 0.50, 0.025), (400, 0.50, 0.025), (400, 0.50, 0.025)],
    },
}
# council -> per statement (first, second) -> wave -> (did, se)
DID = {
    "Ashby": ({"6m": (0.01, 0.02), "12m": (0.03, 0.02)}, {"6m": (0.02, 0.02), "12m": (0.04, 0.02)}),
    "Brent": ({"6m": (0.02, 0.02), "12m": (0.05, 0.02)}, {"6m": (0.02, 0.02), "12m": (0.08, 0.02)}),
}
STRENGTH = {"Ashby": 0.4, "Brent": -0.1}
LEVEL = {"Ashby": "leading", "Brent": "aspiring"}


def statement(fw, k: int = 0) -> str:
    """A statement set by hand: the first (k = 0) or the second of Working Xtra's map."""
    return fw.project("working-xtra").survey_statements[k]


def _scores(council: str, measure: str) -> pd.DataFrame:
    rows = []
    for hood, waves in SCORES[council].items():
        for wave, cell in zip(WAVES, waves, strict=True):
            if cell is None:
                rows.append([hood, wave, measure, "agree", None, None, None, None, None, None, True, True, True])
                continue
            n, share, se = cell
            rows.append([hood, wave, measure, "agree", n, float(n), share, se, share - 0.1, share + 0.1])
            rows[-1] += [True, False, n < 30]
    return pd.DataFrame(rows, columns=[*SCORE_COLUMNS[:10], "weighted", "suppressed", "low_base"])


def _did(template: pd.DataFrame, council: str, measure: str, figures: dict) -> pd.DataFrame:
    """The council's Working Xtra DiD for the statement, the other columns from a generated row."""
    pilots, comparisons = AREAS[council]
    base = template[(template["project"] == "working-xtra") & (template["measure"] == measure)]
    out = base.set_index("wave").loc[list(figures)].reset_index()
    out["did"] = [figures[w][0] for w in out["wave"]]
    out["se"] = [figures[w][1] for w in out["wave"]]
    out["ci_low"], out["ci_high"] = out["did"] - 0.04, out["did"] + 0.04
    out["pilot_areas"], out["comparison_areas"], out["left_out"] = ";".join(pilots), ";".join(comparisons), ""
    if council == "Ashby":  # a1 is held back at 6 months, so that wave's DiD pooled a2 alone
        out.loc[out["wave"] == "6m", ["pilot_areas", "left_out"]] = ["a2", "a1"]
    return out[template.columns]


def build(fw, folder: Path) -> Path:
    """Write both returns into ``folder``, import them with ``network import`` and give the network database."""
    measure = statement(fw)
    areas = [a.id for a in fw.self_evaluation.areas]
    made = []
    for k, council in enumerate(AREAS):
        tables = council_return_tables(np.random.default_rng(k), fw, 2, {"6m": 0.03, "12m": 0.06}, 0.05, (600, 900))
        second = statement(fw, 1)
        tables["scores"] = pd.concat([_scores(council, m) for m in (measure, second)], ignore_index=True)
        tables["did"] = pd.concat(
            [_did(tables["did"], council, m, DID[council][k]) for k, m in enumerate((measure, second))],
            ignore_index=True,
        )
        ripple = tables["ripple"]
        ripple.loc[ripple["project"] == "working-xtra", "strength"] = STRENGTH[council]
        tables["self_evaluation"] = pd.DataFrame(
            {"assessed_on": "2025-12-31", "area": areas, "area_name": areas, "level": LEVEL[council]}
        ).assign(level_name="", score=np.nan)
        manifest = synthetic_manifest(fw, council)
        if council == "Brent":  # Brent asks the statement in other words
            manifest["wording"][measure] = "b" * 64
        made.append(returns.write_return(folder / f"{council}.zip", manifest, tables))
    db = folder / "network.duckdb"
    assert main(["network", "import", *map(str, made), "--db", str(db)]) == 0
    return db

"""A synthetic network: N councils' returns with effects planted, so the pooling can be checked against truth.

``python -m helpers sample --network N --out DIR`` writes ``DIR/synthetic-council-001.zip`` ... (each a return
in the format of :mod:`helpers.store.returns`, its manifest saying ``"synthetic": true`` and its council named
"Synthetic council 001") and ``DIR/planted.json`` (what was planted). Nothing is anyone's data.

What is planted, per council ``i``, project, measure (its ripple map's statements, the "agree" share) and
later wave ``w``: the project's true effect there is ``theta = effect[w] + u`` with ``u ~ Normal(0, tau^2)``
drawn for each council (so ``tau`` is the spread between councils, known). Each of the project's
neighbourhoods (half pilot, half comparison) gets a baseline share and, at each wave, the council's own trend
(shared by pilots and comparisons, so the DiD takes it away); pilots add ``theta``. The published shares are
those plus sampling noise of their own standard error ``sqrt(p(1 - p) / n)`` with ``n`` the neighbourhood's
answers, and the DiD is worked from the published shares as :func:`helpers.methods.estimates.did` pools
equal-sized neighbourhoods (a role's change is the mean of its neighbourhoods' changes; its variance the sum
of theirs over the count squared). So a council's DiD is ``theta`` plus noise of the stated se, and across
councils the pooled DiD should find ``effect[w]`` and the heterogeneity ``tau``.

The other tables (ripple, self-evaluation) get plausible synthetic rows; indicators and stories are empty.
Seeded: the same arguments give the same bytes.

``write_network_sample(fw, out, councils, *, seed, neighbourhoods, effect, tau, answers)``
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..config.framework import Framework
from ..config.safe_output import write_text_atomic
from ..methods.estimates import DID_COLUMNS, DIFFERENCE_IN_DIFFERENCES, SCORE_COLUMNS, normal_quantile, two_sided_p
from ..store import returns

DEFAULT_SEED = 17
EFFECT = {"6m": 0.03, "12m": 0.06}  # the true pooled DiD (share agreeing) at each later wave
TAU = 0.05  # the true spread of councils' effects (standard deviation, share)
BASELINE_MONTH = pd.Period("2025-01", freq="M")


def council_name(i: int) -> str:
    return f"Synthetic council {i:03d}"


def _scores(rng, fw: Framework, project, hoods: list[str], roles: list[str], theta: dict, answers) -> pd.DataFrame:
    """Weighted "agree" shares per neighbourhood x wave x the project's statements (pilots carry ``theta``)."""
    waves, z = fw.settings.wave_ids, normal_quantile(0.5 + fw.settings.thresholds.confidence_level / 2)
    # a trend the whole council shares (pilots and comparisons alike: the DiD takes it away)
    drift = {}
    for m in project.survey_statements:
        drift |= {(m, w): float(d) for w, d in zip(waves, _walk(rng, len(waves)), strict=True)}
    rows = []
    for hood, role in zip(hoods, roles, strict=True):
        n = int(rng.integers(answers[0], answers[1] + 1))
        for m in project.survey_statements:
            start = rng.uniform(0.3, 0.6)
            for wave in waves:
                p = start + drift[(m, wave)] + (theta[(m, wave)] if role == "pilot" else 0.0)
                est = float(np.clip(p + rng.normal(0, np.sqrt(p * (1 - p) / n)), 0.001, 0.999))
                se = float(np.sqrt(est * (1 - est) / n))
                rows.append([hood, wave, m, "agree", n, float(n), est, se, est - z * se, est + z * se])
    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS[:10]))
    return frame.assign(weighted=True, suppressed=False, low_base=frame["base_n"] < fw.settings.thresholds.low_base)


def _walk(rng, steps: int) -> np.ndarray:
    """A random walk from 0 in steps of 2 points (sd): the council's own trend over the waves."""
    return np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.02, steps - 1))])


def _did(scores: pd.DataFrame, project_id: str, pilots: list[str], comparisons: list[str], fw) -> pd.DataFrame:
    """The DiD from the published shares, equal-sized neighbourhoods pooled (as ``estimates.did`` does)."""
    base, z = fw.settings.baseline, normal_quantile(0.5 + fw.settings.thresholds.confidence_level / 2)
    s = scores.set_index(["neighbourhood", "measure", "wave"])
    rows = []
    for m in scores["measure"].unique():
        for wave in fw.settings.wave_ids[1:]:
            change = {}
            for role, hoods in (("pilot", pilots), ("comparison", comparisons)):
                d = [s.loc[(h, m, wave), "estimate"] - s.loc[(h, m, base), "estimate"] for h in hoods]
                v = [s.loc[(h, m, wave), "se"] ** 2 + s.loc[(h, m, base), "se"] ** 2 for h in hoods]
                change[role] = (float(np.mean(d)), float(np.sqrt(np.sum(v)) / len(hoods)))
            did = change["pilot"][0] - change["comparison"][0]
            se = float(np.hypot(change["pilot"][1], change["comparison"][1]))
            p = float(two_sided_p(np.array([did / se]))[0])
            rows.append(
                [project_id, m, "agree", wave, *change["pilot"], *change["comparison"], did, se]
                + [did - z * se, did + z * se, p, p < 1 - fw.settings.thresholds.confidence_level]
                + [DIFFERENCE_IN_DIFFERENCES, False, ";".join(pilots), ";".join(comparisons), ""]
            )
    return pd.DataFrame(rows, columns=list(DID_COLUMNS))


def _ripple(rng, fw: Framework, project) -> pd.DataFrame:
    """Ideal rows of a ripple: a strength and certainty for each ideal the project's map reaches."""
    ideals = sorted({fw.ideal_of(line.outcome).id for line in project.ripple})
    rows = []
    for ideal in ideals:
        strength, certainty = round(float(rng.uniform(-0.2, 0.8)), 3), round(float(rng.uniform(0.1, 0.8)), 3)
        rows.append([project.id, fw.settings.wave_ids[-1], "ideal", ideal, "", ideal, strength, certainty])
    return pd.DataFrame(
        rows, columns=["project", "wave", "level", "ideal", "outcome", "label", "strength", "certainty"]
    )


def _self_evaluation(rng, fw: Framework) -> pd.DataFrame:
    levels = fw.self_evaluation.levels
    rows = []
    for area in fw.self_evaluation.areas:
        k = int(rng.integers(0, len(levels)))
        rows.append(["2025-12-31", area.id, area.name, levels[k].id, levels[k].name, float(k + 1)])
    return pd.DataFrame(rows, columns=["assessed_on", "area", "area_name", "level", "level_name", "score"])


def synthetic_manifest(fw: Framework, name: str) -> dict:
    """A synthetic council's manifest (everything but the tables' hashes): this framework, fieldwork from 2025-01."""
    hashes = returns.framework_hashes(fw)
    fieldwork = {w.id: str(BASELINE_MONTH + w.months) for w in fw.settings.waves}
    projects = {
        p.id: {
            "name": p.name,
            "family": returns.family_of(p),
            "fieldwork": fieldwork,
            "ripple_map_sha256": hashes["ripple_maps"][p.id],
        }
        for p in fw.projects
    }
    return {
        "council": name,
        "synthetic": True,
        "period": max(fieldwork.values()),
        "waves": list(fw.settings.wave_ids),
        "projects": projects,
        "framework_version": hashes["framework_version"],
        "wording": hashes["wording"],
        "workbook_version": "synthetic",
        "minimum_base": fw.settings.thresholds.minimum_base,
        "confidence_level": fw.settings.thresholds.confidence_level,
    }


def council_return_tables(rng, fw: Framework, neighbourhoods: int, effect, tau, answers) -> dict:
    """One synthetic council's tables, ``neighbourhoods`` per project (half pilots, at least one of each)."""
    scores, did, ripple = [], [], []
    for p in fw.projects:
        k = max(2, neighbourhoods)
        hoods = [f"{p.id}-area-{j + 1:02d}" for j in range(k)]
        roles = ["pilot" if j < k // 2 else "comparison" for j in range(k)]
        theta = {  # the true effect in this council: none at the baseline
            (m, w): (effect[w] + rng.normal(0.0, tau) if w in effect else 0.0)
            for m in p.survey_statements
            for w in fw.settings.wave_ids
        }
        sc = _scores(rng, fw, p, hoods, roles, theta, answers)
        scores.append(sc)
        pilots = [h for h, r in zip(hoods, roles, strict=True) if r == "pilot"]
        comparisons = [h for h, r in zip(hoods, roles, strict=True) if r == "comparison"]
        did.append(_did(sc, p.id, pilots, comparisons, fw))
        ripple.append(_ripple(rng, fw, p))
    empty = {c: pd.Series(dtype="string") for c in ("project", "neighbourhood", "wave", "title")}
    return {
        "scores": pd.concat(scores, ignore_index=True),
        "did": pd.concat(did, ignore_index=True),
        "ripple": pd.concat(ripple, ignore_index=True),
        "indicators": pd.DataFrame({"project": pd.Series(dtype="string"), "wave": pd.Series(dtype="string")}),
        "self_evaluation": _self_evaluation(rng, fw),
        "stories": pd.DataFrame(empty),
    }


def write_network_sample(
    fw: Framework,
    out: Path | str,
    councils: int,
    *,
    seed: int = DEFAULT_SEED,
    neighbourhoods: int = 4,
    effect: dict[str, float] | None = None,
    tau: float = TAU,
    answers: tuple[int, int] = (600, 1000),
) -> list[Path]:
    """Write ``councils`` synthetic returns and ``planted.json`` into ``out``; the paths of the returns."""
    effect = dict(EFFECT if effect is None else effect)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for i in range(1, councils + 1):
        name = council_name(i)
        tables = council_return_tables(rng, fw, neighbourhoods, effect, tau, answers)
        written.append(
            returns.write_return(out / f"synthetic-council-{i:03d}.zip", synthetic_manifest(fw, name), tables)
        )
    planted = {"synthetic": True, "councils": councils, "seed": seed, "effect": effect, "tau": tau}
    write_text_atomic(json.dumps(planted, sort_keys=True, indent=2) + "\n", out / "planted.json")
    return written


def cli_network_sample(fw: Framework, args) -> int:
    """``python -m helpers sample --network N --out DIR [--seed S]``."""
    from ..config.errors import UserError

    if args.network < 2:
        raise UserError(f"--network {args.network}: a network needs at least 2 councils")
    if args.out is None:
        raise UserError("give the folder for the synthetic returns with --out DIR")
    seed = args.seed if args.seed is not None else DEFAULT_SEED
    written = write_network_sample(fw, args.out, args.network, seed=seed)
    print(
        f"wrote {len(written)} synthetic councils' returns and planted.json to {args.out} "
        f"(planted: effect {', '.join(f'{w} {v:+.2f}' for w, v in EFFECT.items())}, spread between councils {TAU})"
    )
    return 0

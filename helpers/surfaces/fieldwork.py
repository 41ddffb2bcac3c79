"""Fieldwork tracking: are we on track, and who is missing? (``python -m helpers fieldwork``).

For one project and one wave (default: the latest with responses), per neighbourhood:

- **returns**: questionnaires back so far by mode (post, placed, online, not recorded) against the target
  the planner sets (:func:`helpers.surfaces.planning.plan`: the role's responses shared out by adults), or
  ``--target N``;
- **margins**: the achieved sample against the population by age band and by gender (the weighting's
  margins): a group is *under-represented* when its share of the answers is less than
  :data:`UNDER` times its share of the adults (weighting then leans on fewer people to stand for it);
- **weighting**: the design effect the raking weights would have now (Kish's), and the effective number of
  responses it leaves; or why the wave cannot be weighted yet (a group with adults and no answers). With it,
  the smallest change in a statement's share agreeing the survey could show (:func:`_detectable`): each
  neighbourhood on its own (its baseline against this wave) and, in a row ``neighbourhood == "all"``, the
  project's design (pilot against comparison areas), with the answers so far and once the targets are reached.

Plain words first, then (``--csv FILE``) one tidy table with a ``part`` column: returns, margins, weighting.
The fieldwork dashboard (``notebooks/dashboards/fieldwork.ipynb``,
:class:`helpers.surfaces.dashboards.FieldworkDashboard`) shows the same table through
:mod:`helpers.presentation.fieldwork`.

Not here: response rates. The store has no count of questionnaires issued (sent by post, placed, invited
online), so returns are measured against the targets, not against what was sent out.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import paths
from ..config.errors import UserError
from ..config.framework import Framework
from ..methods import power as pw
from ..presentation import formatting as fmt
from . import planning

UNDER = 0.8  # a group's share of answers below this times its share of adults: under-represented
NOT_RECORDED = "not recorded"
COLUMNS = [
    "part",
    "neighbourhood",
    "name",
    "role",
    "wave",
    "mode",
    "dimension",
    "category",
    "responses",
    "target",
    "percent_of_target",
    "still_needed",
    "share_of_responses",
    "share_of_adults",
    "representation",
    "under_represented",
    "design_effect",
    "effective_n",
    "baseline_responses",
    "detectable_change",
    "detectable_at_target",
    "note",
]
ALL = "all"  # the weighting row of the project's design (every neighbourhood together)


@dataclass
class Assumed:
    """What the targets and the smallest detectable changes assume (the planner's options, as used)."""

    design: str = "did"  # "did" (pilot against comparison areas) or "before-after"
    baseline_share: float = planning.DEFAULT_BASELINE_SHARE
    change: float = planning.DEFAULT_CHANGE
    confidence: float = 0.95
    power: float = planning.DEFAULT_POWER
    design_effect: float | None = 1.0  # what the plan's targets allow for weighting (None: the data's weights)
    target: int | None = None  # the same target for every neighbourhood (``--target``), or None: the plan's


@dataclass
class Fieldwork(planning.Findings):
    """The three tables (returns, margins, weighting) in one, and the words; the wave shown and the assumptions."""

    wave: str = ""
    assumed: Assumed = field(default_factory=Assumed)

    def part(self, name: str) -> pd.DataFrame:
        rows = self.table[self.table["part"] == name]
        return rows.dropna(axis=1, how="all").reset_index(drop=True)

    def narrowed(self, neighbourhood: str | None) -> pd.DataFrame:
        """The table for one neighbourhood, or (``None`` or ``"all"``) the whole table."""
        if neighbourhood in (None, ALL):
            return self.table
        return self.table[self.table["neighbourhood"] == neighbourhood].reset_index(drop=True)


def _age_band(ages: pd.Series, fw: Framework) -> pd.Series:
    out = pd.Series(pd.NA, index=ages.index, dtype=object)
    for band in fw.settings.weighting.age_bands:
        out[(ages >= band.min) & (ages <= band.max)] = band.id
    return out


def _targets(fw, db, project, target, options: dict) -> dict[str, int]:
    if target is not None:
        if target < 1:
            raise UserError(f"--target {target}: give the number of responses each neighbourhood needs, 1 or more")
        return {}
    result = planning.plan(fw, db, project=project, **options)
    rows = result.table[result.table["neighbourhood"] != "all"]
    return dict(zip(rows["neighbourhood"], rows["responses_needed"].astype(int), strict=True))


def _returns(data, wave, targets, target, modes) -> list[dict]:
    rows = []
    answered = data.responses[data.responses["wave"] == wave] if not data.responses.empty else data.responses
    for area in data.areas.itertuples():
        mine = answered[answered["neighbourhood"] == area.neighbourhood] if not answered.empty else answered
        by_mode = mine["mode"].fillna(NOT_RECORDED).value_counts().to_dict() if not mine.empty else {}
        goal = target if target is not None else targets.get(area.neighbourhood)
        base = {"neighbourhood": area.neighbourhood, "name": area.name, "role": area.role, "wave": wave}
        for mode in [*modes, NOT_RECORDED]:
            if mode in by_mode or mode != NOT_RECORDED:
                rows.append(base | {"part": "returns", "mode": mode, "responses": int(by_mode.get(mode, 0))})
        n = len(mine)
        rows.append(
            base
            | {
                "part": "returns",
                "mode": "all",
                "responses": n,
                "target": goal,
                "percent_of_target": round(100 * n / goal, 1) if goal else None,
                "still_needed": max(goal - n, 0) if goal else None,
            }
        )
    return rows


def _margins(fw, data, wave) -> list[dict]:
    rows = []
    answered = data.responses[data.responses["wave"] == wave] if not data.responses.empty else data.responses
    pop = data.population
    genders = list(fw.settings.weighting.genders)
    gender_words = {c.code: c.label for c in fw.instrument.gender.categories}
    for area in data.areas.itertuples():
        mine = answered[answered["neighbourhood"] == area.neighbourhood]
        placed = {
            "age_band": _age_band(pd.to_numeric(mine["age"], errors="coerce"), fw),
            "gender": mine["gender"].where(mine["gender"].isin(genders)),
        }
        for dimension, values in placed.items():
            adults = pop[(pop["neighbourhood"] == area.neighbourhood) & (pop["dimension"] == dimension)]
            adults = adults.set_index("category")["population"].astype(float)
            known = values.dropna()
            cats = [b.id for b in fw.settings.weighting.age_bands] if dimension == "age_band" else genders
            for cat in cats:
                got = int((known == cat).sum())
                share = got / len(known) if len(known) else np.nan
                pop_share = adults.get(cat, np.nan) / adults.sum() if adults.sum() else np.nan
                ratio = share / pop_share if pop_share and pop_share == pop_share else np.nan
                rows.append(
                    {
                        "part": "margins",
                        "neighbourhood": area.neighbourhood,
                        "name": area.name,
                        "role": area.role,
                        "wave": wave,
                        "dimension": dimension,
                        "category": cat if dimension == "age_band" else gender_words.get(cat, cat),
                        "responses": got,
                        "share_of_responses": share,
                        "share_of_adults": pop_share,
                        "representation": ratio,
                        "under_represented": bool(ratio < UNDER) if ratio == ratio else None,
                    }
                )
    return rows


def _weighting(fw, data, wave, margins: list[dict]) -> list[dict]:
    summary = planning.weights_summary(fw, data)
    now = summary[summary["wave"] == wave].set_index("neighbourhood") if not summary.empty else summary
    base = summary[summary["wave"] == fw.settings.baseline].set_index("neighbourhood") if not summary.empty else None
    rows = []
    for area in data.areas.itertuples():
        found = area.neighbourhood in now.index
        row = now.loc[area.neighbourhood] if found else None
        at_base = (
            int(base.loc[area.neighbourhood, "respondents"])
            if base is not None and area.neighbourhood in base.index
            else 0
        )
        rows.append(
            {
                "part": "weighting",
                "neighbourhood": area.neighbourhood,
                "name": area.name,
                "role": area.role,
                "wave": wave,
                "responses": int(row["respondents"]) if found else 0,
                "design_effect": float(row["design_effect"]) if found else np.nan,
                "effective_n": float(row["effective_n"]) if found else np.nan,
                "baseline_responses": at_base,
                "note": _why_unweighted(area.neighbourhood, row["problem"], margins) if found else "no responses yet",
            }
        )
    return rows


def _why_unweighted(hood: str, problem: str, margins: list[dict]) -> str:
    """Why a neighbourhood's answers cannot be weighted yet, in plain words ('' when they can): the groups with
    adults and no answer so far (the usual reason while in the field), else the population figures."""
    if not problem:
        return ""
    missing = [
        _group_words(r)
        for r in margins
        if r["neighbourhood"] == hood and r["responses"] == 0 and r["share_of_adults"] > 0
    ]
    if missing:
        return f"nobody {fmt.listed(missing)} has answered yet, and the neighbourhood has adults in that group"
    return "the neighbourhood's population figures (adults by age band and gender) are missing or do not add up"


def _detectable(table: pd.DataFrame, fw: Framework, wave: str, s: Assumed) -> pd.DataFrame:
    """The smallest change in a statement's share agreeing the survey could show, now and at the targets.

    Each neighbourhood on its own: its baseline against this wave (at the baseline: against a later wave as large),
    with the weights' design effect now. The project's design (a row ``neighbourhood == "all"``): the pilot areas
    together and the comparison areas together at the baseline and this wave (before-after: the pilot areas), with
    the design effect now averaged over the neighbourhoods by responses (as ``plan --from-data``). The closed form
    :func:`helpers.methods.power.detectable_change_approx`, the one each report's method note states (there with
    the larger of the baseline's and the wave's design effects, once the wave is in). NaN where a sample is empty
    or the answers cannot be weighted; at the targets, NaN without targets.
    """
    at_baseline = wave == fw.settings.baseline
    returns = table[(table["part"] == "returns") & (table["mode"] == "all")].set_index("neighbourhood")
    weights = table["part"] == "weighting"

    def change(samples: list[float], deff: float) -> float:
        if any(pd.isna(n) or n < 1 for n in samples) or pd.isna(deff):
            return np.nan
        samples = samples * 2 if at_baseline else samples
        return pw.detectable_change_approx(
            samples, baseline=s.baseline_share, confidence=s.confidence, power=s.power, design_effect=max(deff, 1.0)
        )

    def goal(hood: str) -> float:
        target = returns.loc[hood, "target"]
        return np.nan if pd.isna(target) else max(int(target), int(returns.loc[hood, "responses"]))

    for i in table.index[weights]:
        r = table.loc[i]
        now = [r["responses"]] if at_baseline else [r["baseline_responses"], r["responses"]]
        later = [goal(r["neighbourhood"])] if at_baseline else [r["baseline_responses"], goal(r["neighbourhood"])]
        table.loc[i, "detectable_change"] = change(now, r["design_effect"])
        table.loc[i, "detectable_at_target"] = change(later, r["design_effect"])
    hoods = table[weights]
    roles = [role for role in planning.ROLES if role in set(hoods["role"])]
    roles = roles if s.design == "did" else ["pilot"]
    can = hoods[hoods["design_effect"].notna()]
    deff = (can["design_effect"] * can["responses"]).sum() / can["responses"].sum() if len(can) else np.nan
    now, later = [], []
    for role in roles:
        mine = hoods[hoods["role"] == role]
        base = [] if at_baseline else [int(mine["baseline_responses"].sum())]
        now += base + [int(mine["responses"].sum())]
        later += base + [sum(goal(h) for h in mine["neighbourhood"])]
    pooled = {
        "part": "weighting",
        "neighbourhood": ALL,
        "name": "all neighbourhoods",
        "role": ALL,
        "wave": wave,
        "responses": int(hoods["responses"].sum()),
        "design_effect": deff,
        "effective_n": hoods["responses"].sum() / deff if deff == deff else np.nan,
        "baseline_responses": int(hoods["baseline_responses"].sum()),
        "detectable_change": change(now, deff),
        "detectable_at_target": change(later, deff),
        "note": pw.DESIGN_WORDS[s.design],
    }
    return pd.concat([table, pd.DataFrame([pooled]).reindex(columns=COLUMNS)], ignore_index=True)


def fieldwork(
    fw: Framework | None = None,
    db: Path | str | None = None,
    *,
    project: str,
    wave: str | None = None,
    target: int | None = None,
    **plan_options,
) -> Fieldwork:
    """Returns so far against the targets, who is under-represented, and the design effect now."""
    from ..config.framework import framework

    fw = fw or framework()
    db = Path(db) if db is not None else paths.DEFAULT_DB
    planning.check_wave(fw, wave)
    data = planning.project_data(fw, db, project)
    wave = wave or planning.latest_wave(fw, data.responses) or fw.settings.baseline
    targets = _targets(fw, db, project, target, plan_options)
    assumed = _assumed(fw, data, target, plan_options)
    modes = [str(m.code) for m in fw.instrument.modes]
    margins = _margins(fw, data, wave)
    rows = _returns(data, wave, targets, target, modes) + margins + _weighting(fw, data, wave, margins)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for col in ("responses", "target", "still_needed", "baseline_responses"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    table = _detectable(table, fw, wave, assumed)
    return Fieldwork(table, _words(fw, project, wave, table, modes, target), wave, assumed)


def _assumed(fw: Framework, data, target: int | None, options: dict) -> Assumed:
    """The planner's options as the targets use them (its defaults where not given)."""
    roles = set(data.areas["role"])
    confidence = options.get("confidence")
    return Assumed(
        design=options.get("design") or ("did" if "comparison" in roles else "before-after"),
        baseline_share=options.get("baseline_share") or planning.DEFAULT_BASELINE_SHARE,
        change=options.get("change") or planning.DEFAULT_CHANGE,
        confidence=confidence if confidence is not None else fw.settings.thresholds.confidence_level,
        power=options.get("power") or planning.DEFAULT_POWER,
        design_effect=options.get("design_effect") or (None if options.get("from_data") else 1.0),
        target=target,
    )


def _group_words(row) -> str:
    return f"aged {row['category']}" if row["dimension"] == "age_band" else str(row["category"]).lower()


def _words(fw, project, wave, table, modes, target) -> list[str]:
    mode_words = {str(m.code): m.label.lower() for m in fw.instrument.modes} | {NOT_RECORDED: NOT_RECORDED}
    source = f"{target:,} each (given)" if target is not None else "the plan's (python -m helpers plan)"
    lines = [f"Fieldwork for {project}, {fw.settings.wave_label(wave)} wave; targets: {source}.", ""]
    returns, margins, weights = (table[table["part"] == p] for p in ("returns", "margins", "weighting"))
    for hood in dict.fromkeys(returns["neighbourhood"]):
        total = returns[(returns["neighbourhood"] == hood) & (returns["mode"] == "all")].iloc[0]
        n, goal = int(total["responses"]), total["target"]
        head = f"{total['name']} ({total['role']}): {n:,} back"
        if pd.notna(goal):
            head += f" of {int(goal):,} ({n / goal:.0%})" + (
                f"; {int(total['still_needed']):,} to go." if total["still_needed"] else "; target reached."
            )
        else:
            head += "."
        lines.append(head)
        parts = returns[(returns["neighbourhood"] == hood) & (returns["mode"] != "all") & (returns["responses"] > 0)]
        if not parts.empty:
            shown = ", ".join(
                f"{mode_words.get(r['mode'], r['mode'])} {int(r['responses'])}" for _, r in parts.iterrows()
            )
            lines.append(f"  Back so far: {shown}.")
        under = margins[(margins["neighbourhood"] == hood) & (margins["under_represented"] == True)]  # noqa: E712
        if not under.empty:
            lines.append(
                "  Under-represented: "
                + "; ".join(
                    f"{_group_words(r)} ({fmt.percent(r['share_of_responses'])} of answers, "
                    f"{fmt.percent(r['share_of_adults'])} of adults)"
                    for _, r in under.iterrows()
                )
                + ": look for more of them."
            )
        elif n:
            lines.append("  Every age band and gender is in line with the population (within a fifth).")
        w = weights[weights["neighbourhood"] == hood].iloc[0]
        if pd.notna(w["design_effect"]):
            lines.append(
                f"  Weighted now: design effect {w['design_effect']:.2f}; the {n:,} answers count as "
                f"{w['effective_n']:,.0f} unweighted ones."
            )
        elif n:
            lines.append(f"  Cannot be weighted yet: {w['note']}.")
        lines += _detectable_words(w, "on its own")
    pooled = weights[weights["neighbourhood"] == ALL]
    if not pooled.empty:
        design = (
            "pilot against comparison areas" if pooled.iloc[0]["note"] == pw.DESIGN_WORDS["did"] else "before-after"
        )
        lines += ["", *(line.strip() for line in _detectable_words(pooled.iloc[0], f"for the project ({design})"))]
    return lines


def _detectable_words(row, what: str) -> list[str]:
    """'Smallest change it could show ...: about 14 points now; 11 at the target.' ([] without a figure)."""
    now, later = row["detectable_change"], row["detectable_at_target"]
    if pd.isna(now) and pd.isna(later):
        return []
    shown = f"about {fmt.point_count(now)} now" if pd.notna(now) else "none yet"
    if pd.notna(later):
        shown += f"; about {fmt.point_count(later)} at the target" + ("s" if row["neighbourhood"] == ALL else "")
    return [f"  Smallest change it could show {what} (in the share agreeing with a statement): {shown}."]


def cli_fieldwork(fw: Framework, args: argparse.Namespace) -> int:
    """``python -m helpers fieldwork --project P [--wave W] [--target N] [--csv FILE]``."""
    options = {
        "baseline_share": args.baseline_share,
        "change": args.change,
        "design_effect": args.design_effect,
        "from_data": args.from_data,
        "power": args.power,
        "confidence": args.confidence,
        "design": args.design,
    }
    result = fieldwork(fw, args.db, project=args.project, wave=args.wave, target=args.target, **options)
    print(result.words)
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        planning.write_csv(result.table, args.csv, write_csv_atomic)
        print(f"\nwrote {len(result.table)} rows to {args.csv}")
    return 0

"""Planning the survey: how many responses a wave needs, and what the responses a project has can show.

``python -m helpers plan`` and ``notebooks/planning.ipynb`` call :func:`plan`; ``python -m helpers
fieldwork`` (:mod:`helpers.surfaces.fieldwork`) reuses its targets. The arithmetic is
:mod:`helpers.methods.power` (pure); this module brings the data it needs: a project's neighbourhoods and
their roles and adults (the areas and population tables), the design effect of the weights of a wave
already collected, and the responses the project has.

Answers both ways round:

- responses needed: per wave, for each role (pilot areas pooled, comparison areas pooled) and per
  neighbourhood (the role's total shared out in proportion to adults, which keeps the pooled estimate as
  precise as a simple random sample of the role), to detect ``change`` in a statement's share agreeing;
- the smallest change detectable with given responses (``responses``, per role and wave) or with the
  responses the project has (``from_data``: the baseline and the chosen wave).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import paths
from ..config.errors import UserError, allowed
from ..config.framework import Framework
from ..methods import power as pw
from ..presentation import formatting as fmt

DEFAULT_BASELINE_SHARE = 0.5  # the share that needs the most responses: the safe assumption
DEFAULT_CHANGE = 0.10
DEFAULT_POWER = pw.DEFAULT_POWER
ROLES = ("pilot", "comparison")
ROLE_WORDS = {"pilot": "pilot areas", "comparison": "comparison areas"}
PLAN_COLUMNS = [
    "project",
    "design",
    "role",
    "neighbourhood",
    "name",
    "adults",
    "baseline_share",
    "change",
    "confidence",
    "power",
    "design_effect",
    "responses_needed",
    "responses_baseline",
    "responses_wave",
    "detectable_change",
]


# --- options ----------------------------------------------------------------------------------------


def proportion(value: str) -> float:
    """An argparse type: ``0.10`` or ``10%``; a number of 1 or more is refused, suggesting the proportion."""
    text = str(value).strip()
    try:
        number = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number; give a proportion such as 0.10 or 10%") from None
    if not 0 < number < 1:
        hint = f" (did you mean {number / 100:g}, i.e. {number:g}%?)" if 1 <= number < 100 else ""
        raise argparse.ArgumentTypeError(f"'{value}' is not a proportion between 0 and 1{hint}")
    return number


def positive_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from None
    if not number > 0 or math.isinf(number):
        raise argparse.ArgumentTypeError(f"'{value}' must be a number above 0")
    return number


def whole_number(value: str) -> int:
    try:
        number = int(str(value).replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of responses") from None
    if number < 2:
        raise argparse.ArgumentTypeError(f"'{value}': give at least 2 responses")
    return number


def add_plan_options(p: argparse.ArgumentParser, *, fieldwork: bool = False) -> None:
    """The planner's options (``plan``; ``fieldwork`` takes them too, for its targets)."""
    p.add_argument(
        "--project", required=fieldwork, help="project id: its neighbourhoods, roles and adults come from the database"
    )
    p.add_argument(
        "--baseline-share",
        type=proportion,
        default=DEFAULT_BASELINE_SHARE,
        metavar="P",
        help="share agreeing with a statement at the baseline, e.g. 0.5 (default: 0.5, which needs the most)",
    )
    p.add_argument(
        "--change",
        type=proportion,
        default=DEFAULT_CHANGE,
        metavar="D",
        help="the change in the share agreeing to detect, a proportion: 0.10 = 10 points (default: 0.10)",
    )
    if not fieldwork:
        p.add_argument(
            "--responses",
            type=whole_number,
            metavar="N",
            help="responses per role and wave you expect: prints the smallest change they can detect",
        )
    p.add_argument(
        "--design-effect",
        type=positive_number,
        metavar="X",
        help="the weighting's design effect, 1 or more (default: 1, or from the data with --from-data)",
    )
    p.add_argument(
        "--from-data",
        action="store_true",
        help="take the design effect from the weights of a wave already loaded, and the responses it has",
    )
    p.add_argument("--wave", help="with --from-data: the wave to use (default: the latest with responses)")
    p.add_argument("--power", type=proportion, default=DEFAULT_POWER, help="power, e.g. 0.80 (default: 0.80)")
    p.add_argument("--confidence", type=proportion, help="confidence level, e.g. 0.95 (default: settings.yaml's)")
    p.add_argument(
        "--design",
        choices=tuple(pw.DESIGNS),
        help="did (pilot against comparison areas) or before-after (default: did when the project has "
        "comparison areas)",
    )


# --- the project's data --------------------------------------------------------------------------------


@dataclass
class ProjectData:
    """A project's neighbourhoods (neighbourhood, name, role, adults) and its survey responses."""

    project: str
    areas: pd.DataFrame
    responses: pd.DataFrame
    population: pd.DataFrame


def project_data(fw: Framework, db: Path | str, project: str) -> ProjectData:
    """The project's areas with their adults, and its responses; plain messages for what is missing."""
    from ..store import access, database

    fw.project(project)  # an unknown id: a message listing the known ones
    con = database.connect(db, read_only=True)
    try:
        areas = access.load_areas(con)
        population = access.load_population(con)
        mine = areas.loc[areas["project"] == project] if not areas.empty else areas
        hoods = mine["neighbourhood"].tolist() if not mine.empty else []
        responses = access.load_responses(con, fw, hoods) if hoods else pd.DataFrame()
    finally:
        con.close()
    if mine.empty:
        raise UserError(
            f"{db}: no neighbourhoods are mapped to project '{project}' in the areas table; import an areas file "
            "with its neighbourhoods (python -m helpers import areas FILE)"
        )
    adults = {}
    if not population.empty:
        ages = population[population["dimension"] == "age_band"]
        adults = ages.groupby("neighbourhood")["population"].sum().to_dict()
    out = mine[["neighbourhood", "name", "role"]].copy()
    out["adults"] = [int(adults.get(h, 0)) for h in out["neighbourhood"]]
    out["_order"] = out["role"].map({"pilot": 0, "comparison": 1}).fillna(2)
    out = out.sort_values(["_order", "neighbourhood"]).drop(columns="_order")
    pop = population[population["neighbourhood"].isin(hoods)] if not population.empty else population
    return ProjectData(project, out.reset_index(drop=True), responses, pop)


def latest_wave(fw: Framework, responses: pd.DataFrame) -> str | None:
    """The last wave (in the framework's order) with any responses."""
    if responses.empty:
        return None
    present = set(responses["wave"])
    found = [w for w in fw.settings.wave_ids if w in present]
    return found[-1] if found else None


def check_wave(fw: Framework, wave: str | None) -> None:
    if wave is not None and wave not in fw.settings.wave_ids:
        raise UserError(f"unknown wave '{wave}'; known: {allowed(fw.settings.wave_ids)}")


def weights_summary(fw: Framework, data: ProjectData) -> pd.DataFrame:
    """Kish's design effect and effective n of the raking weights, per neighbourhood x wave (NaN where the
    weights cannot be made yet; the reason is in ``problem``)."""
    import warnings

    from ..methods.weights import build_design, rake_weights, weighting_summary

    if data.responses.empty:
        return pd.DataFrame(columns=["neighbourhood", "wave", "respondents", "design_effect", "effective_n", "problem"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = rake_weights(data.responses, data.population, fw.settings, strict=False, project=data.project)
        design = build_design(data.responses, data.population, fw.settings, strict=False, project=data.project)
    summary = weighting_summary(weights)
    problems = {
        (design.groups.iloc[g]["neighbourhood"], design.groups.iloc[g]["wave"]): text
        for g, text in zip(design.problem_groups, design.problems, strict=True)
    }
    summary["problem"] = [
        problems.get((h, w), "") for h, w in zip(summary["neighbourhood"], summary["wave"], strict=True)
    ]
    return summary


def pooled_design_effect(summary: pd.DataFrame, wave: str) -> float | None:
    """The design effect of a wave's weights, averaged over its neighbourhoods by respondents (None if none)."""
    rows = summary[(summary["wave"] == wave) & summary["design_effect"].notna()]
    if rows.empty:
        return None
    return float((rows["design_effect"] * rows["respondents"]).sum() / rows["respondents"].sum())


# --- the plan ------------------------------------------------------------------------------------------


@dataclass
class Findings:
    """A table and the plain words that explain it (what the planner and the fieldwork tracker return)."""

    table: pd.DataFrame
    lines: list[str] = field(default_factory=list)

    @property
    def words(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.words

    def _repr_html_(self) -> str:
        import html

        return "".join(f"<p>{html.escape(line.strip())}</p>" for line in self.lines if line.strip())


@dataclass
class Plan(Findings):
    """What :func:`plan` found: the table (one row per role, then per neighbourhood) and the words."""

    def _repr_html_(self) -> str:
        paragraphs = super()._repr_html_()
        shown = self.table.copy()
        for col in ("baseline_share", "change", "detectable_change"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        return paragraphs + shown.to_html(index=False, na_rep="")


@dataclass
class Assumptions:
    """The planner's inputs, checked."""

    baseline_share: float
    change: float
    power: float
    confidence: float
    design: str
    design_effect: float
    design_effect_source: str


def _settings(fw, design, baseline_share, change, power_, confidence, design_effect, source) -> Assumptions:
    confidence = confidence if confidence is not None else fw.settings.thresholds.confidence_level
    try:
        pw.check_inputs(
            baseline_share, change, design=design, confidence=confidence, power=power_, design_effect=design_effect
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return Assumptions(baseline_share, change, power_, confidence, design, design_effect, source)


def plan(
    fw: Framework | None = None,
    db: Path | str | None = None,
    *,
    project: str | None = None,
    baseline_share: float = DEFAULT_BASELINE_SHARE,
    change: float = DEFAULT_CHANGE,
    responses: int | None = None,
    design_effect: float | None = None,
    from_data: bool = False,
    wave: str | None = None,
    power: float = DEFAULT_POWER,
    confidence: float | None = None,
    design: str | None = None,
) -> Plan:
    """Responses needed per wave (per role and per neighbourhood) and the smallest change detectable.

    Proportions throughout (``change=0.10`` is 10 points). Without ``project`` only the roles' totals are
    given; ``from_data`` needs a project with responses loaded.
    """
    from ..config.framework import framework

    fw = fw or framework()
    db = Path(db) if db is not None else paths.DEFAULT_DB
    check_wave(fw, wave)
    if from_data and not project:
        raise UserError("--from-data needs --project: the design effect and responses are a project's")
    data = project_data(fw, db, project) if project else None
    design, roles = _plan_design(project, data, design)
    source = (
        "given" if design_effect is not None else "as for a simple random sample; give --design-effect or --from-data"
    )
    used_wave = None
    if from_data:
        used_wave, design_effect, source = _design_effect_from_data(fw, db, project, data, wave, design_effect, source)
    s = _settings(fw, design, baseline_share, change, power, confidence, design_effect or 1.0, source)
    needed = _responses_needed(s)
    table = _plan_table(fw, s, project, data, roles, needed, responses, used_wave)
    lines = _plan_words(fw, s, project, data, roles, needed, responses, used_wave, table)
    return Plan(table[PLAN_COLUMNS], lines)


def _plan_design(project, data: ProjectData | None, design: str | None) -> tuple[str, list[str]]:
    """The design (difference-in-differences when there are comparison areas, or no project) and the roles it
    plans for; refuses difference-in-differences for a project without comparison neighbourhoods."""
    roles = [r for r in ROLES if data is None or r in set(data.areas["role"])]
    design = design or ("did" if "comparison" in roles or data is None else "before-after")
    if design == "did" and data is not None and "comparison" not in roles:
        raise UserError(
            f"project '{project}' has no comparison neighbourhoods, so difference-in-differences cannot be planned; "
            "use --design before-after"
        )
    if design == "before-after":
        roles = ["pilot"]
    return design, roles


def _design_effect_from_data(fw, db, project, data, wave, design_effect, source) -> tuple[str, float | None, str]:
    """``--from-data``: (the wave used, the design effect, where it came from); a given design effect is kept."""
    summary = weights_summary(fw, data)
    used_wave = wave or latest_wave(fw, data.responses)
    if used_wave is None:
        raise UserError(f"{db}: project '{project}' has no survey responses yet, so --from-data has nothing to use")
    found = pooled_design_effect(summary, used_wave)
    if design_effect is None:
        if found is None:
            raise UserError(
                f"{db}: the {fw.settings.wave_label(used_wave)} responses of '{project}' cannot be weighted yet "
                "(see python -m helpers fieldwork), so there is no design effect to take; give --design-effect"
            )
        design_effect, source = max(found, 1.0), f"from the weights of the {fw.settings.wave_label(used_wave)} wave"
    return used_wave, design_effect, source


def _responses_needed(s: Assumptions) -> int:
    """Responses needed per role and wave under the assumptions, rounded up."""
    return pw.round_up(
        pw.responses_needed(
            s.baseline_share,
            s.change,
            design=s.design,
            confidence=s.confidence,
            power=s.power,
            design_effect=s.design_effect,
        )
    )


def _row(s: Assumptions, project, role, hood="all", name="", adults=None, needed=None, base=None, later=None, mde=None):
    return {
        "project": project or "",
        "design": s.design,
        "role": role,
        "neighbourhood": hood,
        "name": name,
        "adults": adults,
        "baseline_share": s.baseline_share,
        "change": s.change,
        "confidence": s.confidence,
        "power": s.power,
        "design_effect": round(s.design_effect, 3),
        "responses_needed": needed,
        "responses_baseline": base,
        "responses_wave": later,
        "detectable_change": mde,
    }


def _counts(fw: Framework, data: ProjectData | None, wave: str | None) -> dict[tuple[str, str], int]:
    """Responses per (neighbourhood, wave) in the data (empty without data)."""
    if data is None or data.responses.empty or wave is None:
        return {}
    return data.responses.groupby(["neighbourhood", "wave"]).size().to_dict()


def _mde(s: Assumptions, counts: list[float], design: str) -> float:
    if any(c < 2 for c in counts):
        return math.nan
    return pw.detectable_change(
        s.baseline_share, counts, design=design, confidence=s.confidence, power=s.power, design_effect=s.design_effect
    )


def _actual(fw, data, wave) -> dict:
    """Responses at the baseline and at ``wave`` per neighbourhood (a baseline-only project: the same again)."""
    counts = _counts(fw, data, wave)
    base = fw.settings.baseline
    later = wave if wave != base else base
    return {h: (counts.get((h, base), 0), counts.get((h, later), 0)) for h in data.areas["neighbourhood"]}


def _plan_table(fw, s: Assumptions, project, data, roles, needed, responses, used_wave) -> pd.DataFrame:
    rows = []
    actual = _actual(fw, data, used_wave) if used_wave else {}
    pooled_counts = {}
    for role in roles:
        hoods = data.areas[data.areas["role"] == role] if data is not None else pd.DataFrame()
        base = later = None
        if actual:
            base = sum(actual[h][0] for h in hoods["neighbourhood"])
            later = sum(actual[h][1] for h in hoods["neighbourhood"])
            pooled_counts[role] = (base, later)
        rows.append(_row(s, project, role, needed=needed, base=base, later=later))
        if hoods.empty:
            continue
        shares = pw.allocate(needed, hoods["adults"].tolist())
        for (_, h), n in zip(hoods.iterrows(), shares, strict=True):
            b, w = actual.get(h["neighbourhood"], (None, None))
            counts = [b, w] if actual else [responses * n / needed if responses else n] * 2
            rows.append(
                _row(
                    s,
                    project,
                    role,
                    h["neighbourhood"],
                    h["name"],
                    int(h["adults"]),
                    n,
                    b,
                    w,
                    _mde(s, counts, "before-after"),
                )
            )
    table = pd.DataFrame(rows)
    for col in ("adults", "responses_needed", "responses_baseline", "responses_wave"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    # The design's smallest detectable change, on the role rows: with --responses, or with the data's counts.
    given = [responses] * pw.DESIGNS[s.design] if responses else None
    found = None
    if pooled_counts:
        found = [c for r in roles for c in pooled_counts[r]]
    counts = found or given
    if counts is not None:
        mde = _mde(s, counts, s.design)
        table.loc[table["neighbourhood"] == "all", "detectable_change"] = mde
    table.attrs["given_mde"] = _mde(s, given, s.design) if given else None
    table.attrs["data_mde"] = _mde(s, found, s.design) if found else None
    return table


def _plan_words(fw, s: Assumptions, project, data, roles, needed, responses, used_wave, table) -> list[str]:
    lines = _plan_intro(fw, s, project, roles, needed)
    lines += _neighbourhood_words(table, roles, responses, used_wave)
    lines += _detectable_words(fw, table, responses, used_wave)
    lines += [
        "",
        "How: responses per sample = design effect x (z for the confidence + z for the power)^2 x the sum of "
        "p(1-p) over the samples / change^2 (the variance-sum formula), solved with statsmodels' NormalIndPower. "
        "Cohen's h, statsmodels' other route, gives a few responses more or fewer. A share near 50% needs the most "
        "responses; docs/method.md, 'Sample size', explains.",
    ]
    return lines


def _plan_intro(fw, s: Assumptions, project, roles, needed) -> list[str]:
    """The plan's opening: the design, the assumptions, what the change means and the responses it needs."""
    after = s.baseline_share + s.change
    what = f"for {project} " if project else ""
    return [
        f"Planning the Your Voice survey {what}as {pw.DESIGN_WORDS[s.design]}.",
        f"Assumed: {fmt.percent(s.baseline_share)} agree with a statement at the baseline; "
        f"{s.confidence:.0%} confidence; {s.power:.0%} power; design effect {s.design_effect:.2f} "
        f"({s.design_effect_source}).",
        "",
        f"A change of {fmt.points_text(s.change)} means the share agreeing with a statement (for example "
        f"'{fw.instrument.statement('s07').text}') goes from {fmt.percent(s.baseline_share)} to "
        f"{fmt.percent(after)}: about {fmt.point_count(s.change).split()[0]} "
        f"{'more' if s.change > 0 else 'fewer'} people in every 100.",
        f"To find such a change {s.power:.0%} of the time (the power), and call it clear at {s.confidence:.0%} "
        f"confidence, you need {needed:,} responses at each wave in the "
        + ", and as many in the ".join(f"{ROLE_WORDS[r]} together" for r in roles)
        + f". Over the baseline and one later wave that is {needed * 2 * len(roles):,} responses in all.",
    ]


def _neighbourhood_words(table, roles, responses, used_wave) -> list[str]:
    """Each neighbourhood's share of the responses needed (none without a project's neighbourhoods)."""
    lines = []
    hood_rows = table[table["neighbourhood"] != "all"]
    if not hood_rows.empty:
        lines.append("Shared out in proportion to each neighbourhood's adults, each wave needs:")
        for role in roles:
            part = hood_rows[hood_rows["role"] == role]
            lines.append(
                f"  {ROLE_WORDS[role]}: "
                + ", ".join(f"{r['name']} {int(r['responses_needed']):,}" for _, r in part.iterrows())
            )
        alone = hood_rows["detectable_change"].dropna()
        if not used_wave and not responses and not alone.empty:
            lines.append(
                "  On its own, each neighbourhood's share of those responses would show its own change since the "
                f"baseline when it is at least {fmt.point_count(alone.min())}"
                + (f" to {fmt.point_count(alone.max())}" if round(alone.max(), 2) != round(alone.min(), 2) else "")
                + "."
            )
    return lines


def _detectable_words(fw, table, responses, used_wave) -> list[str]:
    """The smallest change detectable with ``--responses`` and with the responses in the data."""
    lines = []
    given = table.attrs.get("given_mde")
    if responses:
        lines.append(
            f"With {responses:,} responses per role and wave, the smallest change you can expect to find "
            + (f"is {fmt.point_count(given)}." if given == given else "is more than the scale allows.")
        )
    found = table.attrs.get("data_mde")
    if used_wave:
        pooled = table[table["neighbourhood"] == "all"]
        had = "; ".join(
            f"{ROLE_WORDS[r['role']]} {int(r['responses_baseline']):,} at the baseline and "
            f"{int(r['responses_wave']):,} at {fw.settings.wave_label(used_wave)}"
            for _, r in pooled.iterrows()
        )
        same = " (the later wave assumed to match the baseline)" if used_wave == fw.settings.baseline else ""
        lines.append(
            f"With the responses you have ({had}){same}, the smallest change you can expect to find is "
            + (f"{fmt.point_count(found)}." if found is not None and found == found else "more than the scale allows.")
        )
    return lines


def notebook_options(
    *, baseline_share_percent: int, change_points: int, power_percent: int, design_effect: str
) -> dict:
    """The planner's options from a notebook's parameters (whole percentages and points; the design effect as
    text: a number such as "1.3", or "from data" for the weights of the latest wave)."""
    text = str(design_effect).strip().lower()
    if text == "from data":
        chosen: dict = {"from_data": True}
    else:
        try:
            chosen = {"design_effect": float(text)}
        except ValueError:
            raise UserError(f'design_effect \'{design_effect}\': give a number such as "1.3", or "from data"') from None
    return {
        "baseline_share": baseline_share_percent / 100,
        "change": change_points / 100,
        "power": power_percent / 100,
        **chosen,
    }


# --- the CLI ------------------------------------------------------------------------------------------


def cli_plan(fw: Framework, args: argparse.Namespace) -> int:
    """``python -m helpers plan ...``: the words, and the table (or ``--csv FILE``)."""
    result = plan(
        fw,
        args.db,
        project=args.project,
        baseline_share=args.baseline_share,
        change=args.change,
        responses=args.responses,
        design_effect=args.design_effect,
        from_data=args.from_data,
        wave=args.wave,
        power=args.power,
        confidence=args.confidence,
        design=args.design,
    )
    print(result.words)
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        write_csv(result.table, args.csv, write_csv_atomic)
        print(f"\nwrote {len(result.table)} rows to {args.csv}")
    return 0


def write_csv(table: pd.DataFrame, target: Path, writer) -> None:
    try:
        writer(table, target)
    except OSError as exc:
        raise UserError(f"{target}: cannot write the table ({exc.strerror or exc})") from None

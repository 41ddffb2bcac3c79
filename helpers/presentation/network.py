"""The network's pages: councils' effects side by side, pooled, in plain words and a forest plot.

``pooled_sentence`` says one pooled result as a reader would ("Across 7 councils, employment support schemes
raised agreement that ... by 6 points, 95% interval 2 to 10; results varied little between councils");
``forest_plot`` draws each council's DiD and interval with the pooled effects below them (the chart
conventions of :mod:`helpers.presentation.charts`: print size, colour-blind palette, shapes as well as colours,
the key below); ``pooled_section`` makes the network report's section for one family and wave from the
network database.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..config.framework import Framework
from ..methods.estimates import normal_quantile
from ..methods.meta import FIXED_EFFECT, RANDOM_EFFECTS
from . import charts, render
from . import formatting as fmt
from .model import Section

VARIATION = ((0.25, "results varied little between councils"), (0.5, "results varied somewhat between councils"))
VARIED_A_LOT = "results varied a lot between councils, so the pooled figure hides real differences"


def variation_words(i2: float) -> str:
    """I2 in words (Higgins and Thompson's rough bands: under 25% low, under 50% moderate, beyond that high)."""
    return next((words for bound, words in VARIATION if i2 < bound), VARIED_A_LOT)


def _measure_words(fw: Framework, measure: str, statistic: str) -> str:
    """What the pooled figure is the change in, in words."""
    ins = fw.instrument
    if measure in ins.statement_ids:
        short = fmt.quoted(ins.statement(measure).short)
        if statistic == "mean":
            codes = [c.code for c in ins.statements.scale if isinstance(c.code, int)]
            return f"the average answer to {short} (on a scale of {min(codes)} to {max(codes)})"
        return f"{'disagreement' if statistic == 'disagree' else 'agreement'} that {short}"
    hp = ins.happiness
    named = {
        (ins.general_health.id, "good"): "the share in good or very good health",
        (hp.id, "mean"): f"average happiness yesterday (on a scale of {hp.min} to {hp.max})",
        (hp.id, "low"): f"the share whose happiness yesterday was low ({hp.low[0]} to {hp.low[1]})",
        (hp.id, "very_high"): (
            f"the share whose happiness yesterday was very high ({hp.very_high[0]} to {hp.very_high[1]})"
        ),
    }
    return named.get((measure, statistic), f"{measure.replace('_', ' ')} ({statistic.replace('_', ' ')})")


def _average(value: float) -> str:
    """A change in an average on its own scale, signed, to two decimals, never '-0.00': 0.123 -> '+0.12'."""
    return f"{value:+.2f}" if round(value, 2) else "0"


def _change_text(statistic: str, value: float) -> str:
    """A DiD as a reader reads it: a share's in points ('+6 points'), an average's on its own scale ('+0.12')."""
    return _average(value) if statistic == "mean" else fmt.points_text(value)


def _interval_text(statistic: str, low: float, high: float) -> str:
    """An interval of a DiD, in the units of :func:`_change_text`."""
    return f"{_average(low)} to {_average(high)}" if statistic == "mean" else fmt.points_interval(low, high)


def _upper_first(words: str) -> str:
    """Words with a capital first letter and the rest as written (``str.capitalize`` would lower a quoted
    statement: 'Agreement that ‘love where i live’')."""
    return words[:1].upper() + words[1:]


def _whole_points(share: float) -> str:
    """A share difference as whole points, signed only when negative, never "-0": 0.061 -> '6', -0.02 -> '-2'."""
    value = round(100 * share)
    return str(value) if value else "0"


def family_name(fw: Framework, family: str) -> str:
    """A family as a reader names it: a project's name when the family is a project id (the default)."""
    return fw.project(family).name if family in fw.project_ids else family


def pooled_sentence(fw: Framework, row: pd.Series) -> str:
    """One pooled row of ``network meta`` (random effects) as a sentence."""
    level = round(100 * fw.settings.thresholds.confidence_level)
    if row["statistic"] == "mean":  # an average, on its own scale: two decimals
        change = round(row["pooled"], 2)
        by = f" by {abs(change):.2f}" if change else ""
        interval = f"{level}% interval {row['ci_low']:.2f} to {row['ci_high']:.2f}"
    else:
        change = round(100 * row["pooled"])
        by = f" by {fmt.points_text(abs(row['pooled'])).lstrip('+')}" if change else ""
        interval = f"{level}% interval {_whole_points(row['ci_low'])} to {_whole_points(row['ci_high'])}"
    verb = "raised" if change > 0 else ("lowered" if change < 0 else "did not change")
    what = _measure_words(fw, row["measure"], row["statistic"])
    return (
        f"Across {row['councils']} councils, {family_name(fw, row['family'])} schemes {verb} {what}{by}, "
        f"{interval}; {variation_words(row['i2'])}."
    )


@charts.styled
def forest_plot(councils: pd.DataFrame, pooled: pd.DataFrame, *, title: str, average: bool = False) -> plt.Figure:
    """Each council's DiD and interval (``council, did, ci_low, ci_high``, shares), then the pooled effects
    (``method, pooled, ci_low, ci_high``): councils as squares, random effects a filled diamond, the fixed
    effect an open one, around a zero line; the x axis in percentage points (``average``: on the answer's own
    scale)."""
    k = 1 if average else 100
    labels = [*councils["council"], *[_method_label(m) for m in pooled["method"]]]
    fig, ax = charts._figure(charts._rows_height(len(labels), 0.24, 1.9, labels))
    ax.axvline(0, color="black", lw=1)
    for y, row in enumerate(councils.itertuples()):
        ax.plot([k * row.ci_low, k * row.ci_high], [y, y], color=charts.GREY, lw=1.6)
        ax.plot(k * row.did, y, "s", color=charts.PALETTE[0], ms=5.5)
    styles = {RANDOM_EFFECTS: {"mfc": charts.PALETTE[3]}, FIXED_EFFECT: {"mfc": "white"}}
    for n, row in enumerate(pooled.itertuples()):
        y = len(councils) + n
        ax.plot([k * row.ci_low, k * row.ci_high], [y, y], color=charts.PALETTE[3], lw=2.2)
        ax.plot(k * row.pooled, y, "D", color=charts.PALETTE[3], mew=1.5, ms=8, **styles.get(row.method, {}))
    ax.set_ylim(len(labels) - 0.5, -0.5)
    units = "on the answer's scale" if average else "percentage points"
    charts._row_labels(ax, labels, f"difference-in-differences, {units}, with its interval")
    charts._title(fig, title)
    handles = [
        charts._key(color=charts.PALETTE[0], marker="s", ls="", ms=5.5),
        charts._key(color=charts.PALETTE[3], marker="D", ls="", ms=8, mfc=charts.PALETTE[3]),
        charts._key(color=charts.PALETTE[3], marker="D", ls="", ms=8, mfc="white", mew=1.5),
    ]
    charts._legend(fig, handles, ["a council", "pooled, councils differing", "pooled, councils alike"])
    return fig


def _method_label(method: str) -> str:
    return {RANDOM_EFFECTS: "All councils (random effects)", FIXED_EFFECT: "All councils (fixed effect)"}.get(
        method, method
    )


def pooled_section(db: Path | str, fw: Framework, family: str, wave: str, measure: str = "") -> Section:
    """The network report's section for one family at one wave (one measure, given ``measure``: the
    dashboard's choice): a sentence and a forest plot per measure pooled, the pooled figures as a table, and the
    councils left out of a measure's pooling because they word it differently from the network's framework."""
    from ..config import paths
    from ..evidence.network import pooled_table
    from ..store import network

    db = Path(db) if str(db) else paths.NETWORK_DB
    if not db.exists():
        return Section(title=f"{family_name(fw, family)}: pooled across councils").message(
            "No council's return has been brought into the network yet, so there is nothing to pool."
        )
    rows = network.pooling_rows(db, family)
    if rows.empty:  # a kind of scheme the councils run but have no results for yet
        return Section(title=f"{family_name(fw, family)}: pooled across councils").message(
            "No council has sent results for this kind of scheme yet, so there is nothing to pool."
        )
    table, differing = pooled_table(db, fw, family)
    if measure:
        table, differing = table[table["measure"] == measure], differing[differing["measure"] == measure]
    z = normal_quantile(0.5 + fw.settings.thresholds.confidence_level / 2)
    here = table[table["wave"] == wave]
    section = Section(title=f"{family_name(fw, family)}: pooled across councils, {fmt.wave_label(fw, wave)}")
    random = here[here["method"] == RANDOM_EFFECTS]
    if random.empty:
        what = "This statement does not have" if measure else "No measure has"
        section.message(f"{what} two councils' results to pool at this wave yet.")
        return _not_pooled(section, fw, differing)
    section.headline = pooled_sentence(fw, random.iloc[0])
    for _, r in random.iterrows():
        section.text(pooled_sentence(fw, r))
        mine = rows[(rows["measure"] == r["measure"]) & (rows["statistic"] == r["statistic"]) & (rows["wave"] == wave)]
        mine = mine.dropna(subset=["did", "se"]).assign(
            ci_low=lambda f: f["did"] - z * f["se"], ci_high=lambda f: f["did"] + z * f["se"]
        )
        both = here[(here["measure"] == r["measure"]) & (here["statistic"] == r["statistic"])]
        title = _upper_first(_measure_words(fw, r["measure"], r["statistic"]))
        fig = forest_plot(mine, both, title=title, average=r["statistic"] == "mean")
        section.chart(fig, _forest_alt(mine, both, r["statistic"]))
    caption = f"Pooled across councils, {fmt.wave_label(fw, wave)} ({fmt.level(fw)} interval)"
    section.table("pooled", _pooled_display(fw, here), caption, here.reset_index(drop=True))
    return _not_pooled(section, fw, differing)


BRIEF_MOST = 6  # clear pooled findings listed in brief; the rest are in the sections below


def _clear_as_printed(row: pd.Series) -> bool:
    """Whether a pooled interval, as the page prints it (whole points; an average to two decimals), lies wholly
    one side of no change (:func:`helpers.presentation.formatting.clear_as_shown`)."""
    shown = _average if row["statistic"] == "mean" else fmt.points
    return fmt.clear_as_shown(row["ci_low"], row["ci_high"], shown)


def in_brief_section(db: Path | str, fw: Framework, family: str, wave: str) -> Section:
    """Page one of a network page: which kind of scheme, at which wave, across how many councils, and the
    pooled changes whose interval (as printed) is wholly one side of no change, in the framework's order of
    measures (at most :data:`BRIEF_MOST`; one figure per measure, :func:`_headline_figure`), each as its plain
    sentence."""
    from ..evidence.network import pooled_table
    from ..store import network

    title = f"{family_name(fw, family)} schemes across councils, {fmt.wave_label(fw, wave)}"
    path, empty = _no_network(db, title)
    if empty:
        return empty
    section = Section(title=title)
    rows = network.pooling_rows(path, family)
    if rows.empty:
        return section.message("No council has sent results for this kind of scheme yet.")
    table, differing = pooled_table(path, fw, family)
    random = table[(table["wave"] == wave) & (table["method"] == RANDOM_EFFECTS)]
    main = random[[_headline_figure(fw, m, st) for m, st in zip(random["measure"], random["statistic"], strict=True)]]
    councils = rows.loc[rows["wave"] == wave, "council"].nunique()
    section.headline = (
        f"{councils} councils have sent results for {family_name(fw, family)} schemes at "
        f"{fmt.wave_label(fw, wave).lower()}; {len(main)} of the survey's measures "
        f"{'has' if len(main) == 1 else 'have'} two or more councils' results to pool."
    )
    section.text(section.headline)
    shown = [r for _, r in main.iterrows() if _clear_as_printed(r)]
    if shown:
        more = f" (the first {BRIEF_MOST} of {len(shown)})" if len(shown) > BRIEF_MOST else ""
        section.text(f"Clear changes across the councils{more}:")
        section.bullets([pooled_sentence(fw, r) for r in shown[:BRIEF_MOST]])
    else:
        section.text("No pooled change is clear at this wave: every pooled interval includes no change.")
    if len(differing):
        some = "one measure" if len(differing) == 1 else f"{len(differing)} measures"
        section.text(
            f"Some councils word {some} differently from the network's framework: their figures are left out of "
            "its pooling (named below)."
        )
    return section


def _headline_figure(fw: Framework, measure: str, statistic: str) -> bool:
    """The figure that speaks for a measure in brief: a statement's agreement, good health, average happiness
    (disagreement and the average answer are in the sections below)."""
    if measure in fw.instrument.statement_ids:
        return statistic == "agree"
    return (measure, statistic) in {(fw.instrument.general_health.id, "good"), (fw.instrument.happiness.id, "mean")}


def _forest_alt(councils: pd.DataFrame, pooled: pd.DataFrame, statistic: str) -> str:
    """The forest plot's text alternative: a caption, then every figure it draws."""
    rows = [(r.council, r.did, r.ci_low, r.ci_high) for r in councils.itertuples()]
    rows += [(_method_label(r.method), r.pooled, r.ci_low, r.ci_high) for r in pooled.itertuples()]
    figures = "; ".join(
        f"{who}: {_change_text(statistic, v)} ({_interval_text(statistic, lo, hi)})" for who, v, lo, hi in rows
    )
    return f"Each council's difference-in-differences with its interval, and the councils pooled. {figures}"


def _pooled_display(fw: Framework, here: pd.DataFrame) -> pd.DataFrame:
    """The pooled rows as a reader sees them: what changed, how pooled, by how much, and how councils varied."""
    rows = [
        {
            "Measure": _upper_first(_measure_words(fw, r.measure, r.statistic)),
            "Pooled": _method_label(r.method),
            "Councils": str(int(r.councils)),
            "Difference-in-differences": _change_text(r.statistic, r.pooled),
            "Interval": _interval_text(r.statistic, r.ci_low, r.ci_high),
            "Variation between councils beyond chance": "assumed none"
            if r.method == FIXED_EFFECT
            else fmt.percent(r.i2),
        }
        for r in here.itertuples()
    ]
    return pd.DataFrame(rows)


def _not_pooled(section: Section, fw: Framework, differing: pd.DataFrame) -> Section:
    """A note for each measure some councils are left out of, naming them, because they word it differently from
    the framework this network uses (also when nothing could be pooled: the reason is the page's to say)."""
    for d in differing.itertuples():
        section.note(
            f"{_upper_first(_measure_words(fw, d.measure, 'agree'))}: {_left_out_words(d.councils)} out of the "
            "pooling, because the question is worded differently there from the network's framework."
        )
    return section


def _left_out_words(councils: tuple[str, ...]) -> str:
    """'Brent is left' or 'Brent and Corby are left'."""
    return f"{_and_list(councils)} {'are' if len(councils) > 1 else 'is'} left"


def _and_list(names: tuple[str, ...]) -> str:
    """('Ashby', 'Brent', 'Corby') as 'Ashby, Brent and Corby'."""
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


def _no_network(db: Path | str, title: str) -> tuple[Path, Section | None]:
    """The network's data (blank: the default database), or a section saying there is none yet."""
    from ..config import paths

    path = Path(db) if str(db) else paths.NETWORK_DB
    if path.exists():
        return path, None
    return path, Section(title=title).message(
        "No council's return has been brought into the network yet, so there is nothing to compare."
    )


def self_evaluation_section(db: Path | str, fw: Framework, council: str = "") -> Section:
    """How councils rate themselves: per performance area, how many councils are at each level in their latest
    self-assessment, and (given ``council``) that council's own level beside the network's."""
    from ..store import network

    title = "Self-evaluation across councils"
    path, empty = _no_network(db, title)
    if empty:
        return empty
    rows = network.latest_rows(path, "self_evaluation").dropna(subset=["level"])
    section = Section(title=title)
    if rows.empty:
        return section.message("No council has sent a self-assessment yet.")
    levels = [lvl.id for lvl in fw.self_evaluation.levels]
    names = {lvl.id: lvl.name for lvl in fw.self_evaluation.levels}
    counts = rows.groupby(["area", "level"]).size().unstack(fill_value=0).reindex(columns=levels, fill_value=0)
    tidy = []
    for area in fw.self_evaluation.areas:
        row = {"area": area.name} | {
            names[lvl]: int(counts.loc[area.id, lvl]) if area.id in counts.index else 0 for lvl in levels
        }
        if council:
            mine = rows[(rows["council"] == council) & (rows["area"] == area.id)]
            row[council] = names.get(mine["level"].iloc[0], "") if len(mine) else "not assessed"
        tidy.append(row)
    display = pd.DataFrame(tidy).rename(columns={"area": "Performance area"})
    assessed = rows["council"].nunique()
    section.headline = f"{assessed} councils' latest self-assessments: how many councils are at each level, by area."
    return section.table("self-evaluation-network", display, f"Councils at each level ({assessed} councils)", display)


def ripple_section(db: Path | str, fw: Framework, family: str) -> Section:
    """Councils side by side per ideal: each council's ripple strength and certainty for the family's projects
    (the latest wave of its latest return)."""
    from ..store import network

    title = f"{family_name(fw, family)}: the ripple in each council"
    path, empty = _no_network(db, title)
    if empty:
        return empty
    projects = network.latest_rows(path, "ripple")
    families = network.project_families(path)
    ripple = projects.merge(families, on=["council", "period", "project"])
    ripple = ripple[(ripple["family"] == family) & (ripple["level"] == "ideal")]
    section = Section(title=title)
    if ripple.empty:
        return section.message("No council has sent a ripple for this kind of scheme yet.")
    rule = fw.ripple_rule
    ideals = [i for i in fw.ideals if i.id in set(ripple["ideal"])]  # the framework's order

    def reach(strength: float, certainty: float) -> str:
        """'+0.21 (weak), certainty 0.41 (low)': the figures, and their words on this workbook's scale."""
        if pd.isna(strength):
            return "no evidence yet"
        return (
            f"{fmt.signed(strength, 2)} ({rule.strength_words(strength)}), "
            f"certainty {certainty:.2f} ({rule.certainty_words(certainty)})"
        )

    cells = ripple.assign(reach=[reach(v, c) for v, c in zip(ripple["strength"], ripple["certainty"], strict=True)])
    display = (
        cells.pivot(index="council", columns="ideal", values="reach")
        .reindex(columns=[i.id for i in ideals])
        .fillna("not in its map")
        .rename(columns={i.id: i.name for i in ideals})
        .rename_axis(index="Council", columns=None)
        .reset_index()
        .sort_values("Council", kind="stable")
    )
    tidy = ripple.assign(
        ideal=ripple["ideal"].map({i.id: i.name for i in ideals}),
        strength_words=ripple["strength"].map(lambda v: rule.strength_words(v) if pd.notna(v) else "no evidence yet"),
        certainty_words=ripple["certainty"].map(lambda v: rule.certainty_words(v) if pd.notna(v) else ""),
    )[["council", "ideal", "strength", "strength_words", "certainty", "certainty_words"]]
    tidy = tidy.sort_values(["council", "ideal"], kind="stable").reset_index(drop=True)
    section.headline = f"How far the ripple reached each ideal, in {ripple['council'].nunique()} councils."
    section.table("ripple-network", display.reset_index(drop=True), "Ripple strength and certainty", tidy)
    return section.note(
        "Strength runs from -1 (every piece of evidence clearly worse) to +1 (every piece clearly better); "
        "certainty from 0 to 1 (how much of the planned evidence is in and clearly points the same way). The "
        "words use the same bands for every council."
    )


def _period_words(fw: Framework, period: str) -> str:
    """A return's period in words: its fieldwork month ('January 2026'), or its wave's name when it has none."""
    try:
        return fmt.month_year(period)
    except ValueError:
        return fw.settings.wave_label(period)


def councils_section(db: Path | str, fw: Framework, family: str) -> Section:
    """The councils in the network and how their frameworks differ: each council's latest return, whether it
    measures with the framework most councils use, and whether its ripple map for this kind of scheme is the
    one most councils use (a different map weighs the evidence differently, so ripples compare less well)."""
    from ..store import network

    title = "The councils and their frameworks"
    path, empty = _no_network(db, title)
    if empty:
        return empty
    held = network.councils(path)
    maps = network.latest_rows(path, "did")[["council"]].drop_duplicates()  # councils with results to pool
    projects = network.project_families(path).merge(held[["council", "period"]], on=["council", "period"])
    mine = projects[projects["family"] == family]
    hashes = network.ripple_hashes(path)
    mine = mine.merge(hashes, on=["council", "period", "project"], how="left")
    common_fw = held["framework_version"].mode().iloc[0]
    common_map = mine["ripple_map_sha256"].mode().iloc[0] if len(mine) else ""
    rows = []
    for r in held.itertuples():
        theirs = mine[mine["council"] == r.council]["ripple_map_sha256"]
        rows.append(
            {
                "Council": r.council,
                "Latest return": _period_words(fw, r.period),
                "Framework": "as most councils" if r.framework_version == common_fw else "differs from most",
                "Ripple map": "no such scheme"
                if theirs.empty
                else ("as most councils" if theirs.iloc[0] == common_map else "differs from most"),
                "Results to pool": "yes" if r.council in set(maps["council"]) else "no",
            }
        )
    display = pd.DataFrame(rows)
    differ = (display["Framework"] == "differs from most").sum()
    section = Section(title=title)
    section.headline = f"{len(display)} councils have sent a return; " + (
        "all measure with the same framework." if not differ else f"{differ} with a framework that differs from most."
    )
    section.table("councils-network", display, "Councils and their frameworks", display)
    made_up = int(held["synthetic"].sum())
    if made_up:
        section.note(f"{made_up} of these returns are synthetic: made up to test the network, not a council's data.")
    return section


AREAS_WORDS = {"pilot": "pilot areas", "comparison": "comparison areas"}


def _estimate_cell(row) -> str:
    """A council's figure at a wave as a table shows it: '55% (50% to 60%), 400 answers', or 'not shown'."""
    if not row.shown:
        return fmt.NOT_SHOWN
    return f"{fmt.percent(row.estimate)} ({fmt.interval(row.ci_low, row.ci_high)}), {int(row.answers):,} answers"


def _did_cells(did: pd.DataFrame, wave: str, z: float) -> dict[tuple[str, str, str], str]:
    """Each council's DiD at the wave per (council, project, measure), in points with its interval ('+6 points
    (+2 to +10)'), or 'not shown' when held back."""
    rows = did[(did["statistic"] == "agree") & (did["wave"] == wave)]
    cells = {}
    for r in rows.itertuples():
        held = pd.isna(r.did) or pd.isna(r.se) or bool(False if pd.isna(r.suppressed) else r.suppressed)
        shown = "" if held else f"{fmt.points_text(r.did)} ({fmt.points_interval(r.did - z * r.se, r.did + z * r.se)})"
        cells[(r.council, r.project, r.measure)] = shown or fmt.NOT_SHOWN
    return cells


def _council_labels(estimates: pd.DataFrame, names: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(council, project) -> how a row names it: the council, and the scheme's name when a council runs more
    than one scheme of the family."""
    pairs = estimates[["council", "project"]].drop_duplicates()
    twice = set(pairs["council"][pairs["council"].duplicated()])
    named = names.set_index(["council", "project"])["name"].to_dict()
    return {(c, p): f"{c}, {named.get((c, p), p)}" if c in twice else c for c, p in pairs.itertuples(index=False)}


def statements_section(db: Path | str, fw: Framework, family: str, wave: str, measure: str = "") -> Section:
    """Per statement, the councils side by side: each council's % agreeing at every wave up to ``wave``, in its
    scheme's neighbourhoods and in its comparison neighbourhoods (each with its interval and answers), and its
    DiD at ``wave``; a chart per statement (one statement, given ``measure``: the dashboard's choice); and the
    councils that word a statement differently from the network's framework, named, since their figures
    for it are left out of the pooling."""
    from ..evidence.network import council_estimates, wording_left_out
    from ..store import network

    title = f"{family_name(fw, family)}: each statement in each council"
    path, empty = _no_network(db, title)
    if empty:
        return empty
    estimates = council_estimates(path, fw, family)
    asked = [measure] if measure else fw.instrument.statement_ids
    estimates = estimates[(estimates["statistic"] == "agree") & estimates["measure"].isin(asked)]
    section = Section(title=f"{title}, up to {fmt.wave_label(fw, wave)}")
    if estimates.empty:
        return section.message("No council has sent figures for this kind of scheme yet.")
    waves = fw.settings.wave_ids[: fw.settings.wave_ids.index(wave) + 1]
    labels = fmt.wave_labels(fw)
    did = network.pooling_rows(path, family)
    z = normal_quantile(0.5 + fw.settings.thresholds.confidence_level / 2)
    names = network.project_names(path)
    who = _council_labels(estimates, names)
    differing = wording_left_out(path, fw, set(estimates["council"])).set_index("measure")
    statements = [s for s in fw.instrument.statement_ids if s in set(estimates["measure"])]
    section.headline = (
        f"{estimates['council'].nunique()} councils' % agreeing with each statement, wave by wave, in their pilot "
        "and comparison areas."
    )
    dids = _did_cells(did, wave, z)
    later = wave != fw.settings.baseline
    for measure in statements:
        mine = estimates[(estimates["measure"] == measure) & estimates["wave"].isin(waves)]
        short = fw.instrument.statement(measure).short
        lines: dict[tuple[str, str, str], dict] = {}  # (council, project, role) -> the table's row
        tidy, dots = [], []
        for r in mine.itertuples():
            name, key = who[(r.council, r.project)], (r.council, r.project, r.role)
            if key not in lines:
                lines[key] = {"Council": name, "Areas": AREAS_WORDS[r.role]} | {labels[w]: "" for w in waves}
                if later:
                    shown = dids.get((r.council, r.project, measure), fmt.NOT_SHOWN) if r.role == "pilot" else ""
                    lines[key][f"Difference-in-differences, {labels[wave]}"] = shown
            lines[key][labels[r.wave]] = _estimate_cell(r)
            tidy.append(_tidy_estimate(fw, name, measure, r.role, labels[r.wave], r))
            dots.append(
                {"label": f"{name}: {AREAS_WORDS[r.role]}", "group": labels[r.wave]}
                | {"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "shown": r.shown}
            )
        order = sorted(lines, key=lambda k: (k[0], k[1], ROLE_ORDER.index(k[2])))
        table = pd.DataFrame([lines[k] for k in order])
        councils = mine["council"].nunique()
        if councils <= CHART_MOST_COUNCILS and any(d["shown"] for d in dots):
            section.chart(*_estimates_chart(fw, short, dots, [labels[w] for w in waves]))
        section.table(render.slug(short), table, f"% agreeing that {fmt.quoted(short)}", pd.DataFrame(tidy))
        if measure in differing.index:
            others = differing.loc[measure, "councils"]
            verb = "word" if len(others) > 1 else "words"
            section.note(
                f"{_and_list(others)} {verb} {fmt.quoted(short)} differently from the network's "
                "framework, so their figures for it are side by side here but left out of the pooling: a different "
                "question is a different measure."
            )
    if estimates["council"].nunique() > CHART_MOST_COUNCILS:
        section.note(
            f"With more than {CHART_MOST_COUNCILS} councils the figures are in the tables only: a chart of every "
            "council would be too crowded to read."
        )
    if (estimates["measure"].isin(statements) & estimates["wave"].isin(waves) & ~estimates["shown"]).any():
        minimum = fw.settings.thresholds.minimum_base
        section.note(
            f"Not shown: one or more of a council's neighbourhoods had fewer than {minimum} responses at that "
            "wave, so its figure was not published and the neighbourhoods cannot be put together."
        )
    section.method(
        "A council's neighbourhoods are put together weighing each by its number of answers (the network does "
        "not hold their populations, which a council's own report uses), so a figure here can differ a little "
        "from the council's own report."
    )
    return section


ROLE_ORDER = ("pilot", "comparison")
CHART_MOST_COUNCILS = 15  # beyond this many councils a statement's chart (two rows each) is too crowded to read


def _estimates_chart(fw: Framework, short: str, dots: list[dict], waves: list[str]) -> tuple:
    """A statement's dot chart (councils' pilot and comparison areas as rows, a colour and shape per wave) and its
    text alternative, which names the figures not shown too."""
    level = fmt.level(fw)
    rows = pd.DataFrame([d for d in dots if d["shown"]]).assign(suppressed=False, low_base=False)
    rows["group"] = pd.Categorical(rows["group"], categories=waves)  # the key's waves in order, whichever is missing
    fig = charts.estimate_dots(
        rows,
        title=f"% agreeing that {fmt.quoted(short)}, each council ({level} interval)",
        minimum_base=fw.settings.thresholds.minimum_base,
    )
    alt = "; ".join(
        f"{d['label']}, {d['group']}: "
        + (f"{fmt.percent(d['estimate'])} ({fmt.interval(d['ci_low'], d['ci_high'])})" if d["shown"] else fmt.NOT_SHOWN)
        for d in dots
    )
    return fig, f"Share agreeing that {fmt.quoted(short)} in each council, by wave. {alt}"


def _tidy_estimate(fw: Framework, council: str, measure: str, role: str, wave: str, r) -> dict:
    """One council's figure at a wave as a download gives it: percentages to one place, blank when not shown."""
    shown = bool(r.shown)
    return {
        "council": council,
        "statement": measure,
        "statement_text": fw.instrument.statement(measure).short,
        "neighbourhoods": "scheme" if role == "pilot" else "comparison",
        "wave": wave,
        "answers": int(r.answers) if shown else None,
        "percent_agree": round(100 * r.estimate, 1) if shown else None,
        "interval_low": round(100 * r.ci_low, 1) if shown else None,
        "interval_high": round(100 * r.ci_high, 1) if shown else None,
        "note": "" if shown else fmt.NOT_SHOWN,
    }

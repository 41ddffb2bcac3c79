"""The ripple sections: the report's "In brief" and "The ripple", and what the ripple explorer shows for a
project, a wave and an ideal (the planned reach, the ripple the project expects, an ideal's outcomes with
their evidence lines, and the survey evidence per ideal).

Every figure comes from the ripple :meth:`~helpers.evidence.context.ProjectData.ripple` computes once
(``helpers.evidence.ripple``: evidence lines, their items, the roll-up to outcomes and ideals); these
functions choose the rows of a selection and word them. ``sel.wave`` None (or the baseline) is design
mode: the ripple as planned, before anything is measured.
"""

from __future__ import annotations

import pandas as pd

from ...config.framework import Ideal
from ...evidence import indicators
from ...evidence import ripple as ripples
from ...evidence.context import ProjectData, Selection
from ...evidence.resilience import load_resilience, resilience_pairs, resilience_results
from ...methods import estimates
from .. import charts
from .. import formatting as fmt
from ..model import Section
from . import applies, section
from .evidence import _difference_text

NOT_IN_MAP = "Not in this project's ripple map."


def _ideal_names(data: ProjectData) -> dict[str, str]:
    return {i.id: i.name for i in data.fw.ideals}


def _signed(value: float) -> str:
    """A strength as the ripple shows it: +0.43 (0 for none, never -0.00)."""
    return fmt.signed(value, 2)


def _as_at(data: ProjectData, wave: str | None):
    """The project's other evidence as at ``wave`` (``ProjectEvidence.up_to``): nothing dated after its month."""
    return data.evidence.up_to(wave)


def _ripple_at(data: ProjectData, sel: Selection, what: str):
    """(the ripple at the selection's wave, None), or (None, a section saying why ``what`` cannot be shown)."""
    problem = ripples.wave_problem(data, sel.wave)
    if problem:
        return None, Section().message(f"{what} cannot be worked out: {problem}.")
    return data.ripple(sel.wave), None


# --- in brief: page one's findings ------------------------------------------------------------------
#
# Every figure comes from the results the other sections show: the neighbourhood's change since the baseline
# (ProjectData.change, as "Change since the baseline"), the project's difference-in-differences (ProjectData.did,
# judged clear by the ripple's rule, as the ripple's tables), the local indicators (as "Local indicators") and
# the ripple's words (as "The ripple"). Nothing is read back from another section's text.

MOST_NAMED = 4  # statements named in one bullet; the rest are counted


def _agree_here(data: ProjectData, frame: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """This neighbourhood x wave's % agree rows of ``frame`` (scores or change) for the map's statements, weighted
    when the answers could be weighted (as the survey sections choose), figures not suppressed."""
    here = (frame["neighbourhood"] == sel.neighbourhood) & (frame["wave"] == sel.wave)
    here &= frame["weighted"] == data.weighted(sel.neighbourhood, sel.wave)
    rows = frame[here & (frame["statistic"] == "agree") & frame["measure"].isin(data.statements(sel.outcome))]
    return rows[~rows["suppressed"].astype(bool)]


def _short(data: ProjectData, statement: str) -> str:
    return fmt.quoted(data.fw.instrument.statement(statement).short)


def _moves(data: ProjectData, rows: pd.DataFrame, value: str) -> str:
    """'‘A’ +18 points, ‘B’ +16 points and 2 more', largest first."""
    rows = rows.reindex(rows[value].abs().sort_values(ascending=False).index)
    named = [
        f"{_short(data, r.measure)} {fmt.points_text(getattr(r, value))}" for r in rows.head(MOST_NAMED).itertuples()
    ]
    more = len(rows) - len(named)
    return fmt.listed(named + ([f"{more} more"] if more > 0 else []))


def _statements(n: int) -> str:
    return f"{n} statement{'' if n == 1 else 's'}"


def _area_bullet(data: ProjectData, sel: Selection) -> str | None:
    """This neighbourhood's clear changes since the baseline (its own statements), as the change section shows."""
    rows = _agree_here(data, data.change, sel)
    if rows.empty:
        return None
    name = data.name_of(sel.neighbourhood)
    clear = rows[rows["significant"].fillna(False).astype(bool)]
    up, down = clear[clear["difference"] > 0], clear[clear["difference"] < 0]
    word = "" if data.weighted(sel.neighbourhood, sel.wave) else " (unweighted figures)"
    if clear.empty:
        biggest = rows.loc[rows["difference"].abs().idxmax()]
        said = (
            f"In {name}, none of the {_statements(len(rows))} changed clearly since the baseline{word}: the largest "
            f"move, {_short(data, biggest['measure'])} {fmt.points_text(biggest['difference'])}, is within what "
            "sampling alone could give."
        )
    else:
        if len(down) == 0:
            how, moves = "risen", _moves(data, up, "difference")
        elif len(up) == 0:
            how, moves = "fallen", _moves(data, down, "difference")
        else:
            how = "changed"
            moves = f"risen for {_moves(data, up, 'difference')}, and fallen for {_moves(data, down, 'difference')}"
        rest = len(rows) - len(clear)
        said = (
            f"In {name}, agreement has {how} clearly since the baseline for {len(clear)} of the "
            f"{_statements(len(rows))}{word}: {moves}. Each is clear at the {fmt.level(data.fw)} level (its interval "
            "excludes no change)" + (f"; the other {rest} show no clear change." if rest else ".")
        )
    if data.role_of(sel.neighbourhood) == "comparison":
        said += f" {data.project.name} does not run here: this is what changed without it."
    return said


def _names(data: ProjectData, role: str, sel: Selection, rows: pd.DataFrame | None = None) -> str:
    """The role's areas as a reader names them ("this area" for the report's own); with the project's DiD
    ``rows``, the areas most statements pooled, and those left out said so."""
    hoods = list(data.areas.loc[data.areas["role"] == role, "neighbourhood"])
    if rows is not None and f"{role}_areas" in rows and len(rows):
        pooled = rows[f"{role}_areas"].mode().iloc[0].split(";")
        out = [h for h in hoods if h not in pooled]
        hoods = [h for h in hoods if h in pooled]
        if out:
            named = fmt.listed("this area" if h == sel.neighbourhood else data.name_of(h) for h in out)
            left = f"{named} left out at {fmt.wave_label(data.fw, sel.wave)}: too few answers"
            return fmt.listed("this area" if h == sel.neighbourhood else data.name_of(h) for h in hoods) + f"; {left}"
    return fmt.listed("this area" if h == sel.neighbourhood else data.name_of(h) for h in hoods)


def _too_few_bullet(data: ProjectData, sel: Selection) -> str | None:
    """When this neighbourhood returned fewer questionnaires this wave than may be published: say so first."""
    if not sel.neighbourhood or not sel.wave:
        return None
    n, minimum = len(data.responses_here(sel.neighbourhood, sel.wave)), data.fw.settings.thresholds.minimum_base
    if n >= minimum:
        return None
    name, wave = data.name_of(sel.neighbourhood), fmt.wave_label(data.fw, sel.wave)
    got = "No questionnaires" if n == 0 else f"Fewer than {minimum} questionnaires"
    return (
        f"{got} came back in {name} at {wave}: too few to publish its own survey figures. What follows is the "
        f"project's comparison without {name} at this wave, and the local indicators."
    )


def _project_rows(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> pd.DataFrame:
    """The project's difference-in-differences at the wave for the map's statements, each with the ripple's
    verdict (``clear``: the rule's clear.method, as every ripple table counts it)."""
    did = data.did
    if did is None or did.empty:
        return pd.DataFrame()
    rows = did[
        (did["wave"] == sel.wave)
        & (did["statistic"] == "agree")
        & did["measure"].isin(data.statements(sel.outcome))
        & ~did["suppressed"].astype(bool)
    ]
    return rows.assign(clear=rows["measure"].isin(result.clear_statements()))


def _project_bullet(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> str | None:
    """The project's difference-in-differences (pilot areas against comparison areas), or the before-and-after
    change with its caveat, in the ripple's verdict."""
    rows = _project_rows(data, sel, result)
    if rows.empty:
        return None
    clear = rows[rows["clear"]].assign(_worse=lambda f: f["did"] < 0).sort_values(["_worse", "p_value"])
    level = fmt.level(data.fw)

    def sure(r) -> str:
        return f"{level} interval {fmt.points_interval(r.ci_low, r.ci_high)}"

    if data.before_and_after():
        head = (
            f"There are no comparison areas, so the survey shows the pilot areas ({_names(data, 'pilot', sel, rows)}) "
            "before and after only: "
        )
        moved = [
            f"agreement with {_short(data, r.measure)} {'rose' if r.did > 0 else 'fell'} {fmt.point_count(r.did)} "
            f"({sure(r)})"
            for r in clear.itertuples()
        ]
        tail = " Changes like these may come from anything else that changed over the same time, not only the project."
    else:
        head = (
            f"Against the comparison areas ({_names(data, 'comparison', sel, rows)}), the pilot areas "
            f"({_names(data, 'pilot', sel, rows)}) "
        )
        moved = [
            f"did clearly {'better' if r.did > 0 else 'worse'} on {_short(data, r.measure)}, by "
            f"{fmt.point_count(r.did)} ({sure(r)})"
            for r in clear.itertuples()
        ]
        tail = " This comparison of changes since the baseline is the survey's best test of the project's effect."
    if not moved:
        half = float(((rows["ci_high"] - rows["ci_low"]) / 2).median())
        return (
            head + f"show no clear change in any of the {_statements(len(rows))}: the survey can tell apart changes "
            f"larger than about {fmt.point_count(half)} either way, so smaller effects may be missed." + tail
        )
    rest = len(rows) - len(clear)
    others = f"; the other {rest} statements show no clear difference." if rest else "."
    return head + fmt.listed(moved[:MOST_NAMED]) + others + tail


def _changes(data: ProjectData, wave: str) -> pd.DataFrame:
    """Each indicator's change since the baseline per neighbourhood, as at the wave (the result "Local indicators"
    shows)."""
    return data.result(f"indicator-changes-{wave}", lambda: indicators.indicator_changes(_as_at(data, wave), wave))


def _tests(data: ProjectData, wave: str) -> pd.DataFrame:
    """Each indicator's test at the wave, as at the wave (the result "Local indicators" shows), by indicator."""
    tests = data.result(f"indicator-tests-{wave}", lambda: indicators.indicator_tests(_as_at(data, wave), wave))
    return tests.set_index("indicator")


def _indicator_verdicts(result: ripples.RippleResult) -> pd.DataFrame:
    """One row per local indicator of the map in the ripple's verdict: item; effect, ci_low, ci_high, the net change
    on the indicator's own scale signed so that positive is better; p_value; clear."""
    items = result.items
    return items[items["line"] == "indicators"].drop_duplicates("item").set_index("item")


def _of(part: int, whole: int) -> str:
    """'all 12', 'none of the 12', '3 of the 12'."""
    return (
        f"all {whole}"
        if part == whole and whole > 1
        else f"none of the {whole}"
        if not part
        else f"{part} of the {whole}"
    )


def _named(labels: list[str], most: int = 3) -> str:
    """' (a, b and c)' when there are few enough to name, else nothing."""
    return f" ({fmt.listed(labels)})" if 0 < len(labels) <= most else ""


def _indicator_bullet(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> str | None:
    """Local indicators that moved, as at the wave: the pilot areas against the rest (the ripple's verdict), and
    in this neighbourhood (the way each moved, as "Local indicators" shows it)."""
    verdicts = _indicator_verdicts(result)
    tested = verdicts[verdicts["p_value"].notna()]
    if tested.empty:
        return None
    label = {i.id: i.label for i in data.fw.indicators}
    better = tested[tested["clear"] & (tested["effect"] > 0)]
    worse = tested[tested["clear"] & (tested["effect"] < 0)]
    month = data.evidence.calendar.month(sel.wave)
    when = f"as at {fmt.month_year(month)}" if month is not None else f"at {fmt.wave_label(data.fw, sel.wave).lower()}"
    against = "than in the comparison areas" if data.has_comparison else "than expected"
    said = [
        f"Local indicators, {when}: in the pilot areas, {_of(len(better), len(tested))} improved clearly more "
        f"{against} (by more than their usual ups and downs)"
        + (f", and {len(worse)} got clearly worse{_named([label[i] for i in worse.index])}" if len(worse) else "")
        + "."
    ]
    if sel.neighbourhood:
        changes = _changes(data, sel.wave)
        here = changes[(changes["neighbourhood"] == sel.neighbourhood) & changes["indicator"].isin(verdicts.index)]
        if not here.empty:
            ways = here["better_way"].value_counts()
            worse_here = [label[i] for i in here.loc[here["better_way"] == "worse", "indicator"]]
            said.append(
                f"In {data.name_of(sel.neighbourhood)} itself, {_of(int(ways.get('better', 0)), len(here))} have moved "
                "the better way since the baseline period"
                + (f" and {len(worse_here)} the worse way{_named(worse_here)}" if worse_here else "")
                + " (one area's figures are not tested against their ups and downs)."
            )
    return " ".join(said)


def _ripple_bullet(data: ProjectData, result: ripples.RippleResult) -> str | None:
    """The ripple's words per ideal (the rule's strength and certainty words, as the ripple's table), strongest
    first."""
    have = result.ideals[result.ideals["strength"].notna()]
    if have.empty:
        return None
    ranked = have.sort_values(["strength", "certainty"], ascending=False)
    parts = [f"{r.label.lower()} {r.strength_words} (certainty {r.certainty_words})" for r in ranked.itertuples()]
    mixed = data.fw.ripple_rule.disagreement.words
    meaning = (
        f" {mixed.capitalize()} means some of the evidence points one way and some the other."
        if (ranked["strength_words"] == mixed).any()
        else ""
    )
    return (
        "The ripple, all the project's areas and every kind of evidence taken together: "
        f"{'; '.join(parts)}.{meaning} The ripple section shows each outcome's evidence."
    )


def _chance(data: ProjectData, n: int) -> str:
    """What chance alone could do among ``n`` statements, in the rule's terms."""
    rule, alpha = data.fw.ripple_rule, 1 - data.fw.settings.thresholds.confidence_level
    if rule.clear.method == "holm":
        return (
            "each outcome's statements are judged together, so a clear result from chance alone is unlikely (about "
            f"1 in {1 / alpha:.0f} per outcome)"
        )
    expected = n * alpha
    if expected < 0.5:
        return f"with {_statements(n)} tested, a clear result from chance alone is unlikely but possible"
    return (
        f"with {_statements(n)} tested, about {expected:.0f} could look clear by chance alone even if nothing changed"
    )


def _resilience_results(data: ProjectData) -> pd.DataFrame | None:
    """The financial-resilience check's results (``resilience_results``; empty before any pair of answers) when the
    project has the check and its report the section (``applies``); None without it."""
    if not applies(data.fw, data.project.id, "financial_resilience"):
        return None

    def compute() -> pd.DataFrame:
        pairs = resilience_pairs(load_resilience(data.db, data.fw, data.project.id), data.fw)
        return pd.DataFrame(columns=["suppressed"]) if pairs.empty else resilience_results(pairs, data.fw)

    return data.result("resilience-results", compute)


def _individuals(data: ProjectData) -> str:
    """What page one says about the effect on individuals: the financial-resilience check below shows it only when
    the project has the check and it has results to show (not every figure withheld for too few pairs)."""
    results = _resilience_results(data)
    if results is None:
        return "it compares areas, not individuals, so it does not show the effect on the people supported"
    if results.empty:
        return (
            "area figures do not show the effect on individuals, and no financial-resilience questionnaires (the "
            "same people asked before and after their support) have been collected yet"
        )
    if results["suppressed"].astype(bool).all():
        return (
            "area figures do not show the effect on individuals, and too few people have answered the "
            "financial-resilience check both before and after their support for it to show one yet"
        )
    return (
        "area figures do not show the effect on individuals (the financial-resilience check below does, for the "
        "people who answered it before and after support)"
    )


def _limits_bullet(data: ProjectData, n: int) -> str:
    limits = [
        _individuals(data),
        _chance(data, n) if n else "",
        "the comparison assumes pilot and comparison areas would otherwise have moved alike"
        if data.has_comparison
        else "without comparison areas, changes may come from anything else that changed over the same time",
    ]
    limits.append("stories are chosen examples and high-level indicators move over years, not months")
    return "What this cannot show: " + "; ".join(x for x in limits if x) + "."


def _baseline_bullets(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> list[str]:
    """The starting point: where agreement is highest and lowest here, and what later reports will measure."""
    where = f" in {data.name_of(sel.neighbourhood)}" if sel.neighbourhood else ""
    bullets = [
        f"This is the starting point for {data.project.name}{where}: nothing has changed yet to measure. Later "
        "reports compare each wave with this one" + (" and with the comparison areas." if data.has_comparison else ".")
    ]
    rows = _agree_here(data, data.scores, sel) if sel.neighbourhood and sel.wave else pd.DataFrame()
    if len(rows) >= 2:
        ranked = rows.sort_values("estimate", ascending=False)

        def shown(r) -> str:
            return f"{_short(data, r.measure)} {fmt.percent(r.estimate)} ({fmt.interval(r.ci_low, r.ci_high)})"

        top, bottom = list(ranked.head(2).itertuples()), list(ranked.tail(2).itertuples())[::-1]
        bullets.append(
            f"Agreement{where} is highest with {fmt.listed(shown(r) for r in top)}, and lowest with "
            f"{fmt.listed(shown(r) for r in bottom)} ({fmt.level(data.fw)} intervals; the share agreeing among those "
            "who answered each statement)."
        )
    names = {k: v.lower() for k, v in _ideal_names(data).items()}
    reach = fmt.listed(f"{names[r.ideal]} {r.outcomes_in_map}" for r in result.ideals.itertuples() if r.outcomes_in_map)
    bullets.append(
        f"The project's ripple map plans evidence for {len(result.outcomes)} outcomes (by co-operative ideal: "
        f"{reach}); the ripple section shows what is planned for each."
    )
    bullets.append(
        "What this cannot show: a baseline shows where things start, not any effect of the project; "
        "the table below gives the key local indicators' starting values."
    )
    return bullets


def _key_indicators(data: ProjectData) -> list[str]:
    """The project's key local indicators: its map's medium-term (tier 2) ones, else all of its map's."""
    ids = list(data.project.indicator_ids)
    key = [i for i in ids if data.fw.indicator_map[i].tier == 2]
    return key or ids


def _starting_values(data: ProjectData, neighbourhood: str) -> pd.DataFrame:
    """Each indicator's latest figure on or before the baseline month in this neighbourhood (indicator-indexed:
    baseline_value, baseline_period), from the series "Local indicators" charts."""
    ev = _as_at(data, data.fw.settings.baseline)
    series = indicators.indicator_series(ev)
    end = (ev.calendar.baseline + 1).start_time
    mine = series[(series["neighbourhood"] == neighbourhood) & (series["period"] < end)].sort_values("period")
    last = mine.groupby("indicator").tail(1).set_index("indicator")
    return last.rename(columns={"value": "baseline_value", "period": "baseline_period"})


def _key_table(data: ProjectData, sel: Selection, result: ripples.RippleResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(display, tidy) of the key indicators: this area's value at the baseline (and at the wave, with the way it
    moved), and the pilot areas against the comparison areas in words (better / worse / no clear change)."""
    fw, ids, design = data.fw, _key_indicators(data), result.design_mode
    if not sel.neighbourhood:
        here = pd.DataFrame()
    elif design:
        here = _starting_values(data, sel.neighbourhood)
    else:
        changes = _changes(data, sel.wave)
        here = changes[changes["neighbourhood"] == sel.neighbourhood].set_index("indicator")
    verdicts = pd.DataFrame() if design else _indicator_verdicts(result)
    wave = fmt.wave_label(fw, sel.wave)
    compared = "Pilot areas against comparison areas" if data.has_comparison else "Pilot areas"
    shown, tidy = [], []
    for i in ids:
        meta = fw.indicator_map[i]
        h = here.loc[i] if i in here.index else None
        v = verdicts.loc[i] if i in verdicts.index else None

        def value(column: str, period: str, h=h, meta=meta) -> str:
            if h is None or pd.isna(h[column]):
                return "no data"
            return f"{indicators.format_value(h[column], meta.unit)} ({fmt.month_year(h[period])})"

        row = {
            "Indicator": meta.label,
            "Better when": meta.better,
            "Baseline here": value("baseline_value", "baseline_period"),
        }
        numbers = {"indicator": i, "label": meta.label, "better": meta.better}
        numbers["baseline_value"] = None if h is None else h["baseline_value"]
        if not design:
            row[f"{wave} here"] = value("value", "period")
            row["Moved here"] = "no data" if h is None else h["better_way"]
            row[compared] = (
                "no data" if v is None or pd.isna(v["p_value"]) else fmt.change_words(v["effect"], v["clear"])
            )
            numbers |= {
                "value": None if h is None else h["value"],
                "moved_here": row["Moved here"],
                "scale": indicators.scale_of(meta.unit),
                "net_change_better": None if v is None else v["effect"],
                "p_value": None if v is None else v["p_value"],
                "clear": None if v is None else bool(v["clear"]),
                "verdict": row[compared],
            }
        shown.append(row)
        tidy.append(numbers)
    display = pd.DataFrame(shown)
    if not sel.neighbourhood:
        display = display.drop(columns=[c for c in display.columns if c.endswith("here")])
    return display, pd.DataFrame(tidy)


@section("In brief")
def in_brief(data: ProjectData, sel: Selection) -> Section:
    """Page one's findings for this neighbourhood at this wave, as bullets, most important first: its own clear
    changes since the baseline, the project's test against the comparison areas (or the before-and-after caveat),
    the local indicators, the ripple in words and what the evidence cannot show; at the baseline, the starting
    point. Then a small table of the key local indicators in words."""
    result, missing = _ripple_at(data, sel, "The ripple")
    if missing:
        return missing
    s = Section()
    if result.design_mode:
        s.bullets(_baseline_bullets(data, sel, result), "findings")
    else:
        n = len(_project_rows(data, sel, result))
        found = [
            _too_few_bullet(data, sel),
            _area_bullet(data, sel) if sel.neighbourhood else None,
            _project_bullet(data, sel, result),
            _indicator_bullet(data, sel, result),
            _ripple_bullet(data, result),
            _limits_bullet(data, n),
        ]
        s.bullets([b for b in found if b], "findings")
    if data.project.indicator_ids and data.evidence.calendar.baseline is not None and sel.wave:
        display, tidy = _key_table(data, sel, result)
        where = data.name_of(sel.neighbourhood) if sel.neighbourhood else data.project.name
        caption = (
            f"Key local indicators, {where}: starting values"
            if result.design_mode
            else f"Key local indicators, {where}: better, worse or no clear change since the baseline"
        )
        s.table("key-indicators", display, caption, tidy=tidy)
    return s


# --- the ripple -------------------------------------------------------------------------------------


def _chart_alt(result: ripples.RippleResult, name: str) -> str:
    parts = []
    for r in result.ideals.itertuples():
        if result.design_mode:
            parts.append(f"{r.label}: {r.outcomes_in_map} outcomes and {r.lines_planned} evidence lines planned")
        elif pd.isna(r.strength):
            parts.append(f"{r.label}: no evidence yet")
        else:
            parts.append(
                f"{r.label}: strength {_signed(r.strength)} ({r.strength_words}), certainty {r.certainty_words}"
            )
    mode = "planned reach (design mode, before any change is measured)" if result.design_mode else "evidence so far"
    return f"Ripple chart for {name}, {mode}. " + "; ".join(parts) + "."


def _ideals_table(result: ripples.RippleResult) -> pd.DataFrame:
    ideals = result.ideals
    return pd.DataFrame(
        {
            "Ideal": ideals["label"],
            "Outcomes in the map": ideals["outcomes_in_map"],
            "With evidence": ideals["outcomes_with_evidence"],
            "Strength (-1 to +1)": [
                "" if pd.isna(v) else f"{_signed(v)} ({w})"
                for v, w in zip(ideals["strength"], ideals["strength_words"], strict=True)
            ],
            "Certainty (0 to 1)": [
                "" if pd.isna(v) or result.design_mode else f"{v:.2f} ({w})"
                for v, w in zip(ideals["certainty"], ideals["certainty_words"], strict=True)
            ],
        }
    )


def _item_words(data: ProjectData, row) -> str:
    """One survey statement, indicator or change in tone of a line, as the ripple's tables word it: its name, its
    change and whether it is clear by the rule. An indicator's change is the difference the "Local indicators"
    table shows, on the indicator's own scale (points for a percentage, the rate's units, a count's % changes
    compared in points), with what its test shows."""
    clear = " (clear)" if row.clear else ""
    if row.line == "survey":
        name = data.fw.instrument.statement(row.item).short
        return f"{name} {fmt.points_text(row.effect)}{clear}" if pd.notna(row.effect) else f"{name}: not available"
    if row.line == "sentiment":
        return f"net tone {fmt.points_text(row.effect)}{clear}, {int(row.n)} pilot comments"
    name = data.fw.indicator_map[row.item].label
    if pd.isna(row.effect):
        return f"{name}: no data"
    difference = _difference_text(_tests(data, row.wave).loc[row.item], name)
    return f"{name} {difference} ({ripples.item_verdict(row.effect, row.p_value, row.clear)})"


def _line_words(data: ProjectData, result: ripples.RippleResult, row) -> str:
    """What one evidence line of an outcome shows, in words (statements and indicators by name, never by id)."""
    if result.design_mode:
        return "planned"
    if row.line in ("survey", "indicators") and not row.has_data:
        return "no figures yet (too few answers, or not collected)"
    if row.line in ("survey", "indicators", "sentiment") and row.has_data:
        items = result.items
        mine = items[(items["outcome"] == row.outcome) & (items["line"] == row.line)]
        return "; ".join(_item_words(data, r) for r in mine.itertuples())
    return row.detail


def _outcomes_table(data: ProjectData, result: ripples.RippleResult) -> pd.DataFrame:
    o, lines = result.outcomes, result.lines
    evidence = [
        " | ".join(
            f"{ripples.LINE_NAMES.get(r.line, 'Other')}: {_line_words(data, result, r)}"
            for r in lines[lines["outcome"] == outcome].itertuples()
        )
        for outcome in o["outcome"]
    ]
    return pd.DataFrame(
        {
            "Ideal": o["ideal"].map(_ideal_names(data)),
            "Outcome": o["label"],
            **{ripples.LINE_NAMES[k]: o[k] for k in ripples.LINES},
            "Strength": [
                "" if pd.isna(v) else f"{_signed(v)} ({w})"
                for v, w in zip(o["strength"], o["strength_words"], strict=True)
            ],
            "Certainty": [
                "" if result.design_mode else f"{v:.2f} ({w})"
                for v, w in zip(o["certainty"], o["certainty_words"], strict=True)
            ],
            "Evidence": evidence,
        }
    )


def rule_words(data: ProjectData) -> str:
    """How the roll-up works, in plain words written from the rule (``ripple.yaml``): what counts as clear, the
    weights, certainty, disagreement and the words that need the survey to agree."""
    rule, level = data.fw.ripple_rule, fmt.level(data.fw)
    w, d = rule.weight, rule.disagreement
    clear = (
        f"a statement or indicator counts as clearly changed when its own {level} test says so (for a statement: its "
        "interval excludes no change), the same verdict the survey tables show"
        if rule.clear.method == "each"
        else "a statement or indicator counts as clearly changed only when it stays clear after allowing for the "
        "number of statements (indicators) its outcome has, a stricter test than the survey tables' own"
    )
    less = (
        ""
        if d.subtract == 0
        else " less the weight of those pointing clearly the other way"
        if d.subtract == 1
        else f" less {d.subtract:g} times the weight of those pointing clearly the other way"
    )
    pre = rule.pre_trends
    drifting = (
        f" A line of local indicators counts {'half' if pre.diverging == 0.5 else f'{pre.diverging:g} times'} its "
        "weight towards certainty when its clear result rests only on indicators whose pilot and comparison areas "
        "moved differently before the project (the annex's \u201cTrends before the project\u201d says where)."
        if pre is not None and pre.diverging != 1
        else ""
    )
    needs = fmt.listed(f"\u201c{x}\u201d" for x in rule.survey_must_agree)
    strong = (
        f" The words {needs} also need the survey: where there are "
        "survey figures and none moved that way, the next words towards the middle are used."
        if rule.survey_must_agree
        else ""
    )
    return (
        "How the roll-up works: each evidence line of an outcome scores +1 (clearly better), 0 (no clear change, or "
        f"clear changes both ways) or -1 (clearly worse); {clear}. Survey: the pilot areas' change against the "
        "comparison areas' in the share agreeing; local indicators: improvement beyond the indicator's usual ups "
        "and downs; stories: +1 when a story shared with consent is linked; sentiment: a clear change in tone. "
        f"Strength is the weighted mean of the scores (survey {w('survey-did'):g}, or {w('survey-before-after'):g} "
        f"without comparison areas; indicators {w('indicators'):g}; stories {w('stories'):g}; sentiment "
        f"{w('sentiment'):g}); certainty is the weight of the lines that clearly point the same way{less}, over the "
        f"weight of all the planned lines.{drifting} When lines point clearly both ways the strength is called "
        f"\u201c{d.words}\u201d.{strong} An ideal takes the mean over its outcomes, and is {d.words} when they "
        "disagree."
    )


def _ripple_note(data: ProjectData, result: ripples.RippleResult) -> str:
    if result.design_mode:
        return (
            "Design mode: this is the baseline, so nothing has changed yet to measure. The chart shows the planned "
            "reach: how much evidence the ripple map plans for each ideal. Gaps (outcomes with no measurable "
            "line) show where to plan more evidence before launch."
        )
    note = rule_words(data) + " The workbook's guide to the ripple sets out the full rule."
    expected, found = data.project.expected_strongest, result.strongest
    if expected and found:
        names = _ideal_names(data)
        words = result.ideals.set_index("ideal").loc[found, "strength_words"]
        mixed = data.fw.ripple_rule.disagreement.words
        note += (
            f" The framework expected the ripple to be strongest on {names[expected].lower()}; the evidence so far is "
            f"strongest on {names[found].lower()}" + (f", though it is {mixed} there too." if words == mixed else ".")
        )
    return note


@section("The ripple", same_for="wave", annex_tables=True)
def ripple(data: ProjectData, sel: Selection) -> Section:
    """The ripple chart, the strength and certainty per ideal, and the evidence per outcome (design mode at
    the baseline or with no wave: the planned reach)."""
    result, missing = _ripple_at(data, sel, "The ripple")
    if missing:
        return missing
    name = data.project.name
    design = result.design_mode
    title = (
        f"{name}: planned ripple (design)" if design else f"{name}: the ripple at {fmt.wave_label(data.fw, sel.wave)}"
    )
    s = Section().chart(charts.ripple_chart(result.ideals, title=title, design=design), _chart_alt(result, name))
    s.table(
        "ripple-ideals",
        _ideals_table(result),
        "Strength and certainty per co-operative ideal (all the project's areas)",
        tidy=result.ideals.round({"strength": 3, "certainty": 3}),
    )
    s.table(
        "ripple-outcomes",
        _outcomes_table(data, result),
        "Evidence per outcome: +1 clear improvement, 0 no clear change, -1 clear worsening",
        tidy=result.outcomes.round({"strength": 3, "certainty": 3}),
    )
    return s.method(_ripple_note(data, result))


# --- the ripple explorer: planned reach, the expected ripple ----------------------------------------


@section("Planned reach: which outcomes of each ideal the project aims to move", same_for="project")
def planned_reach(data: ProjectData, sel: Selection) -> Section:
    """Design mode, from the map alone: per ideal, the outcomes in the map and the evidence planned for them."""
    reach = ripples.planned_reach(data.fw, data.project.id, has_comparison=data.has_comparison)
    name = data.project.name
    alt = "; ".join(f"{r.label}: {r.outcomes_in_map} of {r.outcomes} outcomes" for r in reach.itertuples())
    shown = pd.DataFrame(
        {
            "Ideal": reach["label"],
            "Outcomes in the ripple map": [f"{r.outcomes_in_map} of {r.outcomes}" for r in reach.itertuples()],
            "Your Voice statements": reach["survey_statements"],
            "Local indicators": reach["indicators"],
            "Outcomes with stories": reach["stories"],
            "Outcomes with sentiment": reach["sentiment"],
            "Other evidence": reach["other"],
        }
    )
    return (
        Section()
        .chart(charts.planned_reach_chart(reach, title=f"{name}: planned reach per ideal"), "Planned reach. " + alt)
        .table("reach", shown, f"{name}: planned reach per ideal", tidy=reach)
    )


@section("The ripple the project expects", same_for="project")
def expected_ripple(data: ProjectData, sel: Selection) -> Section:
    """The ripple the project's map says it expects, per ideal (``ripple_summary``)."""
    s = Section()
    if not data.project.ripple_summary:
        return s.message("The project's ripple map does not say which ripple it expects.")
    names = _ideal_names(data)
    for ideal, hopes in data.project.ripple_summary.items():
        s.text(f"{names[ideal]}: {'; '.join(hopes)}")
    return s


# --- the ripple explorer: an ideal's outcomes and the survey evidence per ideal ---------------------


def _clear_sentence(data: ProjectData) -> str:
    """When a statement's change is called clear, by the rule (one sentence)."""
    if data.fw.ripple_rule.clear.method == "each":
        return (
            f"a change is clear when its {fmt.level(data.fw)} interval excludes no change, as in the survey tables "
            "and the ripple."
        )
    return (
        "a change is clear when it stays clear after allowing for the number of statements its outcome has, as the "
        "ripple counts it (a stricter test than the survey tables' own)."
    )


def _verdict(effect: float, clear: bool) -> str:
    """What a statement's change shows by the ripple's rule (every Your Voice statement is worded so that agreeing
    is better): the one verdict every section and sentence uses."""
    if pd.isna(effect):
        return "not available"
    if clear:
        return "clear improvement" if effect > 0 else "clear decline"
    return "no clear change"


def _survey_items(data: ProjectData, result: ripples.RippleResult, outcomes: list[str]) -> pd.DataFrame:
    """The survey statements of ``outcomes`` at the wave, in the map's order, with a label and a verdict."""
    items = result.items
    rows = items[(items["line"] == "survey") & items["outcome"].isin(outcomes)].copy()
    rows["outcome_label"] = rows["outcome"].map(lambda o: data.fw.outcomes[o].label)
    rows["label"] = [
        f"{o}: {fmt.statement_label(data.fw, s)}" for o, s in zip(rows["outcome_label"], rows["item"], strict=True)
    ]
    rows["verdict"] = [_verdict(e, c) for e, c in zip(rows["effect"], rows["clear"], strict=True)]
    return rows.rename(columns={"item": "measure", "effect": "did"})


def _chosen_ideals(data: ProjectData, sel: Selection) -> list[Ideal]:
    if sel.outcome:
        return [data.fw.ideal_of(sel.outcome)]
    return [i for i in data.fw.ideals if sel.ideal in (None, i.id)]


def _survey_evidence(data: ProjectData, sel: Selection, rows: pd.DataFrame, what: str) -> Section:
    """Chart and table of the statements' difference-in-differences (the table's key is "ideal")."""
    s = Section()
    if rows.empty:
        return s
    head = "Pilot change (before and after only)" if data.before_and_after() else "Difference-in-differences"
    bars = rows.rename(columns={"did": "difference"})
    if bars["difference"].notna().any():
        fig = charts.difference_bars(bars, title=what, xlabel=f"{head.lower()} in % agree (percentage points)")
        alt = "; ".join(
            f"{r.label}: " + (fmt.maybe(r.difference, fmt.points_text) or "not available") for r in bars.itertuples()
        )
        s.chart(fig, f"{what}, {head.lower()} by outcome and statement. " + alt)
    blank = rows["did"].isna()
    shown = pd.DataFrame(
        {
            "Outcome": rows["outcome_label"],
            "Statement": [fmt.statement_label(data.fw, m) for m in rows["measure"]],
            head: ["" if b else fmt.points_text(d) for b, d in zip(blank, rows["did"], strict=True)],
            "Interval": fmt.points_intervals(rows, blank),
            "What it shows": rows["verdict"],
        }
    )
    tidy = rows[
        [
            "outcome",
            "outcome_label",
            "measure",
            "did",
            "ci_low",
            "ci_high",
            "p_value",
            "significant",
            "clear",
            "verdict",
        ]
    ]
    s.table(
        "ideal", shown, f"{what}: survey evidence per outcome", tidy=tidy.rename(columns={"clear": "clear_in_ripple"})
    )
    s.note(f"'What it shows': {_clear_sentence(data)}")
    return s.note(estimates.BEFORE_AFTER_NOTE if data.before_and_after() else estimates.PARALLEL_TRENDS_NOTE)


def _plans(data: ProjectData, line) -> list[tuple[str, str]]:
    """(evidence line, what the map plans for it) for one outcome of the map, in the lines' order."""
    fw = data.fw
    indicators = "; ".join(fw.indicator_map[i].label for i in line.indicators) or line.indicators_text
    return [
        (kind, plan)
        for kind, plan in (
            ("survey", "; ".join(fmt.statement_label(fw, s) for s in line.survey)),
            ("indicators", indicators),
            ("stories", line.stories),
            ("sentiment", line.sentiment),
            ("other", line.other),
        )
        if plan
    ]


def _line_result(data: ProjectData, result: ripples.RippleResult, row) -> tuple[str, str]:
    """(result, detail) of one evidence line as the table shows them."""
    if row is None or not row.measurable:
        return "not measured in the workbook", ""
    if result.design_mode:
        return "planned", ""
    if not row.has_data:
        return "no data yet", _line_words(data, result, row) if row.line in ("survey", "indicators") else row.detail
    return (f"{int(row.score):+d}" if row.score else "0"), _line_words(data, result, row)


def _outcome_lines(data: ProjectData, result: ripples.RippleResult, ideals: list[Ideal], only: str | None):
    """(display, tidy) of the ideals' outcomes x evidence lines; an outcome not in the map is one row."""
    in_map = {ln.outcome: ln for ln in data.project.ripple}
    lines = {(r.outcome, r.line): r for r in result.lines.itertuples()}
    shown, tidy = [], []
    for outcome in (o for ideal in ideals for o in ideal.outcomes if only in (None, o.id)):
        if outcome.id not in in_map:
            shown.append((outcome.label, "", "", NOT_IN_MAP, ""))
            continue
        for kind, plan in _plans(data, in_map[outcome.id]):
            row = lines.get((outcome.id, kind))
            words, detail = _line_result(data, result, row)
            shown.append((outcome.label, ripples.LINE_NAMES.get(kind, "Other"), plan, words, detail))
            clear = "; ".join(row.clear_items) if row is not None else ""
            tidy.append((outcome.id, outcome.label, kind, plan, words, clear, detail))
    display = pd.DataFrame(shown, columns=["Outcome", "Evidence", "What the map plans", "Result", "Detail"])
    columns = ["outcome", "outcome_label", "line", "planned", "result", "clear_items", "detail"]
    return display, pd.DataFrame(tidy, columns=columns)


@section("Outcomes and their evidence", same_for="wave")
def ideal_outcomes(data: ProjectData, sel: Selection) -> Section:
    """The chosen ideal's outcomes (``sel.ideal``; only ``sel.outcome`` when set; every ideal when neither):
    whether the map has them, their survey statements' difference-in-differences at the wave, and each
    evidence line with what the map plans and what it shows so far."""
    result, missing = _ripple_at(data, sel, "The evidence")
    if missing:
        return missing
    ideals = _chosen_ideals(data, sel)
    one = len(ideals) == 1
    what = ideals[0].name if one else data.project.name
    s = Section(title=f"{what}: outcomes and their evidence")
    if one:
        s.text(ideals[0].lead)
    outcomes = [o for i in ideals for o in i.outcomes if sel.outcome in (None, o.id)]
    in_map = set(data.project.outcome_ids)
    for o in outcomes:
        s.text(
            f"{o.label}: {fmt.outcome_wording(data.fw, o.id)}"
            + ("" if o.id in in_map else f" ({NOT_IN_MAP.rstrip('.').lower()})")
        )
    if not result.design_mode:
        s.extend(_survey_evidence(data, sel, _survey_items(data, result, [o.id for o in outcomes]), what))
    display, tidy = _outcome_lines(data, result, ideals, sel.outcome)
    caption = f"{what}: the evidence lines of each outcome" + (
        " as planned (design mode)" if result.design_mode else ""
    )
    return s.table("outcome-lines", display, caption, tidy=tidy)


@section("Survey evidence per ideal", same_for="wave")
def survey_by_ideal(data: ProjectData, sel: Selection) -> Section:
    """Per ideal, the map's survey statements by what their difference-in-differences shows at the wave."""
    result, missing = _ripple_at(data, sel, "Survey evidence")
    if missing:
        return missing
    if result.design_mode:
        return Section().message("Design mode: nothing has been measured yet.")
    wave_label = fmt.wave_label(data.fw, sel.wave)
    rows = _survey_items(data, result, list(data.project.outcome_ids))
    counts = []
    for ideal in data.fw.ideals:
        mine = rows[rows["ideal"] == ideal.id]
        verdicts = mine.drop_duplicates("measure")["verdict"].value_counts()
        kinds = ("clear improvement", "no clear change", "clear decline", "not available")
        counts.append((ideal.name, mine["measure"].nunique(), *(int(verdicts.get(k, 0)) for k in kinds)))
    columns = ["Ideal", "Statements", "Clear improvement", "No clear change", "Clear decline", "Not available"]
    table = pd.DataFrame(counts, columns=columns)
    return (
        Section()
        .table(
            "evidence",
            table,
            f"Your Voice statements per ideal by what the difference-in-differences shows at {wave_label}",
        )
        .note(
            "A statement counts once per ideal. The difference-in-differences is the pilot areas' change minus the "
            f"comparison areas' change; {_clear_sentence(data)}"
        )
    )

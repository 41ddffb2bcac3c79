"""Fieldwork as a fieldwork lead reads it: returns against the targets, who is missing, what the weighting costs.

The sections of the fieldwork dashboard (:class:`helpers.surfaces.dashboards.FieldworkDashboard`), made from the
tidy table :func:`helpers.surfaces.fieldwork.fieldwork` computes (its ``part`` column: returns, margins,
weighting), narrowed to a neighbourhood or not. Nothing is computed here but display: counts, shares and the
smallest detectable changes come in the table; this module words them, draws the progress chart and applies the
reports' disclosure rule to who answered (:func:`protected_margins`: a small count, and one held back beside it,
read "not shown", on the page and in the downloads). The returns by mode follow the same rule, each
neighbourhood's modes a line with its total published (:func:`protected_returns`), as the reports' "how the
questionnaires came back" does: what a report hides, the dashboard never shows (the command line, an analyst's
tool, prints them whole).

Plain words: the design effect is called the *weighting effect* and explained where it is shown ("as precise
as about 144 answers from a simple random sample").
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..config.framework import Framework
from ..methods import disclosure
from . import formatting as fmt
from .charts import GREY, MIN_FONT, PALETTE, TITLE_SIZE, WIDTH, fit, styled
from .model import Section

ALL = "all"  # the table's neighbourhood for the project's design (every neighbourhood together)
NOT_RECORDED = "not recorded"
NOT_SHOWN = "not shown"  # the returns by modes hidden together (small, or held back beside a small one)
HATCHES = ("", "//", "..", "xx")  # each mode's bar differs in pattern as well as colour
GROUP_NOUNS = {"Male": "men", "Female": "women"}
DESIGN_WORDS = {"did": "pilot areas against comparison areas", "before-after": "the pilot areas, before and after"}


def _hood(row) -> str:
    return f"{row['name']} ({row['role']})"


def mode_labels(fw: Framework) -> dict[str, str]:
    """Each mode's code -> its label ('post' -> 'By post'), and the returns whose mode was not recorded."""
    return {str(m.code): m.label for m in fw.instrument.modes} | {NOT_RECORDED: "Not recorded"}


def _times_in_ten(power: float) -> str:
    return f"{round(10 * power)} times in 10"


def _of_target(n: int, target) -> str:
    return f"{n:,} of {int(target):,} ({n / target:.0%})" if pd.notna(target) and target else f"{n:,}"


# --- the progress chart ----------------------------------------------------------------------------


def _mode_style(modes: dict[str, str], mode: str) -> dict:
    """A mode's colour and pattern, by its place in the framework's list (the same mode looks the same in every
    view); returns whose mode was not recorded are grey."""
    k = list(modes).index(mode)
    colour = GREY if mode == NOT_RECORDED else PALETTE[k % len(PALETTE)]
    return {"facecolor": colour, "hatch": HATCHES[k % len(HATCHES)], "edgecolor": "white"}


HIDDEN_STYLE = {"facecolor": "#d9d9d9", "hatch": "xx", "edgecolor": "#595959", "lw": 0.5}


def protected_returns(returns: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """The returns with ``hidden`` on each neighbourhood's mode counts that may not be shown: each neighbourhood's
    modes are a line whose total (back so far) is published, so a small count is hidden with one beside it
    (:func:`helpers.methods.disclosure.protect_frame`); the totals' rows are never hidden."""
    parts = returns[returns["mode"] != ALL]
    if parts.empty:
        return returns.assign(hidden=False)
    protected = disclosure.protect_frame(parts, "responses", [["neighbourhood"]], minimum)
    return returns.assign(hidden=protected["hidden"].reindex(returns.index, fill_value=False).astype(bool))


@styled
def progress_chart(returns: pd.DataFrame, modes: dict[str, str], title: str):
    """Questionnaires back per neighbourhood: one bar each, split by mode (colour and pattern), with a black mark
    at the target and 'n of target (%)' at the end of the bar. ``returns``: the table's returns rows."""
    totals = returns[returns["mode"] == ALL].reset_index(drop=True)
    parts = returns[returns["mode"] != ALL]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.5 * len(totals) + 1.5), layout="constrained")
    top = max(totals["responses"].max(), totals["target"].fillna(0).max(), 1)
    hidden = parts["hidden"] if "hidden" in parts else pd.Series(False, index=parts.index)
    visible = parts[~hidden]
    shown_modes = [
        m for m in modes if (visible["mode"] == m).any() and visible.loc[visible["mode"] == m, "responses"].sum()
    ]
    held_back = parts[hidden].groupby("neighbourhood")["responses"].sum()
    for y, total in totals.iterrows():
        left = 0
        mine = visible[visible["neighbourhood"] == total["neighbourhood"]].set_index("mode")["responses"]
        for mode in shown_modes:
            n = int(mine.get(mode, 0))
            ax.barh(y, n, left=left, height=0.55, **_mode_style(modes, mode))
            left += n
        if held_back.get(total["neighbourhood"], 0):
            ax.barh(y, held_back[total["neighbourhood"]], left=left, height=0.55, **HIDDEN_STYLE)
            left += held_back[total["neighbourhood"]]
        if pd.notna(total["target"]):
            ax.plot([total["target"]] * 2, [y - 0.42, y + 0.42], color="black", lw=2.2, solid_capstyle="butt")
        ax.text(
            max(left, total["target"] if pd.notna(total["target"]) else 0) + top * 0.015,
            y,
            _of_target(int(total["responses"]), total["target"]),
            va="center",
            fontsize=MIN_FONT,
        )
    ax.set_yticks(range(len(totals)), [_hood(r) for _, r in totals.iterrows()], fontsize=MIN_FONT)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.3)
    ax.set_xlabel("Questionnaires back")
    ax.grid(axis="y", visible=False)
    ax.set_title(fit(title, WIDTH * 0.9), loc="left", fontsize=TITLE_SIZE)
    handles = [plt.Rectangle((0, 0), 1, 1, **_mode_style(modes, m)) for m in shown_modes]
    names = [modes[m] for m in shown_modes]
    if held_back.sum():
        handles.append(plt.Rectangle((0, 0), 1, 1, **HIDDEN_STYLE))
        names.append("Not shown by route (too few)")
    handles.append(plt.Line2D([], [], color="black", lw=2.2, marker="|", markersize=10, ls="none"))
    names.append("Target")
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=MIN_FONT, frameon=False)
    return fig


# --- the sections ----------------------------------------------------------------------------------


def fieldwork_sections(
    fw: Framework,
    table: pd.DataFrame,
    *,
    project_name: str,
    wave: str,
    assumed,
    neighbourhood: str | None,
    margins: tuple[str, ...] | None = None,
) -> list[Section]:
    """What the fieldwork dashboard shows for a project, a wave and a neighbourhood (``None``: all of them).

    ``table``: the fieldwork table (narrowed to the neighbourhood, or whole); ``assumed``: what its targets and
    detectable changes assume (:class:`helpers.surfaces.fieldwork.Assumed`: design, baseline_share, change,
    confidence, power, design_effect, target); ``margins``: the reader's words for what the project's answers are
    weighted to ('age group', 'gender', 'ethnic group'; default: the margins every project shares)."""
    minimum = fw.settings.thresholds.minimum_base
    if margins is None:
        margins = tuple(d.label for d in fw.settings.weighting.margins())
    parts = {name: table[table["part"] == name].reset_index(drop=True) for name in ("returns", "margins", "weighting")}
    if parts["weighting"].empty:
        return [Section(title=project_name).message(f"No neighbourhoods are mapped to {project_name} yet.")]
    return [
        returns_section(fw, parts["returns"], project_name, wave, assumed),
        missing_section(parts["margins"], parts["returns"], minimum),
        weighting_section(
            parts["weighting"], parts["returns"], wave == fw.settings.baseline, assumed, neighbourhood, margins
        ),
    ]


def returns_section(fw: Framework, returns: pd.DataFrame, project_name: str, wave: str, assumed) -> Section:
    """The lead (back so far against the targets), the progress chart, the returns by mode and the targets' note."""
    modes = mode_labels(fw)
    totals = returns[returns["mode"] == ALL]
    n, goal = int(totals["responses"].sum()), totals["target"].sum(min_count=1)
    still = int(totals["still_needed"].sum()) if totals["still_needed"].notna().any() else None
    where = f"{project_name}, {fmt.wave_label(fw, wave)}"
    if len(totals) == 1:
        where = f"{_hood(totals.iloc[0])}, {fmt.wave_label(fw, wave)}"
    lead = f"{where}: {n:,} questionnaires back" + (
        f" of {int(goal):,} needed ({n / goal:.0%})" if pd.notna(goal) and goal else ""
    )
    lead += "." if still is None else (f"; {still:,} still needed." if still else "; every target reached.")
    s = Section(title="Questionnaires back so far").text(lead, "lead")
    title = f"Questionnaires back against the target, {fmt.wave_label(fw, wave)}"
    returns = protected_returns(returns, fw.settings.thresholds.minimum_base)
    alt = "; ".join(_returns_alt(total, returns, modes) for _, total in totals.iterrows())
    s.chart(progress_chart(returns, modes, title), f"{title}. {alt}.")
    tidy = returns.assign(responses=returns["responses"].where(~returns["hidden"])).drop(columns="hidden")
    s.table("returns", _returns_display(returns, modes), f"Questionnaires back by how they came back, {where}", tidy)
    if returns["hidden"].any():
        s.note(
            f"A route that brought back fewer than {fw.settings.thresholds.minimum_base} questionnaires in a "
            "neighbourhood is not shown, nor one beside it, so that it cannot be worked out from the total."
        )
    return s.note(_targets_note(assumed))


def _returns_alt(total, returns: pd.DataFrame, modes: dict[str, str]) -> str:
    mine = returns[(returns["neighbourhood"] == total["neighbourhood"]) & (returns["mode"] != ALL)]
    by_mode = ", ".join(
        f"{modes.get(r['mode'], r['mode']).lower()} " + (NOT_SHOWN if r.get("hidden") else f"{int(r['responses'])}")
        for _, r in mine.iterrows()
    )
    target = f" of a target of {int(total['target']):,}" if pd.notna(total["target"]) else ""
    return f"{_hood(total)}: {int(total['responses']):,}{target} ({by_mode})"


def _returns_display(returns: pd.DataFrame, modes: dict[str, str]) -> pd.DataFrame:
    """One row per neighbourhood: back by each mode, in all, the target, % of it and how many are still needed."""
    rows = []
    shown = [m for m in modes if m != NOT_RECORDED or (returns["mode"] == NOT_RECORDED).any()]
    for _, total in returns[returns["mode"] == ALL].iterrows():
        mine = returns[returns["neighbourhood"] == total["neighbourhood"]].set_index("mode")
        hidden = mine["hidden"] if "hidden" in mine else pd.Series(False, index=mine.index)
        row = {"Neighbourhood": _hood(total)}
        row |= {modes[m]: NOT_SHOWN if hidden.get(m, False) else f"{int(mine['responses'].get(m, 0)):,}" for m in shown}
        row["Back so far"] = f"{int(total['responses']):,}"
        known = pd.notna(total["target"])
        row["Target"] = f"{int(total['target']):,}" if known else ""
        row["% of target"] = f"{total['percent_of_target']:.0f}%" if known else ""
        row["Still needed"] = f"{int(total['still_needed']):,}" if known else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _targets_note(assumed) -> str:
    if assumed.target is not None:
        return f"The target is {assumed.target:,} questionnaires in each neighbourhood at each wave."
    weighting = (
        "before allowing for weighting"
        if assumed.design_effect == 1
        else "allowing for the weighting of the latest wave"
        if assumed.design_effect is None
        else f"allowing for a weighting effect of {assumed.design_effect:.2f}"
    )
    after = assumed.baseline_share + assumed.change
    return (
        f"The targets: the questionnaires each wave needs to find a change of {fmt.point_count(assumed.change)} in "
        f"the share agreeing with a statement (from {fmt.percent(assumed.baseline_share)} to {fmt.percent(after)}), "
        f"{DESIGN_WORDS[assumed.design]}, {_times_in_ten(assumed.power)} at {assumed.confidence:.0%} confidence, "
        f"{weighting}; shared out in proportion to each neighbourhood's adults."
    )


# --- who is missing --------------------------------------------------------------------------------


def _under(flag) -> bool:
    """Whether a group is under-represented (the flag is None or blank for a group with no adults)."""
    return bool(pd.notna(flag) and flag)


def _group(row) -> str:
    if row["dimension"] == "age_band":
        return f"people aged {row['category']}"
    return GROUP_NOUNS.get(str(row["category"]), str(row["category"]).lower())


def protected_margins(margins: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """Who answered under the workbook's disclosure rule (:mod:`helpers.methods.disclosure`, as the reports' "Who
    answered"): each neighbourhood's age groups, and its genders, are a line whose total can be worked out from
    the shares; a count of 1 to ``minimum - 1`` is hidden with another beside it, and a hidden count's share
    (and how it compares with the adults) with it ("not shown"). A line whose total would give a hidden count
    away shows no share at all. Zeros are shown: that nobody in a group has answered is what fieldwork needs to
    know. Whether a group is under-represented stays: it says no more than that its count is low."""
    out = margins.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(note=pd.Series(dtype=object))
    protected = disclosure.protect_frame(out, "responses", [["neighbourhood", "dimension"]], minimum)
    hidden, withheld = protected["hidden"].to_numpy(), protected["total_withheld"].to_numpy()
    out["responses"] = out["responses"].astype("Int64").mask(hidden)
    out.loc[hidden | withheld, ["share_of_responses", "representation"]] = np.nan
    out["note"] = np.where(hidden, fmt.NOT_SHOWN, "")
    return out


def downloadable(table: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """The whole fieldwork table as a download gives it: who answered under the disclosure rule."""
    margins = (table["part"] == "margins").to_numpy()
    out = table.reset_index(drop=True).copy()
    shown = protected_margins(out[margins], minimum)
    for col in ("responses", "share_of_responses", "representation", "note"):
        out.loc[margins, col] = shown[col].to_numpy()
    return out


def _answers_words(r) -> str:
    """A group's answers in a sentence: '13% of answers', 'no answers yet', 'answers not shown'."""
    if pd.isna(r["responses"]):
        return f"answers {fmt.NOT_SHOWN}"
    if r["responses"] == 0:
        return "no answers yet"
    return (
        "share of answers not shown"
        if pd.isna(r["share_of_responses"])
        else f"{fmt.percent(r['share_of_responses'])} of answers"
    )


def _missing_words(hood_rows: pd.DataFrame, back: int) -> str:
    """One neighbourhood's under-represented groups in a sentence (``hood_rows``: its protected margins)."""
    first = hood_rows.iloc[0]
    if not back:
        return f"{_hood(first)}: nothing back yet."
    under = hood_rows[[_under(u) for u in hood_rows["under_represented"]]]
    if under.empty:
        return f"{_hood(first)}: every age group and gender is in line with the adults (within a fifth)."
    groups = (
        f"{_group(r)} ({_answers_words(r)}; {fmt.percent(r['share_of_adults'])} of adults)" for _, r in under.iterrows()
    )
    return f"{_hood(first)}: {fmt.listed(groups)}. Look for more of them."


def _groups_list(shown: pd.DataFrame) -> pd.DataFrame:
    """One neighbourhood's groups, a row each: answers, share of them, share of the adults, under-represented."""
    return pd.DataFrame(
        {
            "Group": [_group(r).capitalize() for _, r in shown.iterrows()],
            "Answers": [fmt.NOT_SHOWN if pd.isna(n) else f"{int(n):,}" for n in shown["responses"]],
            "Share of answers": [fmt.maybe(v, fmt.percent) for v in shown["share_of_responses"]],
            "Share of adults": [fmt.maybe(v, fmt.percent) for v in shown["share_of_adults"]],
            "Under-represented": ["yes: look for more" if _under(u) else "" for u in shown["under_represented"]],
        }
    )


def _groups_grid(shown: pd.DataFrame) -> pd.DataFrame:
    """Every neighbourhood in a row, a group in each column: '15% (31%)', marked where under-represented."""

    def cell(r) -> str:
        answers = fmt.NOT_SHOWN if pd.isna(r["share_of_responses"]) else fmt.percent(r["share_of_responses"])
        text = f"{answers} ({fmt.maybe(r['share_of_adults'], fmt.percent)})"
        return text + (": look for more" if _under(r["under_represented"]) else "")

    rows = []
    for _, mine in shown.groupby("neighbourhood", sort=False):
        row = {"Neighbourhood": _hood(mine.iloc[0])}
        row |= {_group(r).capitalize(): cell(r) for _, r in mine.iterrows()}
        rows.append(row)
    return pd.DataFrame(rows)


def missing_section(margins: pd.DataFrame, returns: pd.DataFrame, minimum: int) -> Section:
    """Who is missing: the under-represented groups in words, then every group's share against its adults."""
    s = Section(title="Who is missing")
    back = returns[returns["mode"] == ALL].set_index("neighbourhood")["responses"]
    shown = protected_margins(margins, minimum)
    s.bullets(
        [_missing_words(rows, int(back.get(hood, 0))) for hood, rows in shown.groupby("neighbourhood", sort=False)]
    )
    if shown["neighbourhood"].nunique() > 1:
        caption = "Share of the answers so far (share of the adults who live there), by age group and gender"
        s.table("groups", _groups_grid(shown), caption, shown)
    else:
        s.table("groups", _groups_list(shown), "Who answered against the adults who live there", shown)
    return s.note(
        "A group is under-represented when its share of the answers is less than four fifths of its share of the "
        "adults: the weighting then leans on fewer people to speak for it. Answers without an age or a gender are "
        f"left out of the shares. {fmt.not_shown_note(minimum)}"
    )


# --- the weighting and the smallest change ---------------------------------------------------------


def _precision_words(r) -> str:
    return (
        f"as precise as about {r['effective_n']:,.0f} answers from a simple random sample (a weighting effect of "
        f"{r['design_effect']:.2f}; 1 would mean nothing lost)"
    )


def _change_words(r, at_baseline: bool, assumed, what: str, target_words: str) -> str:
    """'With N at the baseline and M now, the smallest change ... is about X points ...; at ..., about Y.'"""
    if pd.isna(r["detectable_change"]):
        return ""
    had = (
        f"With {int(r['responses']):,} questionnaires now and as many at a later wave"
        if at_baseline
        else f"With {int(r['baseline_responses']):,} questionnaires at the baseline and {int(r['responses']):,} now"
    )
    out = (
        f"{had}, the smallest {what} that the survey could show is about {fmt.point_count(r['detectable_change'])} "
        f"in the share agreeing with a statement (shown as clear {_times_in_ten(assumed.power)})"
    )
    if pd.notna(r["detectable_at_target"]) and target_words:
        out += f"; {target_words}, about {fmt.point_count(r['detectable_at_target'])}"
    return out + ". Smaller real changes may show as no clear change."


def _one_neighbourhood_words(r, target, at_baseline: bool, assumed, margins: tuple[str, ...]) -> list[str]:
    name = r["name"]
    if not r["responses"]:
        return [f"Nothing back yet from {name}, so there is nothing to weight."]
    if pd.isna(r["design_effect"]):
        return [f"{name}'s answers cannot be weighted yet: {r['note']}. Until they can, no change can be shown there."]
    if pd.isna(target):
        goal = ""
    elif r["responses"] >= target:
        goal = "with the target reached"
    else:
        goal = f"once the target of {int(target):,} is reached"
    return [
        f"Weighting the {int(r['responses']):,} answers to match {name}'s adults by {fmt.listed(margins)} makes them "
        f"{_precision_words(r)}.",
        _change_words(r, at_baseline, assumed, f"change in {name} on its own", goal),
    ]


def _project_words(pooled, assumed, at_baseline: bool) -> list[str]:
    what = (
        "difference the project made (pilot areas against comparison areas)"
        if assumed.design == "did"
        else "change in the pilot areas together"
    )
    lines = []
    if pd.notna(pooled["design_effect"]):
        lines.append(
            f"Weighting the {int(pooled['responses']):,} answers so far makes them, on average, "
            f"{_precision_words(pooled)}."
        )
    words = _change_words(pooled, at_baseline, assumed, what, "once every neighbourhood reaches its target")
    if words:
        lines.append(words)
    later = pooled["detectable_at_target"]
    weighting_costs = pd.notna(later) and round(100 * later) > round(100 * assumed.change)
    if assumed.target is None and assumed.design_effect == 1 and weighting_costs:
        lines.append(
            f"The targets are set to find {fmt.point_count(assumed.change)} before weighting; the weighting's "
            f"loss of precision is why reaching them would show about {fmt.point_count(later)}."
        )
    return lines


def weighting_section(
    weighting: pd.DataFrame,
    returns: pd.DataFrame,
    at_baseline: bool,
    assumed,
    neighbourhood: str | None,
    margins: tuple[str, ...] = ("age group", "gender"),
) -> Section:
    """The weighting effect now and what it means for the smallest change the survey could show."""
    s = Section(title="The weighting now, and the smallest change the survey could show")
    hoods = weighting[weighting["neighbourhood"] != ALL]
    pooled = weighting[weighting["neighbourhood"] == ALL]
    targets = returns[returns["mode"] == ALL].set_index("neighbourhood")["target"].to_dict()
    if neighbourhood not in (None, ALL) and len(hoods) == 1:
        r = hoods.iloc[0]
        for line in _one_neighbourhood_words(r, targets.get(r["neighbourhood"]), at_baseline, assumed, margins):
            if line:
                s.text(line)
    elif not pooled.empty:
        for line in _project_words(pooled.iloc[0], assumed, at_baseline):
            s.text(line)
        unweighted = [
            f"{r['name']} ({r['note']})" for _, r in hoods.iterrows() if r["responses"] and pd.isna(r["design_effect"])
        ]
        if unweighted:
            s.text(f"Cannot be weighted yet: {'; '.join(unweighted)}.")
    s.table(
        "weighting",
        _weighting_display(weighting, assumed),
        "The weighting now and the smallest change it leaves",
        weighting,
    )
    return s.note(
        f"The weighting effect: weighting the answers to match the adults by {fmt.listed(margins)} makes some "
        "answers count for more than others, so the answers are as precise as fewer unweighted ones would be (the "
        "number of answers divided by the weighting effect). The smallest change is the change in the share agreeing "
        "with a "
        f"statement the survey would show as clear {_times_in_ten(assumed.power)} at {assumed.confidence:.0%} "
        "confidence, for a statement about half agree with, with the weighting as it is now."
    )


def _weighting_display(weighting: pd.DataFrame, assumed) -> pd.DataFrame:
    rows = []
    for _, r in weighting.iterrows():
        pooled = r["neighbourhood"] == ALL
        name = f"All neighbourhoods ({DESIGN_WORDS[assumed.design]})" if pooled else _hood(r)
        weighted = pd.notna(r["design_effect"])
        rows.append(
            {
                "Neighbourhood": name,
                "Back so far": f"{int(r['responses']):,}",
                "As precise as": f"{r['effective_n']:,.0f}" if weighted else "",
                "Weighting effect": f"{r['design_effect']:.2f}"
                if weighted
                else ("nothing back yet" if not r["responses"] else "not yet"),
                "Smallest change now": fmt.maybe(r["detectable_change"], fmt.point_count),
                "At the target": fmt.maybe(r["detectable_at_target"], fmt.point_count),
            }
        )
    return pd.DataFrame(rows)

"""Tidy tables of survey shares with a status per cell, and their display and download forms.

:func:`agree_rows` gives every neighbourhood x wave x statement asked for, with whether its figure can be shown;
the other functions turn such rows into what a reader sees (:func:`agree_shown`), what a download gives
(:func:`agree_tidy`) and a chart's text alternative (:func:`dots_alt`).

Tables of counts of people go through :mod:`helpers.methods.disclosure` here, once: :func:`profile_shown` ("Who
answered", each question's block a line whose total, the questionnaires, is published) and
:func:`questionnaires_shown` (questionnaires per neighbourhood and wave). A hidden count and its percentage are
blank together, and every hidden count reads the same ("not shown") whether it is small or held back beside a
small one, so that neither can be told from the other.
"""

from __future__ import annotations

import pandas as pd

from ..methods import disclosure
from . import formatting as fmt

STATUS_OK, STATUS_SUPPRESSED, STATUS_UNWEIGHTED, STATUS_NONE = "ok", "suppressed", "not weighted", "no responses"


def agree_rows(
    scores: pd.DataFrame, neighbourhoods: list[str], waves: list[str], statements: list[str]
) -> pd.DataFrame:
    """Weighted % agree for every neighbourhood x wave x statement asked for, with a ``status``.

    ``status`` is ``ok``, ``suppressed`` (fewer answers than the minimum base), ``not weighted`` (answers
    exist but the neighbourhood x wave could not be weighted) or ``no responses``. Columns: neighbourhood,
    wave, measure, base_n, estimate, ci_low, ci_high, low_base, suppressed, status.
    """
    grid = pd.MultiIndex.from_product([neighbourhoods, waves, statements], names=["neighbourhood", "wave", "measure"])
    out = pd.DataFrame(index=grid).reset_index()
    keep = ["neighbourhood", "wave", "measure", "base_n", "estimate", "ci_low", "ci_high", "low_base", "suppressed"]
    agree = scores[scores["statistic"] == "agree"] if not scores.empty else pd.DataFrame(columns=keep + ["weighted"])
    weighted = agree[agree["weighted"].astype(bool)][keep]
    unweighted = agree[~agree["weighted"].astype(bool)][["neighbourhood", "wave", "measure", "base_n", "suppressed"]]
    out = out.merge(weighted, on=["neighbourhood", "wave", "measure"], how="left")
    out = out.merge(unweighted, on=["neighbourhood", "wave", "measure"], how="left", suffixes=("", "_u"))
    has_w = out["estimate"].notna() | out["suppressed"].fillna(False).astype(bool)
    has_u = out["base_n_u"].notna()
    small = out["suppressed_u"].fillna(False).astype(bool)
    out["status"] = STATUS_NONE
    out.loc[has_u & ~small, "status"] = STATUS_UNWEIGHTED
    out.loc[has_u & small, "status"] = STATUS_SUPPRESSED
    out.loc[has_w, "status"] = STATUS_OK
    out.loc[has_w & out["suppressed"].fillna(False).astype(bool), "status"] = STATUS_SUPPRESSED
    out["base_n"] = out["base_n"].fillna(out["base_n_u"]).fillna(0).astype(int)
    out["suppressed"] = out["status"] == STATUS_SUPPRESSED
    out["low_base"] = out["low_base"].fillna(False).astype(bool)
    return out.drop(columns=["base_n_u", "suppressed_u"])


def profile_shown(counts: pd.DataFrame, total: int, minimum: int) -> pd.DataFrame:
    """ "Who answered" as a reader sees it: ``counts`` (question, answer, respondents) with each answer's share of
    the ``total`` questionnaires. Each question's answers add up to the total, which the report prints, so each
    question is a line with a published total: small counts are hidden with complementary cells beside them
    (:func:`helpers.methods.disclosure.protect_frame`), and a hidden count's share is blank too."""
    protected = disclosure.protect_frame(counts.reset_index(drop=True), "respondents", [["question"]], minimum)
    share = disclosure.shares(protected["respondents"], total, protected["hidden"])
    return pd.DataFrame(
        {
            "Question": protected["question"],
            "Answer": protected["answer"],
            "Respondents": [
                fmt.NOT_SHOWN if h else str(int(n))
                for h, n in zip(protected["hidden"], counts["respondents"], strict=True)
            ],
            "Share": ["" if pd.isna(v) else fmt.percent(v) for v in share],
        }
    )


def questionnaires_shown(counts: pd.DataFrame, minimum: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Questionnaires per neighbourhood (rows) and wave (columns): what a reader sees (a count below the minimum
    reads 'fewer than N', as at the top of that neighbourhood's report and in the index) and what a download gives
    (the counts, blank where hidden). No total of these counts is published; a pooled count of the project's
    questionnaires would make each column a line, and :func:`helpers.methods.disclosure.protect_frame` would
    then hide cells beside a small one."""
    long = counts.rename_axis(index="row", columns="column").stack().rename("questionnaires").reset_index()
    hidden = disclosure.protect_frame(long, "questionnaires", [], minimum)["hidden"]
    long["shown"] = [
        fmt.fewer_than(minimum, "") if h else str(int(n)) for h, n in zip(hidden, long["questionnaires"], strict=True)
    ]
    long["number"] = long["questionnaires"].astype("Int64").mask(hidden.to_numpy())

    def wide(column: str) -> pd.DataFrame:
        table = long.pivot(index="row", columns="column", values=column)
        return table.reindex(index=counts.index, columns=counts.columns).rename_axis(
            index=counts.index.name, columns=None
        )

    return wide("shown"), wide("number")


def in_order(frame: pd.DataFrame, **orders: list[str]) -> pd.DataFrame:
    """Rows sorted by each named column in the given order of its values (stable)."""
    ranks = {f"_{c}": frame[c].map({v: i for i, v in enumerate(order)}) for c, order in orders.items()}
    return (
        frame.assign(**ranks).sort_values(list(ranks), kind="stable").drop(columns=list(ranks)).reset_index(drop=True)
    )


def cell(row, minimum: int) -> str:
    if row.status == STATUS_SUPPRESSED:
        return fmt.fewer_than(minimum)
    if row.status == STATUS_UNWEIGHTED:
        return "not shown: could not be weighted"
    if row.status == STATUS_NONE:
        return "no responses yet"
    return fmt.percent(row.estimate)


def responses_shown(row, minimum: int) -> str:
    if row.status == STATUS_SUPPRESSED:
        return f"fewer than {minimum}"
    return "" if row.status == STATUS_NONE else str(int(row.base_n))


def agree_tidy(rows: pd.DataFrame, minimum: int) -> pd.DataFrame:
    ok = rows["status"] == STATUS_OK
    return pd.DataFrame(
        {
            "statement": rows["measure"],
            "statement_text": rows["label"],
            "neighbourhood": rows["name"],
            "wave": rows["wave_label"],
            "responses": [
                int(b) if s == STATUS_OK else None for b, s in zip(rows["base_n"], rows["status"], strict=True)
            ],
            "percent_agree": (100 * rows["estimate"]).round(1).where(ok),
            "interval_low": (100 * rows["ci_low"]).round(1).where(ok),
            "interval_high": (100 * rows["ci_high"]).round(1).where(ok),
            "low_base": rows["low_base"] & ok,
            "note": [
                "" if s == STATUS_OK else cell(r, minimum)
                for s, r in zip(rows["status"], rows.itertuples(), strict=True)
            ],
        }
    )


def agree_shown(rows: pd.DataFrame, minimum: int, first: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Statement": rows["label"],
            first[0]: rows[first[1]],
            "Responses": [responses_shown(r, minimum) for r in rows.itertuples()],
            "% agree": [cell(r, minimum) for r in rows.itertuples()],
            "Interval": [
                f"{fmt.percent(r.ci_low)} to {fmt.percent(r.ci_high)}" if r.status == STATUS_OK else ""
                for r in rows.itertuples()
            ],
            "Low base": ["yes" if r.low_base and r.status == STATUS_OK else "" for r in rows.itertuples()],
        }
    )


def dots_alt(rows: pd.DataFrame, group: str, minimum: int) -> str:
    return "; ".join(
        f"{r.label}, {getattr(r, group)}: "
        + (
            f"{fmt.percent(r.estimate)} ({fmt.percent(r.ci_low)} to {fmt.percent(r.ci_high)})"
            if r.status == STATUS_OK
            else cell(r, minimum)
        )
        for r in rows.itertuples()
    )


# --- the project dashboard ---------------------------------------------------------------------------

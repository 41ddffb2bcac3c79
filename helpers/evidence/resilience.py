"""The financial-resilience check: the same people's answers before and after support, analysed as pairs.

Answers are read for computation only (never displayed): :func:`resilience_results` turns them into one row
of aggregates per measure, with groups smaller than the minimum base suppressed. The paired tests are in
:mod:`helpers.methods.paired`.

``load_resilience(db, fw, project)``, ``resilience_pairs(answers, fw)``, ``resilience_results(pairs, fw)``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config.framework import Framework
from ..methods.paired import mcnemar_paired, wilcoxon_paired
from ..store import database as store

RESILIENCE_TABLE = "resilience"


def load_resilience(db: Path | str, fw: Framework, project: str) -> pd.DataFrame:
    """The project's resilience answers, long: respondent_id, neighbourhood, stage, item, answer.

    For computation only (never displayed): :func:`resilience_results` turns them into aggregates.
    """
    con = store.connect(db, read_only=True)
    try:
        if not store.has_table(con, RESILIENCE_TABLE):
            return pd.DataFrame(columns=["respondent_id", "neighbourhood", "stage", "item", "answer"])
        return con.execute(
            f"SELECT respondent_id, neighbourhood, stage, item, answer FROM {RESILIENCE_TABLE} WHERE project = ? "
            "ORDER BY respondent_id, stage, item",
            [project],
        ).df()
    finally:
        con.close()


def _scores(wide: pd.DataFrame, fw: Framework) -> pd.Series:
    """Each respondent x stage's score: the mean of the answered statements (reverse ones turned round), blank
    when fewer than ``minimum_answered`` are answered."""
    res = fw.resilience
    low, high = res.scale[0].code, res.scale[-1].code
    statements = wide[[s.id for s in res.statements]].apply(pd.to_numeric, errors="coerce")
    for s in res.statements:
        if s.reverse:
            statements[s.id] = low + high - statements[s.id]
    return statements.mean(axis=1).where(statements.notna().sum(axis=1) >= res.minimum_answered)


def resilience_pairs(answers: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """One row per respondent answering at both stages: score and yes/no answers before and after.

    Columns: respondent_id, neighbourhood, score_before, score_after, then ``<id>_before`` and
    ``<id>_after`` (True = yes, <NA> = not answered) for each yes/no question. A score is the mean of the
    answered statements (reverse statements turned round: ``low + high - answer``), blank when fewer than
    ``minimum_answered`` are answered at that stage.
    """
    res = fw.resilience
    before, after = (s.id for s in res.stages)
    columns = ["respondent_id", "neighbourhood", "score_before", "score_after"]
    columns += [f"{q.id}_{w}" for q in res.yes_no for w in ("before", "after")]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    wide = answers.pivot_table(
        index=["respondent_id", "stage"], columns="item", values="answer", aggfunc="first", dropna=False
    ).reindex(columns=list(res.item_ids))
    score = _scores(wide, fw)
    hood = answers.groupby("respondent_id")["neighbourhood"].first()
    people = sorted(
        set(answers.loc[answers["stage"] == before, "respondent_id"])
        & set(answers.loc[answers["stage"] == after, "respondent_id"])
    )
    out = pd.DataFrame({"respondent_id": people})
    out["neighbourhood"] = out["respondent_id"].map(hood)
    for label, stage in (("before", before), ("after", after)):
        idx = pd.MultiIndex.from_arrays([people, [stage] * len(people)])
        out[f"score_{label}"] = score.reindex(idx).to_numpy(dtype=float)
        for q in res.yes_no:
            values = wide[q.id].reindex(idx).to_numpy(dtype=object)
            out[f"{q.id}_{label}"] = pd.array(
                [None if v is None or pd.isna(v) else v == "yes" for v in values], dtype="boolean"
            )
    return out[columns]


def _row(measure: str, label: str, test: str, better: str, found: dict, before: str, after: str, estimate: str):
    """One row of :func:`resilience_results` from a paired test's output."""
    return {
        "measure": measure,
        "label": label,
        "test": test,
        "better": better,
        "n_pairs": found["n_pairs"],
        "before": found[before],
        "after": found[after],
        "change": found[estimate],
        "ci_low": found["ci_low"],
        "ci_high": found["ci_high"],
        "p_value": found["p_value"],
    }


def resilience_results(pairs: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """The paired analysis, one row per measure (the score, then each yes/no question).

    Columns: measure, label, test, better, n_pairs, before, after, change, ci_low, ci_high, p_value,
    effect_size, effect_size_name, clear, improved, suppressed. ``before``/``after`` are medians for the
    score and shares answering yes for the questions; ``change`` is the Hodges-Lehmann typical change
    (score) or the change in the share (questions). Rows with fewer pairs than the minimum base are
    suppressed: only the count is kept.
    """
    res, th = fw.resilience, fw.settings.thresholds
    conf = th.confidence_level
    w = wilcoxon_paired(pairs["score_before"], pairs["score_after"], conf)
    score = _row(
        "score", res.score_label, "Wilcoxon signed-rank", "higher", w, "median_before", "median_after", "estimate"
    )
    rows = [score | {"effect_size": w["rank_biserial"], "effect_size_name": "rank-biserial correlation"}]
    for q in res.yes_no:
        m = mcnemar_paired(pairs[f"{q.id}_before"], pairs[f"{q.id}_after"], conf)
        better = "higher" if q.better == "yes" else "lower"
        rows.append(
            _row(q.id, q.short, "McNemar (exact)", better, m, "share_before", "share_after", "change")
            | {"effect_size": m["change"], "effect_size_name": "change in share answering yes"}
        )
    out = pd.DataFrame(rows)
    out["clear"] = out["p_value"] < 1 - conf
    sign = np.where(out["better"] == "higher", 1.0, -1.0)
    out["improved"] = out["clear"] & (sign * out["change"] > 0)
    out["suppressed"] = out["n_pairs"] < th.minimum_base
    figures = ["before", "after", "change", "ci_low", "ci_high", "p_value", "effect_size"]
    out[figures] = out[figures].astype(float)
    out.loc[out["suppressed"], figures] = np.nan
    out.loc[out["suppressed"], ["clear", "improved"]] = False
    return out

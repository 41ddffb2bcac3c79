"""What each section of a project report shows. Notebooks call one function per cell.

Each function returns a :class:`Section`: HTML made of charts (with text alternatives), tables and
plain-English notes. The same objects render in JupyterLab, in the nbconvert HTML of the batch and
in Voila. Nothing here returns an individual's answers or demographics: tables are aggregates, and
counts below the minimum base are suppressed.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..config import cache, paths
from ..config.framework import Framework
from ..methods import estimates
from ..store import access as analysis
from . import charts

PCT = "{:.0%}"


def points(share_difference: float) -> str:
    """A difference of shares as signed whole percentage points: 0.123 -> '+12', -0.004 -> '0'."""
    value = round(100 * share_difference)
    return f"{value:+d}" if value else "0"


def significance_columns(rows: pd.DataFrame, blank) -> dict[str, list[str]]:
    """The Interval, p-value and "Clear change?" columns of a table of differences (ci_low, ci_high, p_value,
    significant), blank where ``blank`` is true; shared by the reports and the dashboards."""
    return {
        "Interval": [
            "" if b else f"{points(lo)} to {points(hi)}"
            for b, lo, hi in zip(blank, rows["ci_low"], rows["ci_high"], strict=True)
        ],
        "p-value": ["" if b else f"{p:.3f}" for b, p in zip(blank, rows["p_value"], strict=True)],
        "Clear change?": ["" if b else ("yes" if s else "no") for b, s in zip(blank, rows["significant"], strict=True)],
    }


@dataclass
class Section:
    """A block of report content that displays itself as HTML."""

    parts: list[str] = field(default_factory=list)

    def text(self, words: str, css: str = "") -> Section:
        cls = f' class="{css}"' if css else ""
        self.parts.append(f"<p{cls}>{html.escape(words)}</p>")
        return self

    def table(self, frame: pd.DataFrame, caption: str) -> Section:
        body = frame.to_html(index=False, escape=True, na_rep="", border=0, classes="data")
        self.parts.append(body.replace(">", f"><caption>{html.escape(caption)}</caption>", 1))
        return self

    def chart(self, fig, alt: str) -> Section:
        self.parts.append(charts.figure_html(fig, alt))
        return self

    def _repr_html_(self) -> str:
        return "\n".join(self.parts)


@dataclass
class ProjectReport:
    """One project x neighbourhood x wave: loads its data once and computes each table once."""

    db: Path | str
    project_id: str
    neighbourhood: str
    wave: str
    fw: Framework | None = None

    def __post_init__(self) -> None:
        self.db = paths.resolve(self.db)
        if self.fw is None:
            from ..config.framework import framework

            self.fw = framework()

    @cached_property
    def data(self) -> analysis.ReportData:
        return analysis.report_data(self.db, self.fw, self.project_id, self.neighbourhood, self.wave)

    @property
    def project(self):
        return self.fw.project(self.project_id)

    @property
    def thresholds(self):
        return self.fw.settings.thresholds

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Estimates for the project's neighbourhoods, every wave, weighted and unweighted.

        A neighbourhood x wave that cannot be weighted (no population figures, an age band with no
        respondents, raking that does not converge) keeps its unweighted rows and the reason is kept
        in :attr:`weighting_problems`, so one small wave never stops the other neighbourhoods' reports.
        """

        def compute() -> tuple[pd.DataFrame, list[str]]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                table = estimates.scores(self.data.responses, self.data.population, self.fw, require_weights=False)
            return table, [p for w in caught for p in str(w.message).split(": ", 1)[-1].split("; ")]

        table, problems = cache.shared(self, "scores", compute)
        self.weighting_problems = [
            p for p in problems if f"'{self.neighbourhood}'" in p and f"wave {self.wave}" in p
        ] or problems
        return table

    @cached_property
    def weighting(self) -> pd.DataFrame:
        from ..methods import weights

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same problems are recorded by `scores`
            w = weights.rake_weights(self.data.responses, self.data.population, self.fw.settings, strict=False)
        return weights.weighting_summary(w)

    @property
    def weighted_here(self) -> bool:
        """Whether this neighbourhood x wave has weighted estimates (else the report shows unweighted ones)."""
        sc = self.scores
        return bool(((sc["neighbourhood"] == self.neighbourhood) & (sc["wave"] == self.wave) & sc["weighted"]).any())

    def _rows_here(self, frame: pd.DataFrame) -> pd.DataFrame:
        """This neighbourhood x wave's rows, weighted when it could be weighted."""
        here = (frame["neighbourhood"] == self.neighbourhood) & (frame["wave"] == self.wave)
        return frame[here & (frame["weighted"] == self.weighted_here)]

    def _weighting_word(self) -> str:
        return "weighted" if self.weighted_here else "UNWEIGHTED: the answers could not be weighted"

    def _statement_label(self, sid: str) -> str:
        return f"{sid}: {self.fw.instrument.statement(sid).short}"

    # --- sections ---------------------------------------------------------------------------

    def header(self) -> Section:
        d = self.data
        wave = next(w for w in self.fw.settings.waves if w.id == self.wave)
        s = Section()
        s.parts.append(
            f'<p class="lead"><strong>{html.escape(self.project.name)}</strong> in '
            f"<strong>{html.escape(d.name)}</strong> ({html.escape(d.role)} area), survey wave "
            f"<strong>{html.escape(wave.label)}</strong>. Responses this wave: {len(d.here)}.</p>"
        )
        return s

    def about(self) -> Section:
        p = self.project
        s = Section()
        s.parts.append(f"<p><strong>The issue.</strong> {html.escape(p.issue)}</p>")
        s.parts.append(f"<p><strong>The co-operative solution.</strong> {html.escape(p.solution)}</p>")
        s.parts.append("<p><strong>Key indicators:</strong> " + html.escape("; ".join(p.key_indicators)) + "</p>")
        return s

    def ripple_map(self) -> Section:
        """The project's "analysing the ripple" table: outcome -> how it is measured."""
        rows = []
        for line in self.project.ripple:
            ideal = self.fw.ideal_of(line.outcome)
            methods = []
            if line.survey:
                methods.append("Your Voice: " + "; ".join(self._statement_label(s) for s in line.survey))
            for text in (line.indicators_text, line.stories, line.sentiment, line.other):
                if text:
                    methods.append(text)
            rows.append((ideal.name, self.fw.outcomes[line.outcome].wording, " | ".join(methods)))
        table = pd.DataFrame(rows, columns=["Ideal", "Outcome", "How it is measured"])
        return Section().table(table, f"{self.project.name}: analysing the ripple (framework, seed 000)")

    def respondent_profile(self) -> Section:
        """Who answered this wave: counts by age band, gender and mode, small cells suppressed."""
        d, fw = self.data, self.fw
        here = d.here
        minimum = self.thresholds.minimum_base
        bands = fw.settings.weighting.age_bands
        age = pd.cut(
            here[fw.instrument.age.id].astype("Float64"),
            [b.min - 0.5 for b in bands] + [bands[-1].max + 0.5],
            labels=[b.id for b in bands],
        )
        parts = [
            ("Age band", age.astype(object).where(age.notna(), "not given")),
            (
                "Gender",
                here[fw.instrument.gender.id]
                .map({c.code: c.label for c in fw.instrument.gender.categories})
                .fillna("not given"),
            ),
            ("How returned", here["mode"].map({c.code: c.label for c in fw.instrument.modes}).fillna("not given")),
        ]
        rows = []
        for question, values in parts:
            counts = values.value_counts()
            for category, n in counts.items():
                shown = f"fewer than {minimum}" if n < minimum else str(int(n))
                share = "" if n < minimum else PCT.format(n / len(here))
                rows.append((question, category, shown, share))
        table = pd.DataFrame(rows, columns=["Question", "Answer", "Respondents", "Share"])
        s = Section().table(table, f"Who answered in {d.name}, {self.wave} ({len(here)} questionnaires)")
        summary = self.weighting
        row = summary[(summary["neighbourhood"] == self.neighbourhood) & (summary["wave"] == self.wave)]
        if not self.weighted_here:
            s.text(
                "These answers could not be weighted to the population, so this report shows unweighted "
                "figures: " + "; ".join(self.weighting_problems),
                "note",
            )
        elif not row.empty:
            r = row.iloc[0]
            s.text(
                f"Weighting: answers are weighted to the neighbourhood's adult population by age band and "
                f"gender. Weights range from {r['weight_min']:.2f} to {r['weight_max']:.2f}; the design effect "
                f"is {r['design_effect']:.2f}, so the {int(r['respondents'])} questionnaires carry the "
                f"information of about {r['effective_n']:.0f} independent responses (Kish effective sample size)."
                + ("" if r["converged"] else " Warning: the weighting did not converge.")
            )
        return s

    def statement_estimates(self) -> Section:
        """Weighted % agreeing with each statement in the ripple map, with 95% intervals."""
        rows = self._rows_here(self.scores)
        rows = rows[rows["measure"].isin(self.project.survey_statements) & (rows["statistic"] == "agree")].copy()
        rows["label"] = rows["measure"].map(self._statement_label)
        level = f"{self.thresholds.confidence_level:.0%}"
        word = "weighted" if self.weighted_here else "unweighted"
        fig = charts.estimate_dots(
            rows,
            title=f"% agreeing, {self.data.name}, {self.wave} ({word}, {level} interval)",
            minimum_base=self.thresholds.minimum_base,
        )
        alt = "; ".join(
            f"{r.label}: "
            + (
                f"fewer than {self.thresholds.minimum_base} responses"
                if r.suppressed
                else f"{r.estimate:.0%} ({r.ci_low:.0%} to {r.ci_high:.0%})"
            )
            for r in rows.itertuples()
        )
        s = Section().chart(fig, f"Share agreeing ({word}) with interval. " + alt)
        s.table(self._display_estimates(rows), f"% agree (4 or 5) per statement, {word}, {level} Wilson interval")
        if not self.weighted_here:
            s.text(f"These figures are {self._weighting_word()}: " + "; ".join(self.weighting_problems), "note")
        if rows["low_base"].any():
            s.text(f"Grey points: fewer than {self.thresholds.low_base} responses (low base): read with care.", "note")
        return s

    def _display_estimates(self, rows: pd.DataFrame) -> pd.DataFrame:
        minimum = self.thresholds.minimum_base
        out = pd.DataFrame(
            {
                "Statement": rows["label"],
                "Responses": rows["base_n"].astype(int),
                "% agree": [
                    f"fewer than {minimum} responses" if s else PCT.format(e)
                    for s, e in zip(rows["suppressed"], rows["estimate"], strict=True)
                ],
                "Interval": [
                    "" if s else f"{lo:.0%} to {hi:.0%}"
                    for s, lo, hi in zip(rows["suppressed"], rows["ci_low"], rows["ci_high"], strict=True)
                ],
                "Low base": [
                    "yes" if b and not s else "" for b, s in zip(rows["low_base"], rows["suppressed"], strict=True)
                ],
            }
        )
        return out

    def method_note(self) -> Section:
        th = self.thresholds
        return Section().text(
            f"Method. Shares agreeing count answers 4 or 5 on the 1-5 scale among those who answered the "
            f"statement (blank answers are left out of that statement's base). Estimates are weighted to the "
            f"neighbourhood's population by age band and gender (raking). {estimates.INTERVAL_NOTE} Fewer "
            f"than {th.minimum_base} responses: the figure is not shown. Fewer than {th.low_base}: shown but "
            f"flagged as a low base. All figures in this report are aggregates; no individual's answers are shown.",
            "note",
        )

    # --- change and difference-in-differences ----------------------------------------------

    @cached_property
    def change(self) -> pd.DataFrame:
        return estimates.change(self.scores, self.fw)

    @cached_property
    def did(self) -> pd.DataFrame:
        return cache.shared(
            self,
            "did",
            lambda: estimates.did(self.scores, self.data.population, self.data.areas, self.project_id, self.fw),
        )

    def _difference_rows(self, frame: pd.DataFrame, value: str) -> pd.DataFrame:
        rows = frame[frame["measure"].isin(self.project.survey_statements) & (frame["statistic"] == "agree")].copy()
        rows["label"] = rows["measure"].map(self._statement_label)
        return rows.rename(columns={value: "difference"})

    def _difference_table(self, rows: pd.DataFrame, head: str) -> pd.DataFrame:
        minimum = self.thresholds.minimum_base
        blank = rows["difference"].isna()
        return pd.DataFrame(
            {
                "Statement": rows["label"],
                head: [
                    f"fewer than {minimum} responses" if b else f"{points(d)} points"
                    for b, d in zip(blank, rows["difference"], strict=True)
                ],
                **significance_columns(rows, blank),
            }
        )

    def change_since_baseline(self) -> Section:
        """Change in % agreeing since the baseline, in this neighbourhood, with intervals and tests."""
        s = Section()
        baseline = self.fw.settings.baseline
        if self.wave == baseline:
            return s.text("This is the baseline wave: later waves are compared with it.", "note")
        ch = self.change
        rows = self._difference_rows(self._rows_here(ch), "difference")
        level = f"{self.thresholds.confidence_level:.0%}"
        fig = charts.difference_bars(
            rows,
            title=f"Change in % agreeing since baseline, {self.data.name} ({level} interval)",
            xlabel="percentage points",
        )
        alt = "; ".join(
            f"{r.label}: " + ("not shown (small base)" if pd.isna(r.difference) else f"{points(r.difference)} points")
            for r in rows.itertuples()
        )
        s.chart(fig, "Change since baseline. " + alt)
        s.table(
            self._difference_table(rows, "Change"),
            f"Change in % agree, {self.wave} against baseline ({'weighted' if self.weighted_here else 'unweighted'})",
        )
        return s.text(
            "A change is 'clear' when its interval excludes zero (p-value below "
            f"{1 - self.thresholds.confidence_level:.2f}). The two waves are independent samples.",
            "note",
        )

    @cache.same_for_every_neighbourhood
    def difference_in_differences(self) -> Section:
        """Pilot change minus comparison change for the project, with the assumption in words."""
        s = Section()
        if self.wave == self.fw.settings.baseline:
            return s.text("Difference-in-differences needs a later wave; this is the baseline.", "note")
        did = self.did
        rows = self._difference_rows(did[did["wave"] == self.wave], "did")
        design = rows["design"].iloc[0] if not rows.empty else estimates.DIFFERENCE_IN_DIFFERENCES
        before_after = design == estimates.BEFORE_AND_AFTER
        head = "Pilot change (before and after only)" if before_after else "Difference-in-differences"
        fig = charts.difference_bars(
            rows, title=f"{self.project.name}: {head.lower()}, {self.wave}", xlabel="percentage points"
        )
        alt = "; ".join(
            f"{r.label}: " + ("not shown" if pd.isna(r.difference) else f"{points(r.difference)} points")
            for r in rows.itertuples()
        )
        s.chart(fig, f"{head} by statement. " + alt)
        s.table(self._difference_table(rows, head), f"{head}: all {self.project.name} pilot areas pooled")
        return s.text(estimates.BEFORE_AFTER_NOTE if before_after else estimates.PARALLEL_TRENDS_NOTE, "note")

    def wellbeing(self) -> Section:
        """General health and happiness yesterday (ONS thresholds), weighted, for this neighbourhood and wave."""
        sc = self.scores
        ins = self.fw.instrument
        rows = self._rows_here(sc)
        rows = rows[rows["measure"].isin([ins.general_health.id, ins.happiness.id])]
        names = {
            (ins.general_health.id, "good"): "Health very good or good (%)",
            (ins.happiness.id, "mean"): "Happiness yesterday, average (0-10)",
            (ins.happiness.id, "low"): "Happiness yesterday low, 0-4 (%)",
            (ins.happiness.id, "very_high"): "Happiness yesterday very high, 9-10 (%)",
        }
        minimum = self.thresholds.minimum_base
        out = []
        for r in rows.itertuples():
            share = r.statistic != "mean"
            fmt = (lambda v: f"{v:.0%}") if share else (lambda v: f"{v:.1f}")
            shown = f"fewer than {minimum} responses" if r.suppressed else fmt(r.estimate)
            interval = "" if r.suppressed else f"{fmt(r.ci_low)} to {fmt(r.ci_high)}"
            out.append((names[(r.measure, r.statistic)], int(r.base_n), shown, interval))
        table = pd.DataFrame(out, columns=["Measure", "Responses", "Estimate", "Interval"])
        return Section().table(table, f"Health and happiness, {self.data.name}, {self.wave} ({self._weighting_word()})")

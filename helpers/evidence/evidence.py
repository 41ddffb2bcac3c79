"""Transitional: the names ``helpers.evidence.evidence`` had, re-exported from the modules that now hold them.

The evidence beyond the survey is split by concern:

- :mod:`helpers.evidence.project`: :class:`ProjectEvidence`, its :class:`Calendar`, loading and ``build_evidence``;
- :mod:`helpers.evidence.indicators`: change since the baseline, the test against noise, predictions, series,
  the high-level indicators;
- :mod:`helpers.evidence.stories`: consented stories counted and cut to excerpts;
- :mod:`helpers.evidence.sentiment`: VADER scoring, tone shares, counts by channel, the change in net tone;
- :mod:`helpers.evidence.resilience`: the financial-resilience answers, paired, and their results;
- :mod:`helpers.methods.paired`: the paired tests and Holm's rule (pure);
- the charts are in :mod:`helpers.presentation.charts`, the sections in
  :mod:`helpers.presentation.sections.evidence`.

Import from those modules; this one goes once nothing imports it (``ripple.py``, ``dashboards.py``).
"""

from __future__ import annotations

from ..methods.paired import (
    hodges_lehmann,
    holm_clear,
    mcnemar_paired,
    newcombe_paired_interval,
    rank_biserial,
    wilcoxon_paired,
)
from .indicators import (
    TIER_NAMES,
    high_level_indicators,
    indicator_changes,
    indicator_series,
    indicator_tests,
    predicted_actual_sentences,
    predicted_vs_actual,
)
from .project import Calendar, ProjectEvidence, build_evidence, load_indicators, load_project_evidence, project_calendar
from .resilience import RESILIENCE_TABLE, load_resilience, resilience_pairs, resilience_results
from .sentiment import (
    NEGATIVE_TO,
    POSITIVE_FROM,
    TONES,
    load_sentiment,
    score_sentiment_items,
    sentiment_by_channel,
    sentiment_change,
    sentiment_score,
    sentiment_shares,
    sentiment_tone,
)
from .stories import EXCERPT_CHARACTERS, excerpt, story_counts, story_excerpts

__all__ = [
    "EXCERPT_CHARACTERS",
    "NEGATIVE_TO",
    "POSITIVE_FROM",
    "RESILIENCE_TABLE",
    "TIER_NAMES",
    "TONES",
    "Calendar",
    "ProjectEvidence",
    "build_evidence",
    "excerpt",
    "high_level_indicators",
    "hodges_lehmann",
    "holm_clear",
    "indicator_changes",
    "indicator_series",
    "indicator_tests",
    "load_indicators",
    "load_project_evidence",
    "load_resilience",
    "load_sentiment",
    "mcnemar_paired",
    "newcombe_paired_interval",
    "predicted_actual_sentences",
    "predicted_vs_actual",
    "project_calendar",
    "rank_biserial",
    "resilience_pairs",
    "resilience_results",
    "score_sentiment_items",
    "sentiment_by_channel",
    "sentiment_change",
    "sentiment_score",
    "sentiment_shares",
    "sentiment_tone",
    "story_counts",
    "story_excerpts",
    "wilcoxon_paired",
]

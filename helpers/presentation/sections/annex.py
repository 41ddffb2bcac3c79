"""The annex every report ends with: the statements in full and the glossary (both from the framework)."""

from __future__ import annotations

import pandas as pd

from ...evidence.context import ProjectData, Selection
from .. import formatting as fmt
from ..model import Section
from . import build, load_all, section


@section("The statements in full", same_for="project")
def statements_in_full(data: ProjectData, sel: Selection) -> Section:
    """Each Your Voice statement the report shows by its short label, with its full wording."""
    ins = data.fw.instrument
    statements = data.statements(sel.outcome)
    table = pd.DataFrame(
        {
            "Statement": [fmt.statement_label(data.fw, s) for s in statements],
            "As residents read it on the questionnaire": [ins.statement(s).text for s in statements],
        }
    )
    caption = "The Your Voice statements in this report; residents say how far they agree, from 1 to 5"
    return Section().table("statements", table, caption)


@section("Words used in this report", same_for="project")
def glossary(data: ProjectData, sel: Selection) -> Section:
    """The few statistical words a report cannot avoid, each explained once."""
    terms = data.fw.glossary.terms
    table = pd.DataFrame({"Word": [t.term for t in terms], "What it means": [t.means for t in terms]})
    return Section().table("glossary", table, "Words used in this report")


@section("The tables behind the charts")
def tables_behind_the_charts(data: ProjectData, sel: Selection) -> Section:
    """What a report moves to its annex (sections registered with ``annex_tables``), under each title: how the
    section's figures were made, then its tables."""
    s = Section()
    for spec in load_all().values():
        if spec.annex_tables and (spec.applies is None or spec.applies(data.fw, data.project.id)):
            made = build(data, spec.name, sel)
            if made.tables or made.methods:
                s.text(spec.title, "lead").blocks.extend([*made.methods, *made.tables])
    return s

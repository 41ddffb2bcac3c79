"""Reader-facing text speaks the reader's language: every section of every sample report and dashboard view is
scanned for developer wording, ids instead of names and misleading numbers (tests/wording.py lists them)."""

from __future__ import annotations

import pytest
from wording import forbidden, visible_text

from helpers.presentation import render, sections
from helpers.surfaces import dashboards

SELECTIONS = [
    ("working-xtra", "brookside", "baseline"),
    ("working-xtra", "hollins", "12m"),
    ("working-xtra", "millbrook", "6m"),
    ("council-tax-reduction", "ashgrove", "baseline"),
    ("council-tax-reduction", "kingsmoor", "12m"),
]


@pytest.mark.parametrize("project,hood,wave", SELECTIONS)
def test_no_report_section_reads_like_code(sample_db, fw, project, hood, wave):
    report = sections.Report(sample_db, project, hood, wave)
    found = {}
    for name in sections.load_all():
        if not sections.applies(fw, project, name):
            continue
        bad = forbidden(visible_text(render.to_html(report.show(name))), fw)
        if bad:
            found[name] = bad[:3]
    assert found == {}


@pytest.mark.parametrize("project", ["working-xtra", "council-tax-reduction"])
def test_no_dashboard_view_reads_like_code(sample_db, fw, project):
    data = dashboards.ProjectsData(sample_db, fw)(project)
    views = []
    for wave in fw.settings.wave_ids:
        for line in fw.project(project).ripple:
            sel = dashboards.Selection(project, data.neighbourhoods[0], wave, line.outcome)
            views.append(dashboards.project_view(data, sel).html)
        for ideal in fw.ideals:
            views.append(dashboards.ripple_view(data, wave, ideal.id).html)
    views.append(dashboards.ripple_view(data, dashboards.DESIGN, fw.ideals[0].id).html)
    found = [b for html in views for b in forbidden(visible_text(html), fw)]
    assert found[:5] == []


def test_the_scanner_finds_what_it_should(fw):
    text = "see data/framework/indicators.yaml; run python -m helpers import --skip; crime-asb -0 points s05 Oldham"
    kinds = {f.split(":")[0] for f in forbidden(text, fw)}
    assert {"a file name", "a path", "a command", "a command-line option", "an id", "minus zero"} <= kinds
    assert {"a statement code", "another council"} <= kinds

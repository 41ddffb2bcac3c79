"""The project notebooks follow templates/project.ipynb: one calling convention, every standard section that
applies, in the template's order, under the section's own title; a project's own cells are tagged."""

from __future__ import annotations

import json

import pytest

from helpers.config import paths
from helpers.surfaces import notebooks

TEMPLATE = paths.TEMPLATES / "project.ipynb"


@pytest.mark.parametrize("project_id", ["working-xtra", "council-tax-reduction"])
def test_each_project_notebook_follows_the_template(fw, project_id):
    assert notebooks.check_notebook(paths.project_notebook(project_id), TEMPLATE, fw, project_id) == []


def test_every_project_in_the_framework_has_a_conforming_notebook(fw):
    for project in fw.projects:
        assert notebooks.check_notebook(paths.project_notebook(project.id), TEMPLATE, fw, project.id) == [], project.id


def test_the_template_calls_every_registered_report_section_once(fw):
    from helpers.presentation import sections

    _, cells = notebooks.standard_cells(json.loads(TEMPLATE.read_text()))
    names = [c.section for c in cells]
    assert len(names) == len(set(names))
    assert set(names) <= set(sections.load_all())


def _edited(tmp_path, change) -> list[str]:
    nb = json.loads(paths.project_notebook("council-tax-reduction").read_text())
    change(nb["cells"])
    path = tmp_path / "council_tax_reduction.ipynb"
    path.write_text(json.dumps(nb))
    from helpers.config.framework import framework

    return notebooks.check_notebook(path, TEMPLATE, framework(), "council-tax-reduction")


def _index(cells, call):
    return next(i for i, c in enumerate(cells) if "".join(c["source"]).strip() == call)


def test_a_missing_section_fails(tmp_path):
    def drop(cells):
        i = _index(cells, "report.wellbeing()")
        del cells[i - 1 : i + 1]

    assert any("should be, in this order" in p for p in _edited(tmp_path, drop))


def test_another_calling_convention_fails(tmp_path):
    def other(cells):
        cells[_index(cells, "report.stories()")]["source"] = ["evidence.stories(report)"]

    assert _edited(tmp_path, other)


def test_a_section_under_another_heading_fails(tmp_path):
    def rename(cells):
        cells[_index(cells, "report.sentiment()") - 1]["source"] = ["## What people said"]

    assert any("should be under '## " in p for p in _edited(tmp_path, rename))


def test_a_tagged_cell_of_the_projects_own_is_allowed_and_an_untagged_one_is_not(tmp_path):
    own = {"cell_type": "code", "metadata": {"tags": ["project-own"]}, "source": ["report.data.areas"], "outputs": []}

    def add_own(cells):
        cells.insert(_index(cells, "report.stories()") + 1, own)

    def add_untagged(cells):
        cells.insert(_index(cells, "report.stories()") + 1, {**own, "metadata": {}})

    assert _edited(tmp_path, add_own) == []
    assert _edited(tmp_path, add_untagged)


def test_a_section_that_does_not_apply_is_left_out(fw):
    """Working Xtra has no financial-resilience check: its notebook leaves the section out."""
    assert not notebooks.applies(fw, "working-xtra", "financial_resilience")
    assert notebooks.applies(fw, "council-tax-reduction", "financial_resilience")
    _, cells = notebooks.standard_cells(json.loads(paths.project_notebook("working-xtra").read_text()))
    assert "financial_resilience" not in [c.section for c in cells]
    template = json.loads(TEMPLATE.read_text())
    _, kept = notebooks.standard_cells(notebooks.for_project(template, fw, "working-xtra"))
    assert [c.section for c in kept] == [c.section for c in cells]

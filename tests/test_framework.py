"""The framework loads, says what it defines, and refuses a broken definition helpfully."""

from __future__ import annotations

import pytest
import yaml

from helpers.config.errors import FrameworkError
from helpers.config.framework import load_framework

# Typed from seed 000, Appendix 2 (with the leading "I" the text extraction dropped restored).
SEED_STATEMENTS = {
    "s01": "I love where I live",
    "s05": "I feel able to access support to develop my skills and improve my chances in work if I want to",
    "s09": "The friendships and associations I have with other people in my neighbourhood mean a lot to me.",
    "s12": "I support other local residents and my community when I can",
    "s17": "I trust local services to do a good job",
}


def test_three_ideals_with_their_outcomes(fw):
    assert [i.id for i in fw.ideals] == ["place", "people", "public-services"]
    assert [len(i.outcomes) for i in fw.ideals] == [6, 3, 6]  # seed 000 section 3.4
    assert fw.outcomes["people-wellbeing"].wording.startswith("Improved health and sense of wellbeing")
    assert "Voter turnout" in fw.outcomes["place-pride-trust"].high_level_indicators


def test_seventeen_statements_verbatim(fw):
    items = fw.instrument.statements.items
    assert len(items) == 17
    assert [s.id for s in items] == [f"s{n:02d}" for n in range(1, 18)]
    for sid, text in SEED_STATEMENTS.items():
        assert fw.instrument.statement(sid).text == text
    # The extraction lost "I" at the start of 15 statements; none may start lower-case now.
    assert all(s.text[0].isupper() for s in items)
    assert sum(s.text.startswith("I ") for s in items) == 16


def test_scales_and_bands(fw):
    ins = fw.instrument
    assert [c.label for c in ins.general_health.scale] == ["Very good", "Good", "Fair", "Bad", "Very bad"]
    assert (ins.happiness.min, ins.happiness.max) == (0, 10)
    assert [b.code for b in ins.years.bands] == ["<1", "1-2", "3-5", "6-10", "11-20", "21+"]
    assert [c.code for c in ins.gender.categories] == ["male", "female", "transgender", "prefer_not"]
    assert fw.settings.wave_ids == ("baseline", "6m", "12m")
    assert fw.settings.thresholds.minimum_base == 10


def test_projects_ripple_maps(fw):
    wx = fw.project("working-xtra")
    assert wx.issue == "Low levels of employment and participation"
    assert wx.ripple[0].survey == ("s04", "s05", "s12", "s02")
    ctr = fw.project("council-tax-reduction")
    assert "council-tax-collection" in ctr.indicator_ids
    assert fw.indicator_map["crime-asb"].better == "lower"


def test_self_evaluation_ten_areas_four_levels(fw):
    se = fw.self_evaluation
    assert len(se.areas) == 10
    assert [lvl.name for lvl in se.levels] == ["Aspiring", "Developing", "Achieving", "Leading"]
    assert se.areas[0].name == "Governance and infrastructure"
    assert se.areas[0].criteria.aspiring.startswith("Made a public commitment to building the cooperative values")
    for ideal in ("place", "people", "public-services"):
        assert any(ideal in a.ideals for a in se.areas)


def _edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_unknown_outcome_in_ripple_names_file_key_and_allowed(framework_copy):
    _edit(framework_copy / "projects" / "working-xtra.yaml", lambda d: d["ripple"][1].update(outcome="pride"))
    with pytest.raises(FrameworkError) as err:
        load_framework(framework_copy)
    message = str(err.value)
    assert "projects/working-xtra.yaml" in message
    assert "ripple[1].outcome 'pride'" in message
    assert "place-pride-trust" in message


def test_unknown_statement_and_indicator_refused(framework_copy):
    _edit(framework_copy / "projects" / "council-tax-reduction.yaml", lambda d: d["ripple"][1].update(survey=["s18"]))
    with pytest.raises(FrameworkError, match=r"'s18' is not a Your Voice statement; known: s01"):
        load_framework(framework_copy)


def test_bad_value_names_the_key(framework_copy):
    _edit(framework_copy / "indicators.yaml", lambda d: d["indicators"][0].update(better="up"))
    with pytest.raises(FrameworkError, match=r"indicators.yaml: indicators\[0\]: better: .*'higher' or 'lower'"):
        load_framework(framework_copy)


def test_invalid_yaml_and_missing_file(framework_copy):
    (framework_copy / "settings.yaml").write_text("waves: [unclosed\n")
    with pytest.raises(FrameworkError, match="settings.yaml: not valid YAML"):
        load_framework(framework_copy)
    (framework_copy / "settings.yaml").unlink()
    with pytest.raises(FrameworkError, match="settings.yaml: file is missing"):
        load_framework(framework_copy)


def test_cli_framework_summary(capsys):
    from helpers.surfaces.cli import main

    assert main(["framework"]) == 0
    out = capsys.readouterr().out
    assert "3 ideals" in out and "17 Your Voice statements" in out


# --- weighting dimensions (settings.yaml weighting) -------------------------------------------------------


def _weighting(path, change):
    _edit(path / "settings.yaml", lambda d: change(d["weighting"]))


def test_declared_dimensions_and_the_margins_each_project_rakes_to(framework_copy):
    _weighting(
        framework_copy, lambda w: w.update(rake_to_by_project={"council-tax-reduction": ["age_band", "ethnicity"]})
    )
    wt = load_framework(framework_copy).settings.weighting
    assert [d.id for d in wt.declared] == ["age_band", "gender", "ethnicity"]
    ethnicity = wt.dimension("ethnicity")
    assert (ethnicity.column, ethnicity.banded, ethnicity.unknown) == ("ethnicity", False, "pro-rata")
    assert ethnicity.category_ids == ("white", "asian", "black-mixed-other")
    assert wt.dimension("age_band").banded and wt.dimension("age_band").categories[0].max == 34
    assert [d.id for d in wt.margins()] == ["age_band", "gender"]
    assert [d.id for d in wt.margins("working-xtra")] == ["age_band", "gender"]
    assert [d.id for d in wt.margins("council-tax-reduction")] == ["age_band", "ethnicity"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.update(rake_to=["age_band", "tenure"]), r"rake_to: 'tenure' is not a declared dimension; known"),
        (lambda w: w.update(rake_to=[]), r"rake_to: name at least one dimension"),
        (lambda w: w.update(rake_to_by_project={"allotments": ["gender"]}), r"rake_to_by_project 'allotments' is not"),
        (lambda w: w["dimensions"][0].update(column="tenure"), r"column 'tenure' is not a survey column"),
        (lambda w: w["dimensions"][0]["categories"][1].update(codes=["asian", "sikh"]), r"code 'sikh'.*known: white"),
        (lambda w: w["dimensions"][0]["categories"][1].update(codes=["white"]), r"white are in more than one category"),
        (lambda w: w["dimensions"][0]["categories"][1].update(id="unknown"), r"'unknown' is kept for answers"),
        (lambda w: w["dimensions"][0].update(id="gender"), r"'gender' is declared by age_bands and genders"),
        (lambda w: w.update(weight_cap=0.8), r"weight_cap: Input should be greater than or equal to 1"),
        (
            lambda w: w["dimensions"].append(
                {
                    "id": "older",
                    "label": "age",
                    "column": "age",
                    "categories": [{"id": "a", "min": 16, "max": 70}, {"id": "b", "min": 60, "max": 99}],
                }
            ),
            r"categories 'a' and 'b' overlap",
        ),
    ],
)
def test_a_bad_weighting_dimension_names_the_key(framework_copy, change, message):
    _weighting(framework_copy, change)
    with pytest.raises(FrameworkError, match=message) as err:
        load_framework(framework_copy)
    assert "settings.yaml" in str(err.value)

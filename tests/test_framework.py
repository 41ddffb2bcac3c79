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

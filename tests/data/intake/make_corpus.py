"""Writes the intake corpus beside this script (the committed files are its output; cases.yaml is by hand).

Run ``python tests/data/intake/make_corpus.py`` after the survey instrument gains or loses a question,
then read the diff: each file's expected outcome in cases.yaml was worked out by hand from these rows.
"""

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(OUT.parents[2]))

from helpers.config.framework import framework  # noqa: E402

fw = framework()
COLS = list(fw.instrument.survey_columns())
BASE = {
    "mode": "post",
    **{s: "4" for s in fw.instrument.statement_ids},
    "general_health": "2",
    "happiness": "7",
    "years_lived": "6-10",
    "years_expect": "21+",
    "hh_0_4": "0",
    "hh_5_15": "1",
    "hh_16_44": "2",
    "hh_45_64": "0",
    "hh_65_80": "0",
    "hh_80_plus": "0",
    "ethnicity": "white",
    "gender": "female",
    "age": "40",
}


def row(rid, hood="oakfield", wave="baseline", **over):
    r = {"respondent_id": rid, "neighbourhood": hood, "wave": wave, **BASE}
    r.update({k: str(v) for k, v in over.items()})
    return r


def lines(rows, cols=COLS, sep=","):
    out = [sep.join(cols)]
    for r in rows:
        if r is None:
            out.append("")
        elif r == "commas":
            out.append(sep * (len(cols) - 1))
        else:
            out.append(sep.join(r.get(c, "") for c in cols))
    return out


def write(name, rows, cols=COLS, sep=",", eol="\n", encoding="utf-8", prefix="", bom=False, trailing_eol=True):
    text = prefix + eol.join(lines(rows, cols, sep)) + (eol if trailing_eol else "")
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    (OUT / name).write_bytes(data)


three = [row("A-1"), row("A-2", wave="6m"), row("A-3", hood="brookside", wave="12m")]
write("survey_valid.csv", three)
write(
    "survey_labels.csv",
    [
        row(
            "L-1",
            wave="Baseline",
            mode="By post",
            s01="Strongly agree",
            s02="strongly DISAGREE",
            s03="Neither agree nor disagree",
            general_health="Very good",
            years_lived="Under 1 year",
            years_expect="21 years plus",
            ethnicity="Prefer not to say",
            gender="Prefer not to say",
        ),
        row(
            "L-2",
            wave="6 months",
            mode="Online",
            general_health="very bad",
            ethnicity="Asian/Asian British",
            gender="Male",
        ),
        row("L-3", wave="12M", s17="AGREE", gender="female", age=""),
    ],
)
write("survey_bom_crlf.csv", three, eol="\r\n", bom=True)
write("survey_semicolon.csv", three, sep=";")
write("survey_tab.csv", three, sep="\t")
fancy = [f"  {c.upper()} " if i % 3 == 0 else (c.capitalize() if i % 3 == 1 else c) for i, c in enumerate(COLS)]
text = "\n".join([",".join(fancy)] + lines(three)[1:]) + "\n"
(OUT / "survey_header_case_spaces.csv").write_text(text)
write("survey_trailing_blank_rows.csv", three + ["commas", "commas", None, None])
write("survey_blank_line_middle.csv", [row("B-1"), row("B-2"), None, row("B-3", s05="9"), row("B-4")])
write("survey_other_neighbourhood.csv", [row("N-1"), row("N-2", hood="elmtree"), row("N-3")])
write(
    "survey_misspelt_codes.csv",
    [row("M-1", s01="Stongly agree"), row("M-2"), row("M-3", gender="femail"), row("M-4", general_health="Very goood")],
)
write("survey_duplicates.csv", [row("D-1"), row("D-2"), row("D-1"), row("D-1", wave="6m"), row("d-2", wave="Baseline")])
write("survey_blank_required.csv", [row("R-1"), row(""), row("R-3", wave=""), row("R-4", hood="")])
write(
    "survey_decimals.csv",
    [
        row("F-1", age="34.5"),
        row("F-2", happiness="7.5"),
        row("F-3", s03="4.5"),
        row("F-4", age="40.0", s01="5.0", hh_0_4="1.00"),
        row("F-5", hh_5_15='"1,5"'),
    ],
)
write("survey_whole_decimals.csv", [row("F-4", age="40.0", s01="5.0", hh_0_4="1.00")])
write("survey_text_in_numbers.csv", [row("T-1", happiness="seven"), row("T-2", hh_0_4="two"), row("T-3", age="forty")])
write(
    "survey_out_of_range.csv",
    [
        row("O-1", s05="7"),
        row("O-2", happiness="11"),
        row("O-3", age="12"),
        row("O-4", hh_5_15="-1"),
        row("O-5", s06="0"),
    ],
)
write("survey_bad_wave.csv", [row("W-1", wave="18m"), row("W-2")])
write(
    "survey_skip_bad_rows.csv", [row("S-1"), row("S-2", s05="six"), row("S-3"), row("S-4", hood="nowhere"), row("S-5")]
)
write("survey_missing_column.csv", three, cols=[c for c in COLS if c != "s17"])
extra = COLS + ["comments"]
write("survey_unknown_column.csv", [dict(r, comments="fine") for r in three], cols=extra)
dup = COLS + ["S01"]
(OUT / "survey_duplicate_header.csv").write_text(
    "\n".join([",".join(dup)] + [",".join([r[c] for c in COLS] + ["4"]) for r in three]) + "\n"
)
(OUT / "survey_empty.csv").write_bytes(b"")
(OUT / "survey_blank_lines_only.csv").write_bytes(b"\r\n\r\n  \r\n")
write("survey_header_only.csv", [])
write("survey_header_and_blank_rows.csv", ["commas", None, "commas"])
(OUT / "survey_png.csv").write_bytes(
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
(OUT / "survey_binary.csv").write_bytes(bytes(range(256)) * 4)
bad = lines([row("G-1"), row("G-2")])
bad[2] = bad[2].replace("G-2", "G,2", 1)
(OUT / "survey_ragged.csv").write_text("\n".join(bad) + "\n")
write("survey_actually_csv.xlsx", three)
write("survey_cp1252.csv", [row("CAFÉ-1"), row("NOËL-2", wave="6m"), row("A-3")], encoding="cp1252")
(OUT / "survey_utf16.csv").write_bytes(("\r\n".join(lines(three, sep="\t")) + "\r\n").encode("utf-16"))
write("survey_sep_line.csv", three, sep=";", prefix="sep=;\n")
q = lines(three)
q[1] = q[1].replace("A-1", '"A-1, first"', 1)
(OUT / "survey_quoted.csv").write_text("\n".join(q) + "\n")
(OUT / "survey_is_population.csv").write_text("neighbourhood,dimension,category,population\noakfield,gender,male,10\n")
# sources for XLSX files built at test time (numbers become numbers, 'date:' cells dates)
write(
    "xlsx_survey_labels.csv",
    [
        row(
            "X-1",
            wave="Baseline",
            mode="Placed in the neighbourhood",
            s01="Strongly agree",
            general_health="Good",
            years_lived="3-5 Years",
            gender="Male",
        ),
        row("X-2", wave="12 months", s02="Disagree", ethnicity="Mixed/Multiple ethnic group"),
        row("X-3", wave="6m"),
    ],
)
write("xlsx_survey_bad_rows.csv", [row("XB-1"), None, row("XB-3", s05="8"), row("XB-4", hood="nowhere"), None, None])
write("xlsx_survey_excel_dates.csv", [row("XD-1", years_lived="date:2025-02-01"), row("XD-2")])
# other kinds: one string per line of the file


def lines_to(name: str, *rows: str, encoding: str = "utf-8", sep: str = ",") -> None:
    (OUT / name).write_bytes(("\n".join(r.replace(",", sep) for r in rows) + "\n").encode(encoding))


AREAS = "neighbourhood,name,project,role"
lines_to(
    "areas_cp1252.csv",
    AREAS,
    "cafe-row,Café Row,working-xtra,pilot",
    "noel,Noël Green,council-tax-reduction,comparison",
    encoding="cp1252",
)
lines_to(
    "areas_bad_role.csv",
    AREAS,
    "oakfield,Oakfield,working-xtra,pilot",
    "elm,Elm,working-xtra,control",
    "fen,Fen,no-such-project,pilot",
)
lines_to(
    "areas_name_clash.csv",
    AREAS,
    "hollins,Hollins Green,working-xtra,comparison",
    "hollins,Hollins,council-tax-reduction,comparison",
    "oak,Oak,working-xtra,pilot",
)
lines_to(
    "xlsx_areas_project_names.csv",
    "Neighbourhood ,Name,PROJECT,Role",
    "lea,Lea Bank,Working Xtra,Pilot",
    "moor,Moorside,council-tax-reduction,comparison",
)

POPULATION = "neighbourhood,dimension,category,population"


def pop_rows(h, ages=(100, 100, 100, 100), genders=(200, 200)):
    bands = zip(["16-34", "35-49", "50-64", "65+"], ages, strict=True)
    out = [f"{h},age_band,{b},{n}" for b, n in bands if n is not None]
    return out + [f"{h},gender,{g},{n}" for g, n in zip(["male", "female"], genders, strict=True) if n is not None]


lines_to(
    "population_totals_disagree.csv", POPULATION, *pop_rows("oakfield", genders=(200, 250)), *pop_rows("brookside")
)
lines_to("population_missing_band.csv", POPULATION, *pop_rows("oakfield", ages=(150, 150, 100, None)))
lines_to(
    "population_wrong_category.csv",
    POPULATION,
    *[r.replace("gender,male", "age_band,male") for r in pop_rows("oakfield")],
)
lines_to(
    "population_european.csv",
    POPULATION,
    *pop_rows("oakfield", ages=("1.100", 900, 1000, 1000), genders=("2.000", "2.000")),
    sep=";",
)
lines_to(
    "population_bad_row_takes_neighbourhood.csv",
    POPULATION,
    *pop_rows("oakfield", ages=(100, 100, "lots", 100)),
    *pop_rows("brookside"),
)
# a third dimension (settings.yaml declares ethnicity: white, asian, black-mixed-other), given for oakfield only
ETHNICITY = ("white", "asian", "black-mixed-other")
lines_to(
    "population_ethnicity.csv",
    POPULATION,
    *pop_rows("oakfield"),
    *[f"oakfield,ethnicity,{e},{n}" for e, n in zip(ETHNICITY, (300, 60, 41), strict=True)],
    *pop_rows("brookside"),
)
lines_to("population_undeclared_dimension.csv", POPULATION, *pop_rows("oakfield"), "oakfield,tenure,owner,250")
lines_to(
    "population_ethnicity_partial.csv",
    POPULATION,
    *pop_rows("oakfield"),
    "oakfield,ethnicity,white,300",
    "oakfield,ethnicity,asian,100",
)
lines_to(
    "population_ethnicity_total.csv",
    POPULATION,
    *pop_rows("oakfield"),
    *[f"oakfield,ethnicity,{e},{n}" for e, n in zip(ETHNICITY, (300, 60, 60), strict=True)],
)
lines_to(
    "population_ethnicity_wrong_category.csv",
    POPULATION,
    *pop_rows("oakfield"),
    *[f"oakfield,ethnicity,{e},{n}" for e, n in zip(("white", "asian", "male"), (300, 60, 40), strict=True)],
)

INDICATORS = "indicator,neighbourhood,period,value,predicted"
(OUT / "indicators_decimal_comma.csv").write_text(
    "\n".join(
        [
            INDICATORS.replace(",", ";"),
            "employment-rate;oakfield;2024-01;12,5;",
            "crime-asb;all;2024-02;1.234,5;1000",
            "empty-properties;Oakfield;2024-03;7;",
        ]
    )
    + "\n"
)
lines_to(
    "indicators_thousands.csv",
    INDICATORS,
    'empty-properties,oakfield,2024-01,"1,234.5",',
    "empty-properties,oakfield,2024-02,-3,",
)
lines_to(
    "indicators_unknown_id.csv",
    INDICATORS,
    "employment-rate,oakfield,2024-01,70,",
    "happiness-index,oakfield,2024-01,5,",
)
lines_to(
    "indicators_future_period.csv",
    INDICATORS,
    "employment-rate,oakfield,2099-01,70,",
    "employment-rate,oakfield,2024-13,70,",
    "employment-rate,oakfield,01/02/2024,70,",
)
lines_to(
    "indicators_no_predicted_column.csv",
    "indicator,neighbourhood,period,value",
    "employment-rate,oakfield,2024-01,70.5",
    "employment-rate,oakfield,15/02/2024,71",
)

STORIES = "story_id,project,neighbourhood,wave,outcomes,title,text,consent"
lines_to(
    "stories_unknown_outcome.csv",
    STORIES,
    "s1,working-xtra,oakfield,6m,people-wellbeing;place-pride-trust,A,Text,yes",
    "s2,working-xtra,oakfield,6m,people-wellbeing;pride,B,Text,yes",
    "s3,working-xtra,oakfield,12m,,C,Text,no",
)
lines_to(
    "stories_multiline.csv",
    STORIES,
    's1,working-xtra,oakfield,6m,people-wellbeing,A,"Line one\nline two, with a comma\n\nand a new paragraph",Yes',
    "s2,working-xtra,oakfield,6m,people-wellbeing,B,Text,maybe",
)
lines_to(
    "stories_wrong_area.csv",
    STORIES,
    "s1,working-xtra,ashgrove,6m,people-wellbeing,A,Text,yes",
    "s2,council-tax-reduction,ashgrove,6m,people-wellbeing,B,Text,yes",
)
lines_to(
    "stories_outcome_spacing.csv",
    STORIES,
    's1,Working Xtra,oakfield,6 months," people-wellbeing ; place-pride-trust ",A,Text,YES',
)

SENTIMENT = "item_id,project,neighbourhood,date,channel,text"
lines_to(
    "sentiment_future_date.csv",
    SENTIMENT,
    "i1,working-xtra,oakfield,2025-01-21,twitter,Good",
    "i2,working-xtra,oakfield,2099-12-31,twitter,From the future",
    "i3,working-xtra,oakfield,2025-02-30,twitter,No such day",
)
lines_to(
    "sentiment_uk_dates.csv",
    SENTIMENT,
    "i1,working-xtra,oakfield,21/01/2025,twitter,Good",
    "i2,working-xtra,oakfield,2025-01-22 14:05:00,facebook,Fine",
)
lines_to(
    "sentiment_formula_text.csv",
    SENTIMENT,
    'i1,working-xtra,oakfield,2025-01-21,twitter,"=HYPERLINK(""http://x"",""y"")"',
    'i2,working-xtra,oakfield,=1+1,twitter,"@SUM(1+1)"',
    'i3,working-xtra,oakfield,2025-01-22,-,"-2"',
)

# added later: neighbourhood ids in another case, numbers too big to be counts, row numbers across empty lines
write("survey_neighbourhood_case.csv", [row("C-1", hood="OAKFIELD"), row("C-2", hood="Brookside")])
write("survey_neighbourhood_case_duplicate.csv", [row("C-1", hood="Oakfield"), row("C-1", hood="oakfield"), row("C-3")])
write(
    "survey_huge_numbers.csv",
    [row("H-1", hh_0_4="99999999999999999999"), row("H-2", age="1e400"), row("H-3", happiness="nan")],
)
write("survey_leading_blank_lines.csv", [row("E-1"), row("E-2", s05="0")], prefix="\n\n")
ql = lines([row("Q-1"), None, row("Q-3"), row("Q-4", s05="six")])
ql[1] = ql[1].replace("Q-1", '"Q-1"', 1)
(OUT / "survey_blank_line_and_quotes.csv").write_text("\n".join(ql) + "\n")

"""The input kinds, defined once: what each file's columns hold, which rows are one, and the table it fills.

A :class:`Kind` is plain data: its :class:`Column` specifications (type, accepted codes and labels, range,
required or not, what a valid cell holds in words), the key columns that must be unique within a file,
the key columns an import owns (a clash with another file's rows needs ``--replace``), and how rows are
stored. Whatever the framework defines (the survey's statements and scales, waves, projects, age bands
and genders, indicators, the financial-resilience questionnaire) is read from
:func:`helpers.config.framework.framework`, never typed here again.

Everything else follows from these definitions:

- the store's tables (:func:`helpers.store.database.ensure_schema`: ``Kind.table_columns``);
- the intake's checks (:mod:`helpers.store.validation`, :mod:`helpers.store.loading`);
- the XLSX data-entry templates (:mod:`helpers.store.entry_template`);
- the README's table of file formats (:func:`readme_table`; ``python -m helpers docs`` rewrites it).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..config.errors import FrameworkError, UserError, allowed
from ..config.framework import Framework

# The kinds every database has a table for, in the order of DESIGN.md (status and build-db follow it).
CORE_KINDS = ("areas", "population", "survey", "indicators", "stories", "sentiment")
# Kinds that exist only when the framework defines them (their file name is the kind's name, too).
OPTIONAL_KINDS = ("resilience",)
ID_TEXT = "an id (letters, digits, '-' or '_')"
LONG_ITEM, LONG_ANSWER = "item", "answer"  # a long table's question and answer columns
README_START, README_END = "<!-- kinds:start -->\n", "<!-- kinds:end -->"


@dataclass(frozen=True)
class Column:
    """What one input column may hold (derived from the framework; nothing here is typed twice)."""

    name: str
    kind: str  # text | id | int | float | code | date | period
    nullable: bool = False
    optional: bool = False  # the column itself may be absent from the file
    codes: Mapping[str, object] = field(default_factory=dict)  # accepted spelling (lower case) -> stored code
    picks: tuple[str, ...] = ()  # what a person picks from in a template (printed labels, or codes)
    minimum: float | None = None
    maximum: float | None = None
    expected: str = ""  # what a valid cell holds, in words, for rejects and templates
    help: str = ""  # what the column records (the questionnaire's wording where there is one)
    sql: str = ""  # the stored type when it is not the kind's usual one (see db_type)
    brief: str = ""  # a few words for the README's table of file formats
    block: str = ""  # columns of one framework block (s01..s17) are shown as a range in the README

    @property
    def db_type(self) -> str:
        """The DuckDB type of the stored column."""
        if self.sql:
            return self.sql
        if self.kind == "code":
            return "TINYINT" if self.codes and all(isinstance(v, int) for v in self.codes.values()) else "VARCHAR"
        return {"int": "BIGINT", "float": "DOUBLE", "date": "DATE", "period": "DATE"}.get(self.kind, "VARCHAR")


@dataclass(frozen=True)
class Kind:
    """One input kind: its file's columns and the rules for loading it."""

    name: str  # what a user types: python -m helpers import NAME FILE; also the table's name
    columns: tuple[Column, ...]
    unique: tuple[str, ...]  # a file holds each combination once (a repeat is a reject)
    scope: tuple[str, ...]  # the rows an import owns: another file's rows with these values need --replace
    row: str = "record"  # what one row is, in words (the template's instructions)
    rows_word: str = "rows"  # the import's message: "loaded 3 survey rows", "28 resilience questionnaires"
    people: tuple[str, ...] = ()  # (column, word): the import's message counts its distinct values
    serves_project: bool = False  # the row's neighbourhood must serve the row's project (areas table)
    whole_area: str = ""  # a neighbourhood id that means the whole area (indicators: all)
    load_together: str = ""  # rows with the same value here load together or not at all (population)
    long: tuple[str, ...] = ()  # columns stored one table row each, as (item, answer) text
    note: str = ""  # the README: what else the file must satisfy

    @property
    def table(self) -> str:
        return self.name

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        """Columns the file must have (optional ones may be left out)."""
        return [c.name for c in self.columns if not c.optional]

    @property
    def has_waves(self) -> bool:
        return "wave" in self.names

    @property
    def table_columns(self) -> dict[str, str]:
        """Column name -> DuckDB type of the stored table (without ``batch_id``)."""
        kept = {c.name: c.db_type for c in self.columns if c.name not in self.long}
        return kept | ({LONG_ITEM: "VARCHAR", LONG_ANSWER: "VARCHAR"} if self.long else {})

    def stored_rows_sql(self) -> str:
        """SQL counting the file rows a batch left in the table (a long table has several rows per file row)."""
        if not self.long:
            return "count(*)"
        return "count(DISTINCT (" + ", ".join(f'"{k}"' for k in self.unique) + "))"


# --- building columns -------------------------------------------------------------------------------


def or_blank(text: str, nullable: bool) -> str:
    return f"{text}, or blank" if nullable else text


def either(choices: Iterable[object]) -> str:
    """`pilot` or `comparison`: a short list of codes for the README."""
    shown = [f"`{c}`" for c in choices]
    return ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else "".join(shown)


def choice_column(
    name: str,
    choices: Iterable[tuple[object, str]],
    *,
    nullable: bool = False,
    optional: bool = False,
    help: str = "",
    pick_labels: bool = True,
    expected: str | None = None,
    brief: str = "",
    block: str = "",
) -> Column:
    """A column holding one of a list of codes; the printed label is accepted too, in any case."""
    choices = list(choices)
    codes: dict[str, object] = {}
    for code, label in choices:
        for spelling in {str(code).strip().lower(), str(label).strip().lower()}:
            if codes.get(spelling, code) != code:
                raise FrameworkError(f"column {name}: '{spelling}' would mean both {codes[spelling]} and {code}")
            codes[spelling] = code
    shown = "; ".join(f"{code} or '{label}'" if str(code) != str(label) else str(code) for code, label in choices)
    return Column(
        name,
        "code",
        nullable=nullable,
        optional=optional,
        codes=codes,
        picks=tuple(str(label if pick_labels else code) for code, label in choices),
        expected=or_blank(expected or f"one of: {shown}", nullable),
        help=help,
        brief=brief,
        block=block,
    )


def scale(choices) -> list[tuple[object, str]]:
    return [(c.code, c.label) for c in choices]


def _same(*codes: str) -> list[tuple[str, str]]:
    return [(c, c) for c in codes]


def _neighbourhood(help: str = "the neighbourhood's id from the areas file") -> Column:
    return Column("neighbourhood", "id", expected=ID_TEXT, help=help)


def _project(fw: Framework, help: str) -> Column:
    return choice_column("project", [(p.id, p.name) for p in fw.projects], pick_labels=False, help=help)


def _one_item(fw: Framework, id_column: str, what: str) -> tuple[Column, Column, Column]:
    """The id, project and neighbourhood of a story or a sentiment item."""
    return (
        Column(id_column, "text", expected=f"the {what}'s id", help=f"the {what}'s id, unique"),
        _project(fw, f"the project the {what} is about"),
        _neighbourhood(),
    )


def _yes_no(name: str, help: str, *, nullable: bool = False, expected: str | None = None, block: str = "") -> Column:
    brief = either(("yes", "no"))
    return choice_column(
        name, _same("yes", "no"), nullable=nullable, help=help, expected=expected, brief=brief, block=block
    )


def _wave(fw: Framework, help: str) -> Column:
    return choice_column("wave", [(w.id, w.label) for w in fw.settings.waves], help=help)


# --- the kinds ----------------------------------------------------------------------------------------


def _areas(fw: Framework) -> Kind:
    roles = ("pilot", "comparison")
    columns = (
        _neighbourhood("the neighbourhood's id, used in every other file"),
        Column("name", "text", expected="the neighbourhood's name", help="the name shown in reports"),
        _project(fw, "the project this neighbourhood serves"),
        choice_column(
            "role", _same(*roles), help="pilot (the project runs here) or comparison (it does not)", brief=either(roles)
        ),
    )
    key = ("neighbourhood", "project")
    return Kind("areas", columns, key, key, note="a neighbourhood may serve several projects")


def _population(fw: Framework) -> Kind:
    """Adults per category of each weighting dimension the framework declares (settings.yaml ``weighting``):
    age band and gender always, any other (an ethnic group, ...) when the council has its counts."""
    declared = fw.settings.weighting.declared
    gender_labels = {c.code: c.label for c in fw.instrument.gender.categories}
    dimensions = tuple(d.id for d in declared)
    categories = dict.fromkeys(
        (c, gender_labels.get(c, c) if d.id == "gender" else c) for d in declared for c in d.category_ids
    )
    columns = (
        _neighbourhood(),
        choice_column(
            "dimension",
            _same(*dimensions),
            help="age_band, gender or another weighting dimension of settings.yaml",
            brief=either(dimensions),
        ),
        choice_column(
            "category",
            list(categories),
            help="a category of that dimension (an age band, a gender, ...)",
        ),
        Column(
            "population",
            "int",
            minimum=0,
            expected="a whole number of adults, 0 or more",
            help="adults (16+) living in the neighbourhood in this category",
            brief="adults 16+",
        ),
    )
    return Kind(
        "population",
        columns,
        ("neighbourhood", "dimension", "category"),
        ("neighbourhood",),
        load_together="neighbourhood",
        note="age-band total must equal gender total; another dimension's within 0.5%",
    )


def _survey(fw: Framework) -> Kind:
    ins = fw.instrument
    columns = (
        Column(
            "respondent_id",
            "text",
            expected="the questionnaire's id",
            help="the questionnaire's id, unique within neighbourhood and wave",
        ),
        _neighbourhood(),
        _wave(fw, "the survey wave"),
        choice_column("mode", scale(ins.modes), nullable=True, help="how the questionnaire came back"),
        *_survey_answers(fw),
    )
    return Kind(
        "survey",
        columns,
        ("respondent_id", "neighbourhood", "wave"),
        ("neighbourhood", "wave"),
        row="returned questionnaire",
    )


def _survey_answers(fw: Framework) -> list[Column]:
    """The questionnaire's columns, in its order: statements, health, happiness, years, household, about you."""
    ins = fw.instrument
    first, last = ins.statements.scale[0], ins.statements.scale[-1]
    agree = f"{first.code}-{last.code} ({first.code} = {first.label}, {last.code} = {last.label}) or the printed label"
    gh, h, hh, age = ins.general_health, ins.happiness, ins.household, ins.age
    return [
        *(
            choice_column(s.id, scale(ins.statements.scale), nullable=True, help=s.text, expected=agree, block="s")
            for s in ins.statements.items
        ),
        choice_column(gh.id, scale(gh.scale), nullable=True, help=gh.question),
        _answered_number(h.id, h.min, h.max, h.question, "TINYINT"),
        *(
            choice_column(i.id, scale(ins.years.bands), nullable=True, help=f"{ins.years.question} {i.text} ...")
            for i in ins.years.items
        ),
        *(
            _answered_number(i.id, 0, hh.max_per_band, f"{hh.question} {i.label}", "TINYINT", block="hh")
            for i in hh.items
        ),
        choice_column(ins.ethnicity.id, scale(ins.ethnicity.categories), nullable=True, help=ins.ethnicity.question),
        choice_column(ins.gender.id, scale(ins.gender.categories), nullable=True, help=ins.gender.question),
        _answered_number(age.id, age.min, age.max, age.question, "SMALLINT", what="age in whole years"),
    ]


def _answered_number(
    name: str, low: int, high: int, help: str, sql: str, *, what: str = "a whole number", block: str = ""
) -> Column:
    """A questionnaire's whole-number answer from ``low`` to ``high``, blank when not answered."""
    expected = f"{what} from {low} to {high}, or blank"
    return Column(
        name, "int", nullable=True, minimum=low, maximum=high, expected=expected, help=help, sql=sql, block=block
    )


def _indicators(fw: Framework) -> Kind:
    columns = (
        choice_column(
            "indicator",
            [(i.id, i.label) for i in fw.indicators],
            pick_labels=False,
            expected=f"an indicator id from the framework ({allowed(i.id for i in fw.indicators)})",
            help="the indicator's id (data/framework/indicators.yaml)",
        ),
        Column(
            "neighbourhood",
            "id",
            expected=ID_TEXT + " or 'all'",
            help="the neighbourhood's id, or all for the area",
            brief="or `all`",
        ),
        Column(
            "period",
            "period",
            expected="a month YYYY-MM or a date YYYY-MM-DD (or DD/MM/YYYY), not in the future",
            help="the month or date the value is for",
            brief="`YYYY-MM` or `YYYY-MM-DD`",
        ),
        Column("value", "float", expected="a number", help="the indicator's value"),
        Column(
            "predicted",
            "float",
            nullable=True,
            optional=True,
            expected="a number, or blank",
            help="optional: the value expected without the project",
        ),
    )
    key = ("indicator", "neighbourhood", "period")
    return Kind("indicators", columns, key, key, whole_area="all")


def _stories(fw: Framework) -> Kind:
    outcomes = "outcome ids from the project's ripple map, separated by ';'"
    columns = (
        *_one_item(fw, "story_id", "story"),
        _wave(fw, "the wave the story belongs to"),
        Column("outcomes", "text", expected=outcomes, help=outcomes, brief="ids separated by `;`"),
        Column("title", "text", expected="a title", help="a short title"),
        Column("text", "text", expected="the story's text", help="the story as told"),
        _yes_no("consent", "yes if the person agreed to the story being shown; only yes is ever shown"),
    )
    return Kind("stories", columns, ("story_id",), ("story_id",), serves_project=True)


def _sentiment(fw: Framework) -> Kind:
    where = "where it was said (e.g. twitter, facebook, tracker)"
    columns = (
        *_one_item(fw, "item_id", "item"),
        Column(
            "date", "date", expected="a date YYYY-MM-DD (or DD/MM/YYYY), not in the future", help="the date it was said"
        ),
        Column("channel", "text", expected=where, help=where),
        Column("text", "text", expected="the item's text", help="what was said"),
    )
    return Kind("sentiment", columns, ("item_id",), ("item_id",), serves_project=True)


def _resilience(fw: Framework) -> Kind:
    """The financial-resilience questionnaire (resilience.yaml): one row per respondent and stage.

    Stored long, one table row per question (respondent_id, project, neighbourhood, stage, item, answer),
    as :func:`helpers.evidence.evidence.load_resilience` reads it.
    """
    res = fw.resilience
    if res is None:
        raise UserError("no financial-resilience questionnaire is defined: add data/framework/resilience.yaml")
    low, high = res.scale[0].code, res.scale[-1].code
    stages = [(s.id, s.label) for s in res.stages]
    columns = (
        Column(
            "respondent_id",
            "text",
            expected="the respondent's id (the same at both stages)",
            help="the respondent's id, the same at both stages",
        ),
        _project(fw, "the project that supported the respondent"),
        _neighbourhood(),
        choice_column(
            "stage",
            stages,
            pick_labels=False,
            help="; ".join(f"{c}: {label}" for c, label in stages),
            brief=either(c for c, _ in stages),
        ),
        *(
            choice_column(
                s.id,
                scale(res.scale),
                nullable=True,
                help=s.text,
                expected=f"{low}-{high} or a label of the scale",
                brief=f"{low}-{high}",
                block="statements",
            )
            for s in res.statements
        ),
        *(_yes_no(q.id, q.text, nullable=True, expected="yes or no", block="yes_no") for q in res.yes_no),
    )
    key = ("respondent_id", "project", "stage")
    return Kind(
        "resilience",
        columns,
        key,
        key,
        row="questionnaire (one respondent at one stage)",
        rows_word="questionnaires",
        people=("respondent_id", "respondents"),
        long=tuple(res.item_ids),
        note="one row per respondent and stage (data/framework/resilience.yaml)",
    )


BUILDERS = {
    "areas": _areas,
    "population": _population,
    "survey": _survey,
    "indicators": _indicators,
    "stories": _stories,
    "sentiment": _sentiment,
    "resilience": _resilience,
}


def known_kinds(fw: Framework | None = None) -> tuple[str, ...]:
    """The kinds a file may be imported as: the core ones, and the optional ones the framework defines."""
    return CORE_KINDS + tuple(k for k in OPTIONAL_KINDS if fw is None or getattr(fw, k, None) is not None)


def unknown_kind(name: str, fw: Framework | None = None) -> str:
    """The message for a kind nobody defined, with the nearest known one."""
    known = known_kinds(fw)
    near = difflib.get_close_matches(str(name).lower(), known, n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return f"unknown kind '{name}'{hint}; known: {', '.join(known)}"


def kind(name: str, fw: Framework) -> Kind:
    """The definition of one input kind (a plain message for an unknown one)."""
    if name not in BUILDERS:
        raise UserError(unknown_kind(name, fw))
    return BUILDERS[name](fw)


def kinds(fw: Framework) -> list[Kind]:
    """Every kind the framework defines, core ones first."""
    return [kind(name, fw) for name in known_kinds(fw)]


def columns_for(name: str, fw: Framework) -> list[Column]:
    """The columns a file of this kind must have, in the stored table's order, with what each may hold."""
    return list(kind(name, fw).columns)


# --- the README's table of file formats ------------------------------------------------------------


def _shown_columns(columns: tuple[Column, ...]) -> list[str]:
    """Columns as the README lists them: a run of three or more of one block as `first` .. `last`."""
    shown, i = [], 0
    while i < len(columns):
        col, j = columns[i], i + 1
        while col.block and j < len(columns) and columns[j].block == col.block:
            j += 1
        text = f"`{col.name}`" if j - i < 3 else f"`{col.name}` .. `{columns[j - 1].name}`"
        brief = col.brief or ("optional" if col.optional else "")
        shown.append(f"{text} ({brief})" if brief else text)
        i = j if j - i >= 3 else i + 1
    return shown


def readme_table(fw: Framework) -> str:
    """The README's table of file formats, generated from the kinds (``python -m helpers docs`` writes it)."""
    lines = ["| kind | columns |", "| --- | --- |"]
    for k in kinds(fw):
        lines.append(f"| {k.name} | {', '.join(_shown_columns(k.columns))}{'; ' + k.note if k.note else ''} |")
    return "\n".join(lines) + "\n"

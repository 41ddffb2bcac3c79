"""The framework as data: ideals, the Your Voice instrument, projects, the ripple's roll-up rule, self-evaluation
and settings.

Everything lives once as YAML under ``data/framework/`` and loads into frozen pydantic models
(STYLE.md 3). A bad definition fails at load with the file, the key and the allowed values::

    FrameworkError: projects/working-xtra.yaml: ripple[1].outcome 'pride' is not an outcome of any
    ideal; known: place-agency, place-business, ...
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import paths
from .errors import FrameworkError, allowed

IdealId = Literal["place", "people", "public-services"]
IDEAL_IDS: tuple[str, ...] = ("place", "people", "public-services")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- ideals -------------------------------------------------------------------------------------


class Outcome(Model):
    id: str
    label: str
    wording: str  # exactly as the framework document words it
    high_level_indicators: tuple[str, ...] = ()
    source_place: str = ""  # a place the wording names (the council that wrote the framework), if any

    def shown(self, area: str) -> str:
        """The wording as this council's reports show it: ``source_place`` replaced by the council's area."""
        return self.wording.replace(self.source_place, area) if self.source_place else self.wording


class Ideal(Model):
    id: IdealId
    name: str
    lead: str
    outcomes: tuple[Outcome, ...]


# --- instrument ---------------------------------------------------------------------------------


class Choice(Model):
    code: int | str
    label: str


class Statement(Model):
    id: str = Field(pattern=r"^s\d{2}$")
    short: str
    text: str


class StatementBlock(Model):
    question: str
    scale: tuple[Choice, ...]
    agree_codes: tuple[int, ...]
    disagree_codes: tuple[int, ...]
    items: tuple[Statement, ...]


class ScaleQuestion(Model):
    id: str
    question: str
    scale: tuple[Choice, ...]
    good_codes: tuple[int, ...]


class Happiness(Model):
    id: str
    question: str
    min: int
    max: int
    low: tuple[int, int]
    very_high: tuple[int, int]


class TextItem(Model):
    id: str
    text: str


class YearsBlock(Model):
    question: str
    items: tuple[TextItem, ...]
    bands: tuple[Choice, ...]


class CountItem(Model):
    id: str
    label: str


class HouseholdBlock(Model):
    question: str
    items: tuple[CountItem, ...]
    max_per_band: int


class CategoryQuestion(Model):
    id: str
    question: str
    categories: tuple[Choice, ...]


class AgeQuestion(Model):
    id: str
    question: str
    min: int
    max: int


class Instrument(Model):
    title: str
    statements: StatementBlock
    general_health: ScaleQuestion
    happiness: Happiness
    years: YearsBlock
    household: HouseholdBlock
    ethnicity: CategoryQuestion
    gender: CategoryQuestion
    age: AgeQuestion
    modes: tuple[Choice, ...]

    @property
    def statement_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.statements.items)

    def statement(self, statement_id: str) -> Statement:
        return {s.id: s for s in self.statements.items}[statement_id]

    def survey_columns(self) -> tuple[str, ...]:
        """The survey file's columns, in the order of DESIGN.md."""
        return (
            ("respondent_id", "neighbourhood", "wave", "mode")
            + self.statement_ids
            + (self.general_health.id, self.happiness.id)
            + tuple(i.id for i in self.years.items)
            + tuple(i.id for i in self.household.items)
            + (self.ethnicity.id, self.gender.id, self.age.id)
        )


# --- indicators and projects --------------------------------------------------------------------


class Indicator(Model):
    id: str
    label: str
    unit: Literal["percent", "rate", "count"]
    better: Literal["higher", "lower"]
    tier: Literal[1, 2, 3]


class RippleLine(Model):
    """One row of a project's "analysing the ripple" table: an outcome and how it is measured."""

    outcome: str
    survey: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    indicators_text: str = ""
    stories: str = ""
    sentiment: str = ""
    other: str = ""


class Project(Model):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    issue: str
    key_indicators: tuple[str, ...]
    solution: str
    expected_strongest: IdealId | None = None
    # Optional: the month the solution started, YYYY-MM (the baseline survey's month). Local indicators
    # and sentiment are dated, survey waves are not: this anchors the waves in time (docs/ripple.md).
    start: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    # Optional: the kind of scheme, as the network of councils pools it ("employment support"); default the id.
    family: str | None = Field(default=None, min_length=1, max_length=80, pattern=r"^[^\r\n]*$")
    ripple_summary: dict[IdealId, tuple[str, ...]] = Field(default_factory=dict)
    ripple: tuple[RippleLine, ...]

    @property
    def survey_statements(self) -> tuple[str, ...]:
        """Every statement the ripple map uses, once each, in instrument order."""
        used = {s for line in self.ripple for s in line.survey}
        return tuple(sorted(used))

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i for line in self.ripple for i in line.indicators))

    @property
    def outcome_ids(self) -> tuple[str, ...]:
        return tuple(line.outcome for line in self.ripple)


# --- the financial-resilience check (optional: resilience.yaml) --------------------------------


class ResilienceStatement(Model):
    """An agree/disagree statement; ``reverse`` when agreeing means less resilient."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str
    reverse: bool = False


class ResilienceYesNo(Model):
    """A yes/no question; ``better`` is the answer that counts as more resilient."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str
    short: str
    better: Literal["yes", "no"]


class ResilienceStage(Model):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    label: str


class ResilienceInstrument(Model):
    """A bespoke before-and-after questionnaire for people a project supports (seed 000, 4.9)."""

    id: str
    title: str
    illustrative: bool = True
    note: str
    projects: tuple[str, ...] = ()
    stages: tuple[ResilienceStage, ResilienceStage]  # (before, after): answers pair up by respondent
    scale: tuple[Choice, ...] = Field(min_length=2)
    score_label: str
    minimum_answered: int = Field(ge=1)
    statements: tuple[ResilienceStatement, ...] = Field(min_length=1)
    yes_no: tuple[ResilienceYesNo, ...] = ()

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.statements) + tuple(q.id for q in self.yes_no)


# --- the ripple's roll-up rule (ripple.yaml) -----------------------------------------------------

WeightId = Literal["survey-did", "survey-before-after", "indicators", "stories", "sentiment"]
WEIGHT_IDS: tuple[str, ...] = get_args(WeightId)


def _number_or_fraction(value):
    """A bound as written in YAML: a number, or a fraction such as "2/3" (kept exact: 2/3 means 2/3)."""
    if isinstance(value, str) and "/" in value:
        top, _, bottom = value.partition("/")
        try:
            return float(Fraction(int(top.strip()), int(bottom.strip())))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"not a number or a fraction such as 2/3: {value!r}") from None
    return value


Bound = Annotated[float, BeforeValidator(_number_or_fraction)]


class LineWeight(Model):
    """How much one kind of evidence line counts in an outcome's strength and certainty, and why."""

    line: str = Field(min_length=1)  # the line as docs/ripple.md names it
    weight: float = Field(ge=0)
    why: str = Field(min_length=1)


class WordBand(Model):
    """Words for the values at or above (``at_least``) or above (``above``) a bound; the last band has none."""

    words: str = Field(min_length=1)
    at_least: Bound | None = None
    above: Bound | None = None

    @property
    def bound(self) -> float | None:
        return self.at_least if self.at_least is not None else self.above

    def holds(self, value: float) -> bool:
        if self.at_least is not None:
            return value >= self.at_least
        return self.above is None or value > self.above


class WordScale(Model):
    """Words for a value: the first band that holds it, in order; ``none`` when there is no value."""

    none: str = ""
    bands: tuple[WordBand, ...] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _ordered(cls, bands):
        *bounded, last = bands
        for n, band in enumerate(bounded):
            if (band.at_least is None) == (band.above is None):
                raise ValueError(f"band {n} ({band.words!r}) needs exactly one of at_least or above")
        if last.bound is not None:
            raise ValueError(f"the last band ({last.words!r}) takes the rest: it has no at_least or above")
        bounds = [b.bound for b in bounded]
        if any(later >= earlier for earlier, later in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"bounds must go down from band to band; got {', '.join(f'{b:g}' for b in bounds)}")
        return bands

    def words_for(self, value: float | None) -> str:
        if value is None or math.isnan(value):
            return self.none
        return next(b.words for b in self.bands if b.holds(value))


class ClearRule(Model):
    """When an item (a survey statement, a local indicator) counts as clear: ``each`` by its own test at the
    confidence level (the verdict the survey tables show), ``holm`` only after Holm's correction over the
    outcome's items."""

    method: Literal["each", "holm"]
    why: str = Field(min_length=1)


class Disagreement(Model):
    """What happens when an outcome's lines (an ideal's outcomes) point clearly in opposite directions."""

    subtract: float = Field(ge=0)  # certainty: the disagreeing weight, times this, comes off the agreeing weight
    words: str = Field(min_length=1)  # the strength words instead of the band's
    why: str = Field(min_length=1)


class PreTrends(Model):
    """How a local indicator's trends before the project count towards certainty: the share of a local-indicators
    line's weight that counts when its clear result rests on an indicator whose pilot and comparison areas moved
    differently before the project (``diverging``), or on one that could not be checked (``untested``)."""

    diverging: float = Field(ge=0, le=1)
    untested: float = Field(ge=0, le=1)
    why: str = Field(min_length=1)


class RollupRule(Model):
    """The ripple's roll-up rule (ripple.yaml; docs/ripple.md): line weights, strength and certainty words,
    when an item is clear, what disagreement does, which strength words need the survey to agree, and what a
    local indicator's trends before the project do to certainty (none: nothing)."""

    weights: dict[WeightId, LineWeight]
    strength: WordScale
    certainty: WordScale
    clear: ClearRule
    disagreement: Disagreement
    survey_must_agree: tuple[str, ...] = ()
    pre_trends: PreTrends | None = None

    @field_validator("survey_must_agree")
    @classmethod
    def _strength_words(cls, words, info: ValidationInfo):
        scale = info.data.get("strength")
        known = [b.words for b in scale.bands] if scale else []
        unknown = [w for w in words if w not in known]
        if scale and unknown:
            raise ValueError(f"{', '.join(map(repr, unknown))} not among the strength words; known: {allowed(known)}")
        return words

    @field_validator("weights")
    @classmethod
    def _every_line(cls, weights):
        missing = [w for w in WEIGHT_IDS if w not in weights]
        if missing:
            raise ValueError(f"no weight for {', '.join(missing)}; every line needs one: {allowed(WEIGHT_IDS)}")
        return {w: weights[w] for w in WEIGHT_IDS}

    @field_validator("strength")
    @classmethod
    def _strength_range(cls, scale):
        return _bounds_within(scale, -1, 1)

    @field_validator("certainty")
    @classmethod
    def _certainty_range(cls, scale):
        return _bounds_within(scale, 0, 1)

    def weight(self, line: str) -> float:
        return self.weights[line].weight

    def strength_words(self, strength: float) -> str:
        return self.strength.words_for(strength)

    def certainty_words(self, certainty: float) -> str:
        return self.certainty.words_for(certainty)


def _bounds_within(scale: WordScale, low: float, high: float) -> WordScale:
    for n, band in enumerate(scale.bands):
        if band.bound is not None and not low <= band.bound <= high:
            raise ValueError(f"bands[{n}] ({band.words!r}): bound {band.bound:g} is outside {low:g} to {high:g}")
    return scale


# --- self-evaluation ----------------------------------------------------------------------------


class Level(Model):
    id: Literal["aspiring", "developing", "achieving", "leading"]
    name: str
    description: str


class Criteria(Model):
    aspiring: str
    developing: str
    achieving: str
    leading: str


class PerformanceArea(Model):
    id: str
    name: str
    statement: str
    principle: str = ""
    ideals: tuple[IdealId, ...] = Field(min_length=1)
    ideals_reason: str
    criteria: Criteria


class SelfEvaluation(Model):
    intro: str
    note: str
    levels: tuple[Level, ...] = Field(min_length=4, max_length=4)
    areas: tuple[PerformanceArea, ...] = Field(min_length=1)


# --- settings -----------------------------------------------------------------------------------


class Wave(Model):
    id: str
    label: str
    months: int


class Thresholds(Model):
    minimum_base: int = Field(ge=1)
    low_base: int = Field(ge=1)
    confidence_level: float = Field(gt=0.5, lt=1)


class AgeBand(Model):
    id: str
    min: int
    max: int


class DimensionCategory(Model):
    """One category of a weighting dimension and the survey answers that fall in it: ``codes`` (answers of a
    question with choices, such as ethnic groups merged into the groups the census counts) or ``min`` to
    ``max`` (a number such as age, both ends included). An answer in no category (prefer not to say, blank,
    an answer the census does not count) is ``unknown``: see :class:`WeightingDimension`."""

    id: str = Field(min_length=1)
    codes: tuple[int | str, ...] = ()
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _codes_or_range(self):
        has_range = self.min is not None or self.max is not None
        if bool(self.codes) == has_range:
            raise ValueError(f"category '{self.id}' needs either codes or min and max, not both and not neither")
        if has_range and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError(f"category '{self.id}' needs min and max with min <= max")
        return self


UNKNOWN_CATEGORY = "unknown"
"""The weighting category of a respondent whose answer falls in no category of a dimension."""


class WeightingDimension(Model):
    """A margin respondents can be raked to: ``id`` is the population file's ``dimension``, ``column`` the
    survey column it is read from, ``categories`` the population file's categories for it and the answers in
    each, ``label`` the reader's words for it ("ethnic group").

    ``unknown`` says what happens to a respondent whose answer is in no category (prefer not to say, blank):
    ``pro-rata`` (the only rule so far, and the one age and gender have always used) puts them in an
    ``unknown`` category whose target is their share of the respondents times the population; the known
    categories share out the rest in proportion to the population file. Nobody is dropped, and a respondent
    who gave an age but no ethnic group still counts towards the age margin."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    column: str = Field(min_length=1)
    categories: tuple[DimensionCategory, ...] = Field(min_length=1)
    unknown: Literal["pro-rata"] = "pro-rata"

    @field_validator("categories")
    @classmethod
    def _distinct(cls, categories):
        ids = [c.id for c in categories]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"category ids must be unique; {', '.join(twice)} given twice")
        if UNKNOWN_CATEGORY in ids:
            raise ValueError(f"'{UNKNOWN_CATEGORY}' is kept for answers in no category; choose another id")
        if len({bool(c.codes) for c in categories}) > 1:
            raise ValueError("give every category codes, or every category min and max, not a mix")
        codes = [str(code) for c in categories for code in c.codes]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"code(s) {', '.join(twice)} are in more than one category; each answer has one")
        ranges = sorted((c.min, c.max, c.id) for c in categories if c.min is not None)
        for (_, high, first), (low, _, second) in zip(ranges, ranges[1:], strict=False):
            if low <= high:
                raise ValueError(f"categories '{first}' and '{second}' overlap; an answer can be in one only")
        return categories

    @property
    def banded(self) -> bool:
        """True when answers are numbers placed by ``min`` and ``max`` (age), False when they are codes."""
        return self.categories[0].min is not None

    @property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)


MARGIN_TOTALS_TOLERANCE = 0.005
"""Largest relative gap allowed between a neighbourhood's margin totals (each is rescaled to the first's)."""

AGE_BAND, GENDER = "age_band", "gender"
"""The two dimensions every population file carries (``age_bands`` and ``genders`` in settings.yaml)."""


class Weighting(Model):
    """How respondents are weighted (docs/method.md, "Weighting"): the margins declared (age band and gender
    always, from ``age_bands`` and ``genders``; any others in ``dimensions``), which of them to rake to
    (``rake_to`` for every project, ``rake_to_by_project`` for one), the optional cap on a weight as a
    multiple of the mean weight, and when raking stops."""

    age_bands: tuple[AgeBand, ...]
    genders: tuple[str, ...]
    dimensions: tuple[WeightingDimension, ...] = ()
    rake_to: tuple[str, ...] = (AGE_BAND, GENDER)
    rake_to_by_project: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    weight_cap: float | None = Field(default=None, ge=1)
    max_iterations: int = Field(default=100, ge=1)
    tolerance: float = Field(default=1e-8, gt=0)

    @model_validator(mode="after")
    def _known_dimensions(self):
        ids = [d.id for d in self.dimensions]
        for i in ids:
            if i in (AGE_BAND, GENDER):
                raise ValueError(f"dimensions: '{i}' is declared by age_bands and genders; give other dimensions")
            if ids.count(i) > 1:
                raise ValueError(f"dimensions: '{i}' is declared twice; ids must be unique")
        known = (AGE_BAND, GENDER, *ids)
        choices = {"rake_to": self.rake_to} | {f"rake_to_by_project.{p}": d for p, d in self.rake_to_by_project.items()}
        for where, chosen in choices.items():
            if not chosen:
                raise ValueError(f"{where}: name at least one dimension; known: {', '.join(known)}")
            for d in chosen:
                if d not in known:
                    raise ValueError(f"{where}: '{d}' is not a declared dimension; known: {', '.join(known)}")
            if len(set(chosen)) != len(chosen):
                raise ValueError(f"{where}: a dimension is named twice ({', '.join(chosen)})")
        return self

    @property
    def declared(self) -> tuple[WeightingDimension, ...]:
        """Every dimension a population file may carry: age band and gender first, then ``dimensions``."""
        age = WeightingDimension(
            id=AGE_BAND,
            label="age group",
            column="age",
            categories=tuple(DimensionCategory(id=b.id, min=b.min, max=b.max) for b in self.age_bands),
        )
        gender = WeightingDimension(
            id=GENDER,
            label="gender",
            column="gender",
            categories=tuple(DimensionCategory(id=g, codes=(g,)) for g in self.genders),
        )
        return (age, gender, *self.dimensions)

    def dimension(self, dimension_id: str) -> WeightingDimension:
        return next(d for d in self.declared if d.id == dimension_id)

    def margins(self, project: str | None = None) -> tuple[WeightingDimension, ...]:
        """The dimensions raked to, in the order raking visits them: the project's own choice
        (``rake_to_by_project``) when it has one, else ``rake_to``. The first sets the population total."""
        chosen = self.rake_to_by_project.get(project, self.rake_to) if project is not None else self.rake_to
        return tuple(self.dimension(d) for d in chosen)


class Council(Model):
    name: str
    logo: str = ""
    area: str = "our area"  # the council's area in words, where the framework's wording names another place
    # One line printed on every report and PDF page: who to ask (a team, an email, a phone number).
    contact: str = Field(default="", max_length=160, pattern=r"^[^\r\n]*$")
    # The publication date printed on reports (YYYY-MM-DD, or words); blank: none. Set by the council when it
    # publishes, never taken from the clock, so the same inputs always give the same pages.
    published: str = Field(default="", max_length=40, pattern=r"^[^\r\n]*$")


class Batch(Model):
    timeout_minutes: float = 10


class Dashboards(Model):
    """How the dashboard server shares this machine among viewers (docs/dashboards.md, "Serving a committee").

    Each open page holds one Python kernel; kernels prepared in advance (a pool per dashboard) make a page
    interactive at once. At most ``max_viewers`` pages are served at once (one more is asked to try again in a
    minute), so the server never holds more than ``max_viewers`` + the pools' kernels.
    """

    pool_size: int = Field(default=1, ge=0, le=20)  # kernels kept ready for each pre-heated dashboard
    pool_sizes: dict[str, Annotated[int, Field(ge=0, le=20)]] = Field(default_factory=dict)  # by dashboard
    max_viewers: int = Field(default=10, ge=1, le=100)
    refill_delay: float = Field(default=10, ge=0, le=600)  # seconds
    refill_spacing: float = Field(default=4, ge=0, le=600)  # seconds
    closed_page_timeout: float = Field(default=30, ge=0, le=3600)  # seconds
    cull_idle_timeout: int = Field(default=900, ge=0)  # seconds; 0: never
    cull_interval: int = Field(default=60, ge=1)  # seconds
    cull_connected: bool = True

    def pool(self, dashboard: str) -> int:
        """Kernels kept ready for one dashboard (its notebook's name without .ipynb)."""
        return self.pool_sizes.get(dashboard, self.pool_size)


class Settings(Model):
    council: Council
    waves: tuple[Wave, ...] = Field(min_length=1)
    thresholds: Thresholds
    weighting: Weighting
    batch: Batch = Batch()
    dashboards: Dashboards = Dashboards()

    @field_validator("waves")
    @classmethod
    def _unique_waves(cls, waves):
        ids = [w.id for w in waves]
        if len(set(ids)) != len(ids):
            raise ValueError(f"wave ids must be unique; got {', '.join(ids)}")
        return waves

    @property
    def wave_ids(self) -> tuple[str, ...]:
        return tuple(w.id for w in self.waves)

    @property
    def baseline(self) -> str:
        return self.waves[0].id

    def wave_label(self, wave: str) -> str:
        """The reader's name for a wave id ('12m' -> '12 months'); an unknown id is shown as it is."""
        return next((w.label for w in self.waves if w.id == wave), wave)


# --- the whole framework ------------------------------------------------------------------------


class GlossaryTerm(Model):
    term: str = Field(min_length=1)
    means: str = Field(min_length=1)


class Glossary(Model):
    terms: tuple[GlossaryTerm, ...] = Field(min_length=1)


class Framework(Model):
    ideals: tuple[Ideal, ...]
    instrument: Instrument
    indicators: tuple[Indicator, ...]
    projects: tuple[Project, ...]
    self_evaluation: SelfEvaluation
    settings: Settings
    ripple_rule: RollupRule  # ripple.yaml
    glossary: Glossary  # glossary.yaml: the words a report cannot avoid, in plain English
    resilience: ResilienceInstrument | None = None  # resilience.yaml, when present

    @property
    def outcomes(self) -> dict[str, Outcome]:
        return {o.id: o for ideal in self.ideals for o in ideal.outcomes}

    def ideal_of(self, outcome_id: str) -> Ideal:
        return next(i for i in self.ideals for o in i.outcomes if o.id == outcome_id)

    @property
    def indicator_map(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    def project(self, project_id: str) -> Project:
        by_id = {p.id: p for p in self.projects}
        if project_id not in by_id:
            raise FrameworkError(f"unknown project '{project_id}'; known: {allowed(by_id)}")
        return by_id[project_id]

    @property
    def project_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.projects)


# libyaml's safe loader when PyYAML was built with it (five times faster; every report kernel loads the
# framework), else the pure-Python one. Both construct only plain data.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, root: Path) -> dict:
    name = path.relative_to(root).as_posix()
    if not path.exists():
        raise FrameworkError(f"{name}: file is missing from {root}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise FrameworkError(f"{name}: expected a mapping of keys at the top level")
    return data


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _parse(model: type[Model], data: dict, name: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _key_path(err["loc"])
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            problems.append(f"{where}: {err['msg']}{shown}")
        raise FrameworkError(f"{name}: " + "; ".join(problems)) from None


def _unique(ids, name: str, what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise FrameworkError(f"{name}: {what} '{i}' is defined twice; ids must be unique")
        seen.add(i)


def _check_references(fw: Framework) -> None:
    outcomes = fw.outcomes
    _unique([o.id for i in fw.ideals for o in i.outcomes], "ideals.yaml", "outcome")
    if tuple(i.id for i in fw.ideals) != IDEAL_IDS:
        raise FrameworkError(f"ideals.yaml: ideals must be {allowed(IDEAL_IDS)} in that order")
    statements = fw.instrument.statement_ids
    _unique(statements, "instrument.yaml", "statement")
    _unique([i.id for i in fw.indicators], "indicators.yaml", "indicator")
    indicators = fw.indicator_map
    _unique(fw.project_ids, "projects/", "project")
    for project in fw.projects:
        name = f"projects/{project.id}.yaml"
        _unique(project.outcome_ids, name, "ripple outcome")
        for n, line in enumerate(project.ripple):
            if line.outcome not in outcomes:
                raise FrameworkError(
                    f"{name}: ripple[{n}].outcome '{line.outcome}' is not an outcome of any ideal; "
                    f"known: {allowed(outcomes)}"
                )
            for s in line.survey:
                if s not in statements:
                    raise FrameworkError(
                        f"{name}: ripple[{n}].survey '{s}' is not a Your Voice statement; known: {allowed(statements)}"
                    )
            for i in line.indicators:
                if i not in indicators:
                    raise FrameworkError(
                        f"{name}: ripple[{n}].indicators '{i}' is not in indicators.yaml; known: {allowed(indicators)}"
                    )
    se = fw.self_evaluation
    _unique([a.id for a in se.areas], "self_evaluation.yaml", "performance area")
    levels = [lvl.id for lvl in se.levels]
    if levels != ["aspiring", "developing", "achieving", "leading"]:
        raise FrameworkError("self_evaluation.yaml: levels must be aspiring, developing, achieving, leading in order")
    wt = fw.settings.weighting
    genders = [c.code for c in fw.instrument.gender.categories]
    for g in wt.genders:
        if g not in genders:
            raise FrameworkError(
                f"settings.yaml: weighting.genders '{g}' is not a gender code; known: {allowed(genders)}"
            )
    _check_weighting_dimensions(fw)
    th = fw.settings.thresholds
    if th.low_base < th.minimum_base:
        raise FrameworkError("settings.yaml: thresholds.low_base must be at least minimum_base")
    if fw.resilience is not None:
        _check_resilience(fw)


def _check_weighting_dimensions(fw: Framework) -> None:
    """Each declared dimension reads a survey column, a question's codes are its own, a project is a project."""
    wt, ins = fw.settings.weighting, fw.instrument
    columns = [c for c in ins.survey_columns() if c not in ("respondent_id", "neighbourhood", "wave")]
    questions = {q.id: q for q in (ins.ethnicity, ins.gender)}
    for n, dim in enumerate(wt.dimensions):
        where = f"settings.yaml: weighting.dimensions[{n}] ({dim.id})"
        if dim.column not in columns:
            raise FrameworkError(f"{where}: column '{dim.column}' is not a survey column; known: {allowed(columns)}")
        question = questions.get(dim.column)
        if question is None:
            continue
        if dim.banded:
            raise FrameworkError(f"{where}: column '{dim.column}' holds codes; give each category codes, not min/max")
        known = [str(c.code) for c in question.categories]
        for cat in dim.categories:
            for code in cat.codes:
                if str(code) not in known:
                    raise FrameworkError(
                        f"{where}: category '{cat.id}' has code '{code}', which is not an answer to the "
                        f"{dim.column} question; known: {allowed(known)}"
                    )
    for project in wt.rake_to_by_project:
        if project not in fw.project_ids:
            raise FrameworkError(
                f"settings.yaml: weighting.rake_to_by_project '{project}' is not a project; "
                f"known: {allowed(fw.project_ids)}"
            )


def _check_resilience(fw: Framework) -> None:
    res = fw.resilience
    _unique(res.item_ids, "resilience.yaml", "question")
    reserved = ("respondent_id", "project", "neighbourhood", "stage")
    for item in res.item_ids:
        if item in reserved:
            raise FrameworkError(f"resilience.yaml: question id '{item}' is a file column ({allowed(reserved)})")
    for p in res.projects:
        if p not in fw.project_ids:
            raise FrameworkError(f"resilience.yaml: projects '{p}' is not a project; known: {allowed(fw.project_ids)}")
    if res.stages[0].id == res.stages[1].id:
        raise FrameworkError("resilience.yaml: stages must be two different ids (before, then after)")
    codes = [c.code for c in res.scale]
    if not all(isinstance(c, int) for c in codes) or codes != sorted(codes):
        raise FrameworkError(f"resilience.yaml: scale codes must be whole numbers in ascending order; got {codes}")
    if res.minimum_answered > len(res.statements):
        raise FrameworkError(
            f"resilience.yaml: minimum_answered ({res.minimum_answered}) is more than the "
            f"{len(res.statements)} statements"
        )


def load_framework(root: Path | str | None = None) -> Framework:
    """Load and validate every definition under ``root`` (default ``data/framework``)."""
    root = Path(root) if root is not None else paths.FRAMEWORK
    ideals_doc = _read_yaml(root / "ideals.yaml", root)
    raw_ideals = ideals_doc.get("ideals")
    if not isinstance(raw_ideals, list):
        raise FrameworkError("ideals.yaml: expected a list under 'ideals'")
    ideals = tuple(_parse(Ideal, i, f"ideals.yaml: ideals[{n}]") for n, i in enumerate(raw_ideals))
    instrument = _parse(Instrument, _read_yaml(root / "instrument.yaml", root), "instrument.yaml")
    ind_doc = _read_yaml(root / "indicators.yaml", root)
    indicators = tuple(
        _parse(Indicator, i, f"indicators.yaml: indicators[{n}]") for n, i in enumerate(ind_doc.get("indicators") or [])
    )
    project_files = sorted((root / "projects").glob("*.yaml"))
    if not project_files:
        raise FrameworkError(f"projects/: no project definitions (*.yaml) in {root / 'projects'}")
    projects = []
    for path in project_files:
        name = path.relative_to(root).as_posix()
        project = _parse(Project, _read_yaml(path, root), name)
        if project.id != path.stem:
            raise FrameworkError(f"{name}: id '{project.id}' must match the file name '{path.stem}'")
        projects.append(project)
    fw = Framework(
        ideals=ideals,
        instrument=instrument,
        indicators=indicators,
        projects=tuple(projects),
        self_evaluation=_parse(SelfEvaluation, _read_yaml(root / "self_evaluation.yaml", root), "self_evaluation.yaml"),
        settings=_parse(Settings, _read_yaml(root / "settings.yaml", root), "settings.yaml"),
        ripple_rule=_parse(RollupRule, _read_yaml(root / "ripple.yaml", root), "ripple.yaml"),
        glossary=_parse(Glossary, _read_yaml(root / "glossary.yaml", root), "glossary.yaml"),
        resilience=(
            _parse(ResilienceInstrument, _read_yaml(root / "resilience.yaml", root), "resilience.yaml")
            if (root / "resilience.yaml").exists()
            else None
        ),
    )
    _check_references(fw)
    return fw


@cache
def framework() -> Framework:
    """The repository's framework, loaded once per process."""
    return load_framework()


def summary(fw: Framework) -> str:
    """A few plain lines describing what the framework defines."""
    lines = [
        f"Framework OK: {len(fw.ideals)} ideals, {len(fw.outcomes)} outcomes, "
        f"{len(fw.instrument.statements.items)} Your Voice statements, {len(fw.indicators)} local "
        f"indicators, {len(fw.projects)} projects, {len(fw.self_evaluation.areas)} self-evaluation areas.",
    ]
    for ideal in fw.ideals:
        lines.append(f"  {ideal.name}: {len(ideal.outcomes)} outcomes")
    for p in fw.projects:
        lines.append(
            f"  project {p.id} ({p.name}): {len(p.ripple)} outcomes in its ripple, "
            f"{len(p.survey_statements)} survey statements, {len(p.indicator_ids)} indicators"
        )
    lines.append("  waves: " + ", ".join(w.id for w in fw.settings.waves))
    th = fw.settings.thresholds
    lines.append(f"  minimum base {th.minimum_base}, low base {th.low_base}, confidence {th.confidence_level:.0%}")
    return "\n".join(lines)

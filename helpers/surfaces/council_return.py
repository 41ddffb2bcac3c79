"""``python -m helpers return --out FILE.zip``: a council's return to the network, aggregate and safe to send.

The network pools what councils publish, never what residents answered. So a return holds only the figures
the council's own reports publish, built by the same functions the command line and the reports use:

* ``scores``: the ``scores`` table as ``python -m helpers scores --csv`` writes it, with a suppressed row's
  count blank too (the reports say "fewer than N responses", never the number), and, as in the reports, a
  neighbourhood x wave that cannot be weighted with its unweighted rows only (the command stops there);
* ``did``: ``python -m helpers did --project P --csv`` for every project, as the reports compute it;
* ``ripple``: ``python -m helpers ripple --project P --csv`` (outcome and ideal rows, the latest wave);
* ``indicators``: each project's indicator changes since the baseline at every later wave;
* ``self_evaluation``: the latest self-assessment's level per performance area (no names, no evidence text);
* ``stories``: the titles of stories shared with consent (no story text, no teller).

No table has a row per respondent or any free text but consented story titles; no published total sits
beside a hidden count, so primary suppression is the whole of the disclosure rule here (docs/method.md,
"Disclosure control"), and ``audit-disclosure`` on the unzipped return finds nothing to work out.
"""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path

import pandas as pd

from ..config.errors import UserError
from ..config.framework import Framework
from ..store import returns

WORKBOOK_PACKAGE = "coop-difference-workbook"
SCORE_BLANK_WHEN_SUPPRESSED = ("base_n", "effective_n", "estimate", "se", "ci_low", "ci_high")


def _scores(fw: Framework, db: Path) -> pd.DataFrame:
    """The scores as ``scores --csv`` computes them (every neighbourhood), but as the reports do when a
    neighbourhood x wave cannot be weighted: its unweighted rows only, not an error
    (:attr:`helpers.evidence.context.ProjectData.scores`)."""
    from ..methods import estimates
    from ..store import access, database

    con = database.connect(db, read_only=True)
    try:
        responses = access.load_responses(con, fw, None)
        population = access.load_population(con)
    finally:
        con.close()
    return estimates.scores_and_weighting_problems(responses, population, fw)[0]


def published_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores as reports publish them: a suppressed row keeps its labels and flags, every figure blank
    (its count included, which the reports give only as "fewer than N responses")."""
    out = scores.copy()
    out["base_n"] = out["base_n"].astype("Int64")
    for col in SCORE_BLANK_WHEN_SUPPRESSED:
        out.loc[out["suppressed"].astype(bool), col] = pd.NA
    return out


def _did(fw: Framework, db: Path) -> pd.DataFrame:
    """Every project's DiD as its reports publish it (:attr:`helpers.evidence.context.ProjectData.did`, the
    table ``did --project P`` writes), one project after another."""
    from ..evidence.context import ProjectData
    from ..methods.estimates import DID_COLUMNS

    frames = []
    for p in fw.project_ids:
        data = ProjectData(db, p, fw)
        if len(data.responses):  # a project without survey answers yet has no DiD to return
            frames.append(data.did)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(DID_COLUMNS))


def _ripple(fw: Framework, db: Path) -> pd.DataFrame:
    from ..evidence.context import project_ripple

    return pd.concat([project_ripple(db, fw, p, None).frame() for p in fw.project_ids], ignore_index=True)


def _indicators(fw: Framework, db: Path) -> pd.DataFrame:
    """Each project's indicator changes since the baseline, at each later wave the calendar gives a month."""
    from ..evidence.indicators import indicator_changes
    from ..evidence.project import load_project_evidence

    frames = []
    for p in fw.project_ids:
        ev = load_project_evidence(db, fw, p)
        for wave in fw.settings.wave_ids[1:]:
            changes = indicator_changes(ev.up_to(wave), wave)
            if len(changes):
                frames.append(changes.assign(project=p, wave=wave))
    if not frames:
        return pd.DataFrame(columns=["project", "wave"])
    out = pd.concat(frames, ignore_index=True)
    return out[["project", "wave", *[c for c in out.columns if c not in ("project", "wave")]]]


def _self_evaluation(fw: Framework, db: Path) -> pd.DataFrame:
    """The latest saved self-assessment's level per area (framework order): ``assessed_on, area, area_name,
    level, level_name, score``; no rows when none is saved."""
    from ..store import selfeval

    saved = selfeval.list_assessments(db)
    columns = ["assessed_on", "area", "area_name", "level", "level_name", "score"]
    if saved.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "score" else "string") for c in columns})
    latest = saved.iloc[0]  # newest first
    levels = selfeval.area_levels(fw, selfeval.load_assessment(db, fw, latest["name"], latest["assessed_on"]))
    return levels.assign(assessed_on=latest["assessed_on"].isoformat())[columns]


def _stories(fw: Framework, db: Path) -> pd.DataFrame:
    """Consented stories' titles only: ``project, neighbourhood, wave, title``."""
    from ..store import access, database

    con = database.connect(db, read_only=True)
    try:
        frames = [access.consented_stories(con, p).assign(project=p) for p in fw.project_ids]
    finally:
        con.close()
    columns = ["project", "neighbourhood", "wave", "title"]
    frames = [f[columns] for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    return pd.concat(frames, ignore_index=True)


def council_tables(fw: Framework, db: Path) -> dict[str, pd.DataFrame]:
    """Every table of the return (:data:`helpers.store.returns.TABLES`)."""
    return {
        "scores": published_scores(_scores(fw, db)),
        "did": _did(fw, db),
        "ripple": _ripple(fw, db),
        "indicators": _indicators(fw, db),
        "self_evaluation": _self_evaluation(fw, db),
        "stories": _stories(fw, db),
    }


def workbook_version() -> str:
    try:
        return metadata.version(WORKBOOK_PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def council_manifest(fw: Framework, db: Path, council: str, scores: pd.DataFrame) -> dict:
    """Who, with what framework, covering which waves and months (everything but the tables' hashes)."""
    from ..evidence.project import calendar_in

    waves = [w for w in fw.settings.wave_ids if w in set(scores["wave"])]
    projects = {}
    months = []
    for p in fw.projects:
        cal = calendar_in(db, fw, p.id)
        fieldwork = {w: str(cal.month(w)) if cal.month(w) is not None else None for w in waves}
        months += [m for m in fieldwork.values() if m]
        projects[p.id] = {"name": p.name, "family": returns.family_of(p), "fieldwork": fieldwork}
    hashes = returns.framework_hashes(fw)
    for pid, digest in hashes["ripple_maps"].items():
        projects[pid]["ripple_map_sha256"] = digest
    return {
        "council": council,
        "synthetic": False,
        "period": max(months) if months else (waves[-1] if waves else ""),
        "waves": waves,
        "projects": projects,
        "framework_version": hashes["framework_version"],
        "wording": hashes["wording"],
        "workbook_version": workbook_version(),
        "minimum_base": fw.settings.thresholds.minimum_base,
        "confidence_level": fw.settings.thresholds.confidence_level,
    }


def cli_return(fw: Framework, args: argparse.Namespace) -> int:
    """``python -m helpers return --out FILE.zip [--council NAME] [--db DB]``."""
    if not Path(args.db).exists():
        raise UserError(f"{args.db}: no such database (build it with 'python -m helpers build-db')")
    council = (args.council or fw.settings.council.name).strip()
    if not council:
        raise UserError("give the council's name with --council (settings.yaml's council.name is blank)")
    tables = council_tables(fw, args.db)
    manifest = council_manifest(fw, args.db, council, tables["scores"])
    returns.write_return(args.out, manifest, tables)
    counts = ", ".join(f"{len(t)} {name}" for name, t in tables.items())
    print(f"wrote {council}'s return for {manifest['period']} to {args.out} ({counts} rows)")
    return 0

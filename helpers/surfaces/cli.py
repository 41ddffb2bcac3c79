"""Command line: ``python -m helpers VERB ...`` (also installed as ``coop-workbook``).

Every verb prints what it did in one or two plain lines. A user's mistake gets one message naming
the file, row, column and what was expected, and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import paths
from ..config.errors import UserError, allowed

if TYPE_CHECKING:
    from ..config.framework import Framework

EXIT_USER_ERROR = 2


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=paths.DEFAULT_DB,
        help="DuckDB database file (default: data/workbook.duckdb, or $WORKBOOK_DB when set)",
    )


def _csv_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write the table to this CSV file")


def _list_arg(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-parser per verb, in the order ``--help`` and the README list them.

    Not split: it is a flat list of argparse declarations, one block per verb, which reads best top to bottom.
    """
    parser = argparse.ArgumentParser(
        prog="python -m helpers",
        description="The Co-operative Difference Workbook: load data, compute the survey statistics, "
        "run the reports and serve the dashboards.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("framework", help="validate and print the framework definitions")
    p.add_argument("--json", action="store_true", help="print the whole framework as JSON")
    _db_arg(p)

    p = verbs.add_parser("sample", help="write the synthetic sample files, or a synthetic network's returns")
    p.add_argument("--out", type=Path, default=None, help="folder to write (default: data/sample)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the committed sample's)")
    p.add_argument(
        "--network",
        type=int,
        metavar="N",
        help="instead, N synthetic councils' returns with known effects (needs --out; see README, the network)",
    )
    _db_arg(p)

    p = verbs.add_parser("import", help="validate one CSV or XLSX file and load it into the database")
    p.add_argument(
        "kind", metavar="KIND", help="areas, population, survey, indicators, stories, sentiment or resilience"
    )
    p.add_argument("file", type=Path, metavar="FILE", help="a .csv or .xlsx file")
    p.add_argument("--sheet", help="worksheet name for an XLSX file (default: the first sheet)")
    p.add_argument(
        "--skip-bad-rows", action="store_true", help="load the valid rows and list the bad ones in the rejects file"
    )
    p.add_argument(
        "--replace", action="store_true", help="replace data already loaded for the same neighbourhood x wave (or key)"
    )
    p.add_argument("--rejects", type=Path, help="where to write the rejects CSV (default: FILE.rejects.csv)")
    _db_arg(p)

    p = verbs.add_parser("build-db", help="build the database from a folder of files (the sample by default)")
    p.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=paths.SAMPLE,
        help="folder holding areas.csv, population.csv, survey.csv, ... (default: data/sample)",
    )
    p.add_argument("--if-missing", action="store_true", help="do nothing when the database already exists")
    p.add_argument("--force", action="store_true", help="rebuild even if the database exists (replaces it)")
    _db_arg(p)

    p = verbs.add_parser("status", help="show what is loaded and the import history")
    _db_arg(p)

    p = verbs.add_parser("template", help="write an XLSX data-entry workbook (dropdowns, instructions)")
    p.add_argument(
        "name",
        metavar="NAME",
        help="survey-entry, areas, population, indicators, stories, sentiment or resilience (data-entry "
        "workbooks); questionnaire (printable PDF and HTML) or xlsform (tablets and online); see templates/README.md",
    )
    p.add_argument("--out", type=Path, help="file to write (default: NAME-entry.xlsx in the current folder)")
    p.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    p.add_argument("--large-print", action="store_true", help="questionnaire: the large-print version")
    p.add_argument("--wave", help="xlsform: fix the wave (a value, not a question) for this deployment")
    p.add_argument("--mode", help="xlsform: fix the mode (e.g. online, placed) for this deployment")
    _db_arg(p)

    project_help = "project id: its neighbourhoods only, weighted to its margins (as its reports are)"
    p = verbs.add_parser("scores", help="survey estimates per neighbourhood, wave and statement")
    p.add_argument("--neighbourhood", type=_list_arg, help="neighbourhood id(s), comma separated")
    p.add_argument("--wave", type=_list_arg, help="wave id(s), comma separated")
    p.add_argument("--project", help=project_help)
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser("change", help="each wave against baseline, per neighbourhood")
    p.add_argument("--project", help=project_help)
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser("did", help="difference-in-differences: pilot change minus comparison change")
    p.add_argument("--project", required=True, help="project id")
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser(
        "weights",
        help="the weights per neighbourhood and wave: range, design effect, effective n; before and after trimming",
    )
    p.add_argument(
        "--project",
        help="project id: its neighbourhoods, weighted to its own margins (default: all, weighting.rake_to)",
    )
    p.add_argument("--wave", type=_list_arg, help="wave id(s), comma separated")
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser("ripple", help="evidence per outcome and strength per ideal (docs/ripple.md)")
    p.add_argument("--project", required=True, help="project id")
    p.add_argument("--wave", help="wave id (default: the latest wave with survey data; the baseline is design mode)")
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser("reports", help="run the papermill batch: HTML reports and an index")
    p.add_argument("--project", type=_list_arg, action="extend", help="project id(s)")
    p.add_argument("--neighbourhood", type=_list_arg, action="extend", help="neighbourhood id(s)")
    p.add_argument("--wave", type=_list_arg, action="extend", help="wave id(s)")
    p.add_argument("--jobs", type=int, default=None, help="reports run at once (default: number of cores)")
    p.add_argument("--out", type=Path, default=paths.REPORTS, help="output folder (default: reports)")
    p.add_argument("--force", action="store_true", help="redo every report even if nothing changed")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to PDF beside it, and a committee pack per project (needs Chromium)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local processes (default) or a Dask distributed cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: an existing scheduler, e.g. tcp://10.0.0.5:8786 (default: start a LocalCluster)",
    )
    _db_arg(p)

    p = verbs.add_parser("plan", help="responses needed per wave, or the smallest change detectable (sample size)")
    from .planning import add_plan_options

    add_plan_options(p)
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser("fieldwork", help="returns so far against the plan's targets; who is missing; design effect")
    add_plan_options(p, fieldwork=True)
    p.add_argument(
        "--target", type=int, metavar="N", help="responses each neighbourhood needs a wave (default: the plan's)"
    )
    _csv_arg(p)
    _db_arg(p)

    p = verbs.add_parser("new-project", help="a new project's ripple map and notebook from templates/")
    p.add_argument("name", metavar="NAME", help='the project\'s name, e.g. "Tenant Voice"')
    p.add_argument("--id", dest="project_id", help="project id (default: made from NAME, e.g. tenant-voice)")
    _db_arg(p)

    p = verbs.add_parser(
        "docs",
        help="regenerate the README's command reference and file formats, and docs/ripple.md's roll-up rule",
    )

    p = verbs.add_parser("dashboard", help="serve the Voila dashboards on 127.0.0.1")
    p.add_argument("--port", type=int, default=8866, help="port (default: 8866)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; any other prints a warning: "
        "see docs/dashboards.md for serving behind a reverse proxy with a login)",
    )
    p.add_argument(
        "--max-viewers",
        type=int,
        metavar="N",
        help="pages served at once; one more is asked to try again in a minute (default: settings.yaml)",
    )
    p.add_argument(
        "--pool-size", type=int, metavar="N", help="kernels kept ready for each dashboard (default: settings.yaml)"
    )
    p.add_argument(
        "--cull-idle-timeout", type=int, metavar="SECONDS", help="stop a kernel idle this long (default: settings.yaml)"
    )
    p.add_argument(
        "--cull-interval", type=int, metavar="SECONDS", help="look for idle kernels this often (default: settings.yaml)"
    )
    p.add_argument(
        "--closed-page-timeout",
        type=float,
        metavar="SECONDS",
        help="stop a page's kernel this long after the page has gone (default: settings.yaml)",
    )
    p.add_argument(
        "--allow-write", action="store_true", help="let the self-evaluation form save assessments to the database"
    )
    _db_arg(p)
    p.add_argument(
        "--network-db",
        type=Path,
        default=paths.NETWORK_DB,
        metavar="PATH",
        help="the network database the network dashboard shows (default: data/network.duckdb; it may not exist yet)",
    )

    p = verbs.add_parser("return", help="write the council's return to the network: published figures only, as one zip")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.zip", help="the zip to write")
    p.add_argument("--council", metavar="NAME", help="the council's name (default: settings.yaml's council name)")
    _db_arg(p)

    from .network import add_network_parser

    add_network_parser(verbs)

    p = verbs.add_parser(
        "audit-disclosure",
        help="check published reports: can any hidden (small) figure be worked out from the totals beside it?",
    )
    p.add_argument("folder", type=Path, metavar="REPORTS_DIR", help="the folder the reports were written to")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # the reader went away (``| head``): nothing more to say
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was kept", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int | None:
    """Load the framework and hand the verb to its handler in :data:`_HANDLERS`."""
    from ..config.framework import framework

    fw = framework()
    handler = _HANDLERS.get(args.verb)
    if handler is None:
        raise AssertionError(args.verb)
    return handler(fw, args)


# --- one handler per verb: (framework, parsed arguments) -> exit status ------------------------------------


def _show_framework(fw: Framework, args: argparse.Namespace) -> int:
    if args.json:
        print(fw.model_dump_json(indent=2))
    else:
        from ..config.framework import summary

        print(summary(fw))
    return 0


def _write_sample(fw: Framework, args: argparse.Namespace) -> int:
    if args.network is not None:
        from .network_sample import cli_network_sample

        return cli_network_sample(fw, args)
    from ..store.sample import DEFAULT_SEED, write_sample

    out = args.out or paths.SAMPLE
    written = write_sample(fw, out, args.seed if args.seed is not None else DEFAULT_SEED)
    print(f"wrote {len(written)} synthetic sample files to {out}")
    return 0


def _import_file(fw: Framework, args: argparse.Namespace) -> int:
    from ..store.intake import import_file

    result = import_file(
        args.kind,
        args.file,
        fw,
        args.db,
        sheet=args.sheet,
        skip_bad_rows=args.skip_bad_rows,
        replace=args.replace,
        rejects_path=args.rejects,
    )
    print(result.message)
    return 0


def _build_db(fw: Framework, args: argparse.Namespace) -> int:
    from ..store.intake import build_database

    if args.if_missing and args.db.exists():
        print(f"database {args.db} already exists; kept as it is (use build-db --force to rebuild)")
        return 0
    print(build_database(args.source, fw, args.db, force=args.force))
    return 0


def _show_status(fw: Framework, args: argparse.Namespace) -> int:
    from ..store.intake import status

    for title, table in status(args.db).items():
        print(f"\n{title}:")
        print(table.to_string(index=False) if not table.empty else "  (none)")
    return 0


def _write_template(fw: Framework, args: argparse.Namespace) -> int:
    from ..store.entry_template import write_template
    from .questionnaire import NAMES, cli_template

    if args.name in NAMES:
        print(cli_template(fw, args))
        return 0
    if args.large_print or args.wave or args.mode:
        raise UserError("--large-print, --wave and --mode apply to `template questionnaire` and `template xlsform`")

    print(write_template(args.name, fw, args.out, force=args.force, db=args.db)[1])
    return 0


def _show_table(fw: Framework, args: argparse.Namespace) -> int:
    """``scores``, ``change`` and ``did``: the table printed, or written to ``--csv``."""
    table = table_for(args.verb, fw, args)
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        write_csv_atomic(table, args.csv)
        print(f"wrote {len(table)} rows to {args.csv}")
    else:
        print(table.to_string(index=False))
    return 0


def _show_weights(fw: Framework, args: argparse.Namespace) -> int:
    """``weights``: :func:`helpers.methods.weights.weighting_diagnostics` printed, or written to ``--csv``."""
    from ..methods.weights import weighting_diagnostics
    from ..store import access, database

    hoods = None
    if args.project:
        fw.project(args.project)
    for w in args.wave or []:
        if w not in fw.settings.wave_ids:
            raise UserError(f"unknown wave '{w}'; known: {allowed(fw.settings.wave_ids)}")
    con = database.connect(args.db, read_only=True)
    try:
        if args.project:
            areas = access.load_areas(con)
            hoods = areas.loc[areas["project"] == args.project, "neighbourhood"].tolist()
        responses = access.load_responses(con, fw, hoods)
        population = access.load_population(con)
    finally:
        con.close()
    if responses.empty:
        raise UserError(f"no survey responses in {args.db} for that selection")
    table = weighting_diagnostics(responses, population, fw.settings, project=args.project)
    if args.wave:
        table = table[table["wave"].isin(args.wave)].reset_index(drop=True)
    wt = fw.settings.weighting
    cap = f"; weights capped at {wt.weight_cap:g} x the mean weight" if wt.weight_cap is not None else ""
    said = f"raked to {', '.join(d.id for d in wt.margins(args.project))}{cap}"
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        write_csv_atomic(table, args.csv)
        print(f"wrote {len(table)} rows to {args.csv} ({said})")
    else:
        print(table.drop(columns="problem").to_string(index=False))
        for _, r in table[table["problem"] != ""].drop_duplicates(["neighbourhood", "wave"]).iterrows():
            print(f"not weighted: {r['problem']}")
        print(said)
    return 0


def cli_ripple(fw: Framework, args: argparse.Namespace) -> int:
    """``python -m helpers ripple --project P [--wave W] [--csv FILE]``."""
    from ..evidence.context import project_ripple

    result = project_ripple(args.db, fw, args.project, getattr(args, "wave", None))
    table = result.frame()
    mode = f"design mode ({result.wave or 'no survey data yet'})" if result.design_mode else f"wave {result.wave}"
    top = result.strongest
    top_text = ""
    if top:
        r = result.ideals.set_index("ideal").loc[top]
        top_text = f"; strongest: {top} ({r['strength']:+.2f}, certainty {r['certainty_words']})"
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        write_csv_atomic(table, args.csv)
        print(
            f"wrote {len(result.outcomes)} outcome and {len(result.ideals)} ideal rows for {args.project}, "
            f"{mode}, to {args.csv}{top_text}"
        )
    else:
        shown = table.drop(columns=["evidence"])
        print(shown.to_string(index=False))
        print(f"{args.project}, {mode}{top_text}")
    return 0


def _plan(fw: Framework, args: argparse.Namespace) -> int:
    from .planning import cli_plan

    return cli_plan(fw, args)


def _fieldwork(fw: Framework, args: argparse.Namespace) -> int:
    from .fieldwork import cli_fieldwork

    return cli_fieldwork(fw, args)


def _run_reports(fw: Framework, args: argparse.Namespace) -> int:
    from .batch import run_batch

    return run_batch(fw, args)


def _new_project(fw: Framework, args: argparse.Namespace) -> int:
    from .newproject import cli_new_project

    return cli_new_project(args)


def _write_docs(fw: Framework, args: argparse.Namespace) -> int:
    changed = update_readme(fw=fw)
    print("README command reference and file formats " + ("updated" if changed else "already up to date"))
    changed = update_ripple_doc(fw)
    print("docs/ripple.md's roll-up rule " + ("updated" if changed else "already up to date"))
    return 0


def _serve_dashboard(fw: Framework, args: argparse.Namespace) -> int:
    from .dashboard_server import serve

    return serve(args, fw.settings.dashboards)


def _write_return(fw: Framework, args: argparse.Namespace) -> int:
    from .council_return import cli_return

    return cli_return(fw, args)


def _network(fw: Framework, args: argparse.Namespace) -> int:
    from .network import cli_network

    return cli_network(fw, args)


def _audit_disclosure(fw: Framework, args: argparse.Namespace) -> int:
    from .audit import cli_audit

    return cli_audit(args)


_HANDLERS: dict[str, Callable[[Framework, argparse.Namespace], int | None]] = {
    "framework": _show_framework,
    "sample": _write_sample,
    "import": _import_file,
    "build-db": _build_db,
    "status": _show_status,
    "template": _write_template,
    "scores": _show_table,
    "change": _show_table,
    "did": _show_table,
    "weights": _show_weights,
    "ripple": cli_ripple,
    "reports": _run_reports,
    "plan": _plan,
    "fieldwork": _fieldwork,
    "new-project": _new_project,
    "docs": _write_docs,
    "dashboard": _serve_dashboard,
    "return": _write_return,
    "network": _network,
    "audit-disclosure": _audit_disclosure,
}
"""What each verb runs (every verb of :func:`build_parser`)."""


def command_reference() -> str:
    """The README's command reference, generated from the parser's own --help (kept in step by a test)."""
    import os

    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = []
    for name, sub in verbs.choices.items():
        parts.append(f"#### `{name}`\n\n```text\n{sub.format_help().rstrip()}\n```\n")
        for action in sub._actions:  # a verb with verbs of its own (network import, network meta)
            if isinstance(action, argparse._SubParsersAction):
                for inner, parser in action.choices.items():
                    parts.append(f"#### `{name} {inner}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


def update_readme(readme: Path = paths.ROOT / "README.md", fw=None) -> bool:
    """Rewrite the command reference and the table of file formats between the README's markers; True if
    either changed."""
    from ..config.framework import framework
    from ..store.kinds import README_END, README_START, readme_table

    text = readme.read_text(encoding="utf-8")
    new = _between(text, "<!-- commands:start -->\n", "<!-- commands:end -->", command_reference())
    new = _between(new, README_START, README_END, readme_table(fw or framework()))
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def _between(text: str, start: str, end: str, block: str) -> str:
    """``text`` with what lies between the markers ``start`` and ``end`` replaced by ``block``."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + block + end + tail


def table_for(verb: str, fw, args: argparse.Namespace):
    """The CLI's scores / change / did tables."""
    from ..config.errors import allowed
    from ..methods import estimates
    from ..store import access, database

    con = database.connect(args.db, read_only=True)
    try:
        areas = access.load_areas(con)
        population = access.load_population(con)
        hoods = getattr(args, "neighbourhood", None)
        project = getattr(args, "project", None)
        known = sorted(set(areas["neighbourhood"]))
        if project:
            fw.project(project)
            known = sorted(set(areas.loc[areas["project"] == project, "neighbourhood"]))
        for h in hoods or []:
            if h not in known:
                where = f" in project '{project}'" if project else ""
                raise UserError(f"unknown neighbourhood '{h}'{where}; known: {allowed(known)}")
        if project and not hoods:
            hoods = known
        responses = access.load_responses(con, fw, hoods)
    finally:
        con.close()
    if not project and fw.settings.weighting.rake_to_by_project:
        print(
            "note: weighted to the margins every project shares (settings.yaml weighting.rake_to); give --project "
            "for a project's own margins, as its reports use",
            file=sys.stderr,
        )
    if responses.empty:
        raise UserError(f"no survey responses in {args.db} for that selection")
    waves = getattr(args, "wave", None)
    for w in waves or []:
        if w not in fw.settings.wave_ids:
            raise UserError(f"unknown wave '{w}'; known: {allowed(fw.settings.wave_ids)}")
    scores = estimates.scores(responses, population, fw, project=project)
    if verb == "scores":
        return scores[scores["wave"].isin(waves)].reset_index(drop=True) if waves else scores
    if verb == "change":
        return estimates.change(scores, fw)
    return estimates.did(scores, population, areas, args.project, fw)


def update_ripple_doc(fw) -> bool:
    """Rewrite the rule between docs/ripple.md's markers from the framework; True if it changed."""
    from ..evidence.ripple import DOC, RULE_END, RULE_START, rule_markdown

    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(RULE_START, 1)
    _, tail = rest.split(RULE_END, 1)
    new = head + RULE_START + rule_markdown(fw.ripple_rule) + RULE_END + tail
    if new != text:
        DOC.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    sys.exit(main())

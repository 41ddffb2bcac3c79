"""``python -m helpers network import|meta|reports``: the network's workbook, councils' returns side by side and pooled.

``network import RETURN... [--db NETWORK_DB]`` loads councils' returns (:mod:`helpers.store.network`);
``network meta [--family F] [--csv FILE]`` pools each council's latest DiD per family x measure x statistic x
wave (:func:`helpers.methods.meta.meta_table`: random effects, DerSimonian-Laird, and the fixed effect, each
labelled). A measure whose wording differs between the councils in the pool is not pooled: the command names
it, the councils on each wording, and why.
"""

from __future__ import annotations

import argparse

from ..config.framework import Framework


def add_network_parser(verbs) -> None:
    """The ``network`` verb and its own verbs (``import``, ``meta``)."""
    from ..config import paths

    p = verbs.add_parser("network", help="the network of councils: import councils' returns, pool their DiD")
    sub = p.add_subparsers(dest="network_verb", metavar="NETWORK_VERB")
    sub.required = True
    for q in (
        sub.add_parser("import", help="load councils' returns (zips made by 'return') into the network database"),
        sub.add_parser("meta", help="pool councils' DiD per family, measure and wave (random and fixed effects)"),
        sub.add_parser("reports", help="the network's pages, a family and wave each, here or on a Dask cluster"),
    ):
        q.add_argument(
            "--db",
            type=paths.Path,
            default=paths.NETWORK_DB,
            help="the network's DuckDB file (default: data/network.duckdb)",
        )
        if q.prog.endswith("import"):
            q.add_argument("returns", nargs="+", type=paths.Path, metavar="RETURN", help="a council's return (.zip)")
        elif q.prog.endswith("reports"):
            q.add_argument("--family", metavar="F", help="one project family (default: every family)")
            q.add_argument("--out", type=paths.Path, default=paths.ROOT / "reports" / "network", help="output folder")
            q.add_argument(
                "--executor",
                choices=("local", "dask"),
                default="local",
                help="one page after another here (default), or a Dask distributed cluster",
            )
            q.add_argument(
                "--scheduler",
                metavar="ADDRESS",
                help="with --executor dask: an existing scheduler, e.g. tcp://10.0.0.5:8786 "
                "(default: a local cluster of two workers)",
            )
            q.add_argument("--force", action="store_true", help="remake every page even if nothing changed")
        else:
            q.add_argument("--family", metavar="F", help="one project family (default: every family)")
            q.add_argument("--csv", type=paths.Path, metavar="FILE", help="also write the table to this CSV file")


def cli_network(fw: Framework, args: argparse.Namespace) -> int:
    if args.network_verb == "import":
        return _import(args)
    if args.network_verb == "reports":
        from .network_batch import cli_network_reports

        return cli_network_reports(fw, args)
    return _meta(fw, args)


def _import(args: argparse.Namespace) -> int:
    """Every return is checked before any is loaded: one damaged file stops the import with nothing added."""
    from ..store import network, returns

    for path in args.returns:
        returns.read_return(path)
    for path in args.returns:
        print(network.import_return(args.db, path).message)
    return 0


def _meta(fw: Framework, args: argparse.Namespace) -> int:
    from ..evidence.network import pooled_table

    table, differing = pooled_table(args.db, fw, args.family)
    if args.csv:
        from ..config.safe_output import write_csv_atomic

        write_csv_atomic(table, args.csv)
        print(f"wrote {len(table)} pooled rows to {args.csv}")
    else:
        print(table.to_string(index=False) if len(table) else "nothing to pool: fewer than two councils per measure")
    for r in differing.itertuples():
        councils = "; ".join(r.councils)
        print(f"left out of {r.measure}'s pooling, worded differently from this workbook's framework: {councils}")
    return 0

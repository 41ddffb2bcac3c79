"""What the database holds: rows per kind, per neighbourhood x wave, and the import history.

``python -m helpers status`` prints :func:`status`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config.framework import Framework
from . import database as store
from .kinds import CORE_KINDS, kind, known_kinds


def loaded_counts(db: Path | str | None = None, fw: Framework | None = None) -> pd.DataFrame:
    """Rows per kind x neighbourhood x wave (tidy; ``wave`` is blank for kinds without waves).

    Sorted by kind (in the order of DESIGN.md), neighbourhood, then wave in the framework's order.
    """
    from ..config.framework import framework

    fw = fw or framework()
    con = store.connect(db, read_only=True)
    try:
        parts = []
        for name in CORE_KINDS:
            if not store.has_table(con, name):
                continue
            wave = "wave" if kind(name, fw).has_waves else "''"
            parts.append(
                con.execute(
                    f"SELECT '{name}' AS kind, neighbourhood, {wave} AS wave, count(*) AS rows FROM {name} GROUP BY ALL"
                ).df()
            )
    finally:
        con.close()
    counts = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["kind", "neighbourhood", "wave", "rows"])
    )
    waves = list(fw.settings.wave_ids)
    extra = sorted(set(counts["wave"]) - set(waves) - {""})
    counts["wave"] = pd.Categorical(counts["wave"], categories=["", *waves, *extra], ordered=True)
    counts["kind"] = pd.Categorical(counts["kind"], categories=list(CORE_KINDS), ordered=True)
    return counts.sort_values(["kind", "neighbourhood", "wave"]).reset_index(drop=True)


def status(db: Path | str | None = None, fw: Framework | None = None) -> dict[str, pd.DataFrame]:
    """What is loaded, as tables to print: rows per kind, per neighbourhood x wave, and the import history.

    In the second table the waves are columns in the framework's order (baseline first); kinds without
    waves (areas, population, indicators, sentiment) fill only the total.
    """
    from ..config.framework import framework

    fw = fw or framework()
    counts = loaded_counts(db, fw)
    out: dict[str, pd.DataFrame] = {}
    per_kind = counts.groupby("kind", observed=False)["rows"].sum().astype("int64")
    out["rows per kind"] = per_kind.rename_axis("kind").reset_index()
    waves = [w for w in counts["wave"].cat.categories if w != ""]
    if counts.empty:
        out["rows per neighbourhood x wave"] = pd.DataFrame(columns=["kind", "neighbourhood", *waves, "total"])
    else:
        wide = counts.pivot_table(
            index=["kind", "neighbourhood"], columns="wave", values="rows", aggfunc="sum", observed=True
        )
        wide = wide.reindex(columns=waves)
        wide["total"] = counts.groupby(["kind", "neighbourhood"], observed=True)["rows"].sum()
        has_waves = wide.index.get_level_values("kind").isin([k for k in CORE_KINDS if kind(k, fw).has_waves])
        shown = wide.astype("Int64").astype(object)
        shown.loc[has_waves, waves] = shown.loc[has_waves, waves].fillna(0)
        shown.loc[~has_waves, waves] = ""
        out["rows per neighbourhood x wave"] = shown.reset_index()
    history = import_history(db, fw)
    if history is not None:
        out["import history (rows_now: still loaded; fewer once replaced)"] = history
    return out


def import_history(db: Path | str | None, fw: Framework) -> pd.DataFrame | None:
    """One row per import: batch, kind, file, rows, rows still loaded, when, what it replaced (None: no imports)."""
    con = store.connect(db, read_only=True)
    try:
        if not store.has_table(con, "imports"):
            return None
        batched = [  # every table whose rows record their import's batch (other modules add some)
            r[0]
            for r in con.execute(
                "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'batch_id' "
                "AND table_name <> 'imports' ORDER BY 1"
            ).fetchall()
        ]
        # a long table (resilience) holds several rows per file row: count the file's rows
        counted = {k: kind(k, fw).stored_rows_sql() for k in known_kinds(fw)}
        now = " UNION ALL ".join(
            [f'SELECT batch_id, {counted.get(t, "count(*)")} AS n FROM "{t}" GROUP BY ALL' for t in batched]
            or ["SELECT NULL::INTEGER AS batch_id, 0 AS n WHERE false"]
        )
        return con.execute(
            "SELECT m.batch_id AS batch, m.kind, m.file_name AS file, m.rows, coalesce(n.n, 0) AS rows_now, "
            "strftime(m.imported_at, '%Y-%m-%d %H:%M') AS imported, coalesce(m.replaced, '') AS replaced "
            f"FROM imports m LEFT JOIN ({now}) n USING (batch_id) ORDER BY m.batch_id"
        ).df()
    finally:
        con.close()

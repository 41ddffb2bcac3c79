"""A council's return to the network: the file format, written and read here, once.

A return is one zip holding ``manifest.json`` and one Parquet file per table (:data:`TABLES`). The manifest
says whose it is and what it was measured with (the framework's version, a sha256 of each project's ripple
map and of the wording of each measure), what it covers (waves, fieldwork months) and, for each table file,
its sha256 and row count: reading a return checks every file against them, so a damaged or altered return is
refused rather than half-believed. Only aggregate, published figures go in (``helpers.surfaces.council_return``
builds them); the format is documented for other tools in the README ("A council's return").

Written deterministically (same figures, same bytes: fixed zip dates, sorted keys) and atomically.

``framework_hashes(fw)``, ``write_return(out, manifest, tables)``, ``read_return(path)``
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pandas as pd

from ..config.errors import UserError
from ..config.framework import Framework
from ..config.safe_output import atomic_path

FORMAT = "coop-network-return/1"
MANIFEST = "manifest.json"
TABLES = ("scores", "did", "ripple", "indicators", "self_evaluation", "stories")
"""The tables of a return, each ``<name>.parquet``; every one is present (perhaps with no rows)."""
_ZIP_DATE = (2000, 1, 1, 0, 0, 0)  # fixed, so the same return is the same bytes


def sha256_of(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _canonical(value) -> str:
    """JSON with sorted keys and no spaces: the same definition always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def family_of(project) -> str:
    """A project's family (the kind of scheme it is, pooled across councils); its id when none is given."""
    return getattr(project, "family", None) or project.id


def wording_hashes(fw: Framework) -> dict[str, str]:
    """sha256 of each measure's wording as residents read it: a statement's question, text and answer
    scale (and which answers count as agreeing); general health's and happiness' whole questions. Two councils
    pool a measure only when these agree."""
    block = fw.instrument.statements
    scale = [c.model_dump() for c in block.scale]
    out = {
        s.id: sha256_of(
            _canonical(
                {
                    "question": block.question,
                    "text": s.text,
                    "scale": scale,
                    "agree": block.agree_codes,
                    "disagree": block.disagree_codes,
                }
            )
        )
        for s in block.items
    }
    out["general_health"] = sha256_of(_canonical(fw.instrument.general_health.model_dump()))
    out["happiness"] = sha256_of(_canonical(fw.instrument.happiness.model_dump()))
    return out


def framework_hashes(fw: Framework) -> dict:
    """The framework's version (a sha256 of its definitions: ideals, instrument, indicators, self-evaluation
    and the ripple rule, not the council's own settings or projects), each project's ripple map and each
    measure's wording."""
    shared = fw.model_dump(include={"ideals", "instrument", "indicators", "self_evaluation", "ripple_rule"})
    return {
        "framework_version": sha256_of(_canonical(shared)),
        "ripple_maps": {p.id: sha256_of(_canonical([line.model_dump() for line in p.ripple])) for p in fw.projects},
        "wording": wording_hashes(fw),
    }


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def write_return(out: Path | str, manifest: dict, tables: dict[str, pd.DataFrame]) -> Path:
    """Write the return zip: each table as Parquet, and the manifest with each file's sha256 and rows."""
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise ValueError(f"a return needs every table; missing: {', '.join(missing)}")
    files = {f"{name}.parquet": _parquet_bytes(tables[name]) for name in TABLES}
    manifest = {
        **manifest,
        "format": FORMAT,
        "tables": {
            name: {"sha256": sha256_of(data), "rows": len(tables[name.removesuffix(".parquet")])}
            for name, data in files.items()
        },
    }
    out = Path(out)
    tmp = atomic_path(out)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in [(MANIFEST, json.dumps(manifest, sort_keys=True, indent=2).encode()), *files.items()]:
                z.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), data, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def read_return(path: Path | str) -> tuple[dict, dict[str, pd.DataFrame], str]:
    """``(manifest, tables, sha256 of the whole file)`` of a return, every table checked against the manifest;
    a UserError naming the file and what is wrong for anything else."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file (give a council's return, a .zip made by 'return')")
    raw = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = set(z.namelist())
            if MANIFEST not in names:
                raise UserError(f"{path}: not a council's return (no {MANIFEST} inside)")
            manifest = json.loads(z.read(MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise UserError(f"{path}: {MANIFEST} is not a return's manifest (format {FORMAT} expected)")
            tables = {name: _checked_table(path, z, name, manifest) for name in TABLES}
    except (zipfile.BadZipFile, json.JSONDecodeError, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise UserError(f"{path}: damaged, cannot be read as a council's return ({exc})") from None
    for key in ("council", "period", "framework_version", "wording", "projects"):
        if key not in manifest:
            raise UserError(f"{path}: {MANIFEST} lacks '{key}'")
    return manifest, tables, sha256_of(raw)


def _checked_table(path: Path, z: zipfile.ZipFile, name: str, manifest: dict) -> pd.DataFrame:
    """One table, refused unless its bytes hash to what the manifest says."""
    file = f"{name}.parquet"
    stated = manifest.get("tables", {}).get(file, {})
    if file not in z.namelist() or "sha256" not in stated:
        raise UserError(f"{path}: {file} is missing from the return or from its manifest")
    try:
        data = z.read(file)
    except zipfile.BadZipFile as exc:
        raise UserError(f"{path}: {file} is damaged ({exc})") from None
    if sha256_of(data) != stated["sha256"]:
        raise UserError(
            f"{path}: {file} does not match the sha256 its manifest gives: the return was altered or damaged "
            "after it was written; ask the council for a fresh one"
        )
    return pd.read_parquet(io.BytesIO(data))

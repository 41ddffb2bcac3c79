"""The one cache: results keyed by a value, kept in memory and, when a folder is given, shared between processes.

A key is a string made by the caller from what the result depends on (for a project's results:
:func:`project_key`, which digests the database, the project's imported data, the helpers code, the
framework and the Python and library versions), so a changed file, a new import or an edited definition can
never be served a stale result. The cache knows nothing of reports, sections or dashboards.

The batch sets ``$WORKBOOK_CACHE`` (``reports.work/cache``): the first report kernel to need a result computes it
and saves it; the others load it. One kernel computes a result while the others needing it wait on a lock
(``filelock``, released by the operating system if the kernel dies). Files are written to a temporary name
and renamed, so a reader never sees half a file. Without the variable (JupyterLab, Voila, tests) results
are kept in memory only, for the life of the object that holds the cache. The cache holds aggregates only
(no individual's answers, no unconsented story) and is never committed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from . import paths

if TYPE_CHECKING:
    from collections.abc import Callable

ENV = "WORKBOOK_CACHE"


@cache
def _code_digest() -> str:
    """The helpers code, the framework, and the Python and library versions that compute and draw results."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256(sys.version.encode())
    for package in ("numpy", "pandas", "scipy", "matplotlib", "duckdb", "vadersentiment"):
        with suppress(PackageNotFoundError):
            digest.update(f"{package}={version(package)}".encode())
    helpers = paths.ROOT / "helpers"
    for path in sorted([*helpers.rglob("*.py"), *paths.FRAMEWORK.rglob("*.yaml")]):
        digest.update(path.relative_to(paths.ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def project_key(db: Path | str, data_fingerprint: str, fw=None) -> str:
    """The key of a project's shared results: its database, its imported data, the helpers code, the framework
    files, and ``fw`` itself when given (a framework loaded from another folder, or edited in memory, gives other
    results than the repository's)."""
    framework = hashlib.sha256(fw.model_dump_json().encode()).hexdigest() if fw is not None else ""
    return hashlib.sha256(f"{db}|{data_fingerprint}|{_code_digest()}|{framework}".encode()).hexdigest()[:24]


class ResultCache:
    """Results by key: in memory, and in ``folder`` (shared with other processes) when one is given."""

    def __init__(self, folder: Path | str | None = None):
        self.folder = Path(folder) if folder else None
        self._memory: dict[str, Any] = {}

    @classmethod
    def from_environment(cls) -> ResultCache:
        """A cache in ``$WORKBOOK_CACHE`` when the batch set it, else in memory only."""
        return cls(os.environ.get(ENV) or None)

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        """The result saved under ``key``, or ``compute()`` saved under it (once, even across processes)."""
        if key not in self._memory:
            self._memory[key] = compute() if self.folder is None else _shared_file(self.folder / f"{key}.pkl", compute)
        return self._memory[key]

    def local(self, key: str, compute: Callable[[], Any]) -> Any:
        """Like :meth:`get`, but kept in this process only (for results no other process would ask for)."""
        if key not in self._memory:
            self._memory[key] = compute()
        return self._memory[key]


def _shared_file(path: Path, compute: Callable[[], Any]) -> Any:
    """The result pickled at ``path``, or ``compute()`` pickled there under a lock (one process computes it)."""
    found = _load(path)
    if found is not _MISSING:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(path.with_name(f".{path.name}.lock"), timeout=LOCK_WAIT_SECONDS):
            found = _load(path)  # computed by the process that held the lock
            if found is not _MISSING:
                return found
            value = compute()
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            return value
    except Timeout:  # another process is stuck on it: do the work here rather than wait for ever
        return compute()


_MISSING = object()
# How long a kernel waits for another computing the same result (far longer than any project-level result).
LOCK_WAIT_SECONDS = 300


def _load(path: Path) -> Any:
    """The saved result, or ``_MISSING`` when there is none (or it is unreadable and will be replaced)."""
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError):
        return _MISSING

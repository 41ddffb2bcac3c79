"""``python -m helpers audit-disclosure REPORTS_DIR``: can any hidden figure in the published outputs be worked out?

It reads what was published, as an intruder would: every table of every HTML page (reports, overviews, the
index), the CSV downloads inside those pages, and any CSV, XLSX or Parquet file in the folder (a council's
return, unzipped). It knows nothing of the code that made them. In each table it finds the hidden counts (cells
reading "not shown" or "fewer than N"; in a download, a blank count in a row marked suppressed) and the lines
they sit in (a column of counts, or each block of it under a repeated label such as "Age band"), and the totals
a reader can put beside each line:

- a "Total" (or "All") row of the block;
- a number of questionnaires, responses, people, comments, pairs or stories in the table's caption or anywhere
  in the same page's text ("Responses this wave: 326"), so that a total printed in another section counts;
- the sum of a block of the same column with nothing hidden, when the column has several blocks that all add
  up to the same (the blocks count the same people: each question of "Who answered").

A total is used only if it fits (it is at least what is shown). Then, for the lines of a table together, any
hidden cell that follows from the totals by additions and subtractions is a finding
(:func:`helpers.methods.disclosure.worked_out`). Two more findings: a hidden count whose percentage is printed
in the same row (a share of a known total gives the count away), and a hidden count printed as a number in
another table of the same page (the same labels under the same heading).

Clean: one line and exit status 0. Findings: one line each, naming the file, the table, the cell and the
value it can be worked out to, and exit status 1.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ..config.errors import UserError
from ..methods.disclosure import worked_out

EXIT_FOUND = 1
TOTAL_LABELS = {"total", "all", "all areas", "overall"}
COUNT_NOUNS = r"questionnaires?|responses?|respondents?|people|comments?|pairs?|stories|story|answers?"
PAGE_TOTALS = (
    re.compile(rf"\b(\d[\d,]*)\s+(?:{COUNT_NOUNS})\b", re.IGNORECASE),
    re.compile(rf"\b(?:{COUNT_NOUNS})[^.:|\d]{{0,30}}:\s*(\d[\d,]*)\b", re.IGNORECASE),
)
INTEGER = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+(?:\.0+)?$")
PERCENT = re.compile(r"^\d+(?:\.\d+)?%$")
FEWER = re.compile(r"^fewer than (\d+)\b", re.IGNORECASE)


@dataclass
class Grid:
    """One published table as text: where it is, its caption, its header and its rows."""

    where: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    page_totals: list[int] = field(default_factory=list)
    download: bool = False  # a CSV or XLSX: a hidden count is a blank cell in a row marked suppressed


@dataclass(frozen=True)
class Finding:
    where: str
    table: str
    cell: str
    how: str

    def line(self) -> str:
        return f"{self.where}: {self.table}: {self.cell}: {self.how}"


# --- reading the outputs ---------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The tables (caption, header, rows), CSV download links and running text of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.downloads, self.text = [], [], []
        self._table = self._row = self._cell = self._caption = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._table = {"caption": "", "rows": []}
        elif tag == "caption" and self._table is not None:
            self._caption = ""
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "a" and "download" in attrs and str(attrs.get("href", "")).startswith("data:text/csv"):
            self.downloads.append((attrs["download"], attrs["href"]))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None
        elif tag == "caption" and self._caption is not None:
            self._table["caption"], self._caption = self._caption.strip(), None
        elif tag == "tr" and self._row is not None:
            self._table["rows"].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell += data
        elif self._caption is not None:
            self._caption += data
        else:
            self.text.append(data)


def _totals_in(text: str) -> list[int]:
    """Counts a text states as totals: '326 questionnaires', 'Responses this wave: 326'."""
    found = [int(m.group(1).replace(",", "")) for pattern in PAGE_TOTALS for m in pattern.finditer(text)]
    return list(dict.fromkeys(found))


def _csv_grid(where: str, name: str, text: str, page_totals: list[int]) -> Grid | None:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return None
    return Grid(where, name, rows[0], rows[1:], page_totals, download=True)


def html_grids(path: Path, where: str) -> list[Grid]:
    """Every table of an HTML page and of the CSV downloads it carries."""
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    pieces = [*page.text, *(t["caption"] for t in page.tables)]
    page_totals = _totals_in(" | ".join(pieces))  # '|': a total is read within one piece of text, never across two
    grids = []
    for t in page.tables:
        if len(t["rows"]) >= 2:
            grids.append(Grid(where, t["caption"], t["rows"][0], t["rows"][1:], page_totals))
    for name, href in page.downloads:
        data = base64.b64decode(href.split(",", 1)[1]).decode("utf-8", errors="replace")
        grid = _csv_grid(where, f"download {name}", data, page_totals)
        if grid:
            grids.append(grid)
    return grids


def file_grids(path: Path, where: str) -> list[Grid]:
    """The table of a CSV or Parquet file (a council's return), or of each sheet of an XLSX file."""
    if path.suffix.lower() == ".csv":
        grid = _csv_grid(where, path.name, path.read_text(encoding="utf-8-sig", errors="replace"), [])
        return [grid] if grid else []
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        rows = [["" if pd.isna(v) else _text(v) for v in row] for row in frame.itertuples(index=False)]
        return [Grid(where, path.name, [str(c) for c in frame.columns], rows, download=True)] if rows else []
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    grids = []
    try:
        for sheet in book.worksheets:
            rows = [["" if v is None else _text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            if len(rows) >= 2:
                grids.append(Grid(where, f"{path.name}, sheet {sheet.title}", rows[0], rows[1:], download=True))
    finally:
        book.close()
    return grids


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- one table -------------------------------------------------------------------------------------------


def _hidden_text(text: str) -> bool:
    return text.strip().lower() == "not shown" or bool(FEWER.match(text.strip()))


def _marked_rows(grid: Grid) -> set[int]:
    """Rows of a download marked as holding a hidden figure (a true 'suppressed' column, or a note saying so)."""
    header = [h.strip().lower() for h in grid.header]
    marked = set()
    for i, row in enumerate(grid.rows):
        for h, v in zip(header, row, strict=False):
            if (h == "suppressed" and v.strip().lower() in ("true", "1", "yes")) or _hidden_text(v):
                marked.add(i)
    return marked


def _count_columns(grid: Grid, marked: set[int]) -> dict[int, dict[int, str]]:
    """{column: {row: 'n' (a shown count) or 'hidden'}} for each column that holds counts."""
    columns = {}
    for j, head in enumerate(grid.header):
        if head.strip().lower() == "suppressed":
            continue
        cells, ok = {}, True
        for i, row in enumerate(grid.rows):
            v = row[j].strip() if j < len(row) else ""
            if INTEGER.match(v):
                cells[i] = "n"
            elif (not grid.download and _hidden_text(v)) or (grid.download and v == "" and i in marked):
                cells[i] = "hidden"
            elif v == "" and grid.download:
                continue
            else:
                ok = False
                break
        if ok and "n" in cells.values() and len(cells) >= 2:
            columns[j] = cells
    return columns


def _marker(grid: Grid, i: int, j: int) -> str:
    """What a hidden cell says of itself: its own words on a page; in a download, the row's note ('fewer than
    10 responses'), if it has one."""
    row = grid.rows[i]
    if not grid.download:
        return row[j] if j < len(row) else ""
    return next((v for v in row if FEWER.match(v.strip())), "")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _labels(grid: Grid, i: int, counts: dict) -> tuple[str, ...]:
    """A row's labels: its cells that are neither counts nor percentages."""
    row, flags = grid.rows[i], {j for j, h in enumerate(grid.header) if h.strip().lower() == "suppressed"}
    return tuple(
        row[j].strip()
        for j in range(len(row))
        if j not in counts
        and j not in flags
        and row[j].strip()
        and not PERCENT.match(row[j].strip())
        and not _hidden_text(row[j])
    )


def _blocks(grid: Grid, counts: dict) -> list[list[int]]:
    """The rows in blocks under a repeated label in the first label column (one block when there is none)."""
    rows = list(range(len(grid.rows)))
    for j in range(len(grid.header)):
        if j in counts:
            continue
        values = [grid.rows[i][j].strip() if j < len(grid.rows[i]) else "" for i in rows]
        runs = [v for k, v in enumerate(values) if k == 0 or v != values[k - 1]]
        if any(INTEGER.match(v) or PERCENT.match(v) for v in values if v):
            continue
        if len(runs) < len(values) and len(runs) == len(set(runs)):  # repeats, each value in one run
            blocks = []
            for k, i in enumerate(rows):
                if k == 0 or values[k] != values[k - 1]:
                    blocks.append([])
                blocks[-1].append(i)
            return blocks
        return [rows]
    return [rows]


def _is_total_row(grid: Grid, i: int) -> bool:
    """A row labelled 'Total' (or 'All'): its counts are the totals of the rest of its block."""
    return any(label.lower() in TOTAL_LABELS for label in _labels(grid, i, {}))


def _line_candidates(grid: Grid, j: int, block: list[int], cells: dict, sibling: float | None):
    """The totals a reader could put beside a line, most certain first: (total, where it comes from)."""
    out = []
    for i in block:
        if _is_total_row(grid, i) and cells.get(i) == "n":
            out.append((_number(grid.rows[i][j]), "the table's total row"))
    out += [(t, "the number in the caption") for t in _totals_in(grid.caption)]
    if sibling is not None:
        out.append((sibling, "the total of another block of the same column"))
    out += [(t, "a total printed on the same page") for t in grid.page_totals]
    return out


def _fits(total: float, shown: float, hidden: list[str]) -> bool:
    """Whether a total can be this line's: at least what is shown, and within what the hidden cells say."""
    rest = total - shown
    if rest < 0:
        return False
    bounds = [FEWER.match(t.strip()) for t in hidden]
    if hidden and all(bounds):
        return len(hidden) <= rest <= sum(int(b.group(1)) - 1 for b in bounds)
    return True


def audit_grid(grid: Grid) -> list[Finding]:
    """The hidden cells of one table that can be worked out from its totals, or whose percentage is shown."""
    marked = _marked_rows(grid) if grid.download else set()
    counts = _count_columns(grid, marked)
    if not any("hidden" in cells.values() for cells in counts.values()):
        return []
    findings, lines, shown, hidden, described = [], [], {}, [], {}
    for j, cells in counts.items():
        blocks = _blocks(grid, counts)
        sums = {
            sum(_number(grid.rows[i][j]) for i in b if cells.get(i) == "n")
            for b in blocks
            if all(cells.get(i) == "n" for i in b if i in cells) and not any(_is_total_row(grid, i) for i in b)
        }
        sibling = next(iter(sums)) if len(blocks) > 1 and len(sums) == 1 else None
        for block in blocks:
            totals_here = [i for i in block if _is_total_row(grid, i)]
            members = [i for i in block if i in cells and i not in totals_here]
            gone = [i for i in members if cells[i] == "hidden"]
            if not gone:
                continue
            s = sum(_number(grid.rows[i][j]) for i in members if cells[i] == "n")
            texts = [_marker(grid, i, j) for i in gone]
            for total, source in _line_candidates(grid, j, block, cells, sibling):
                if _fits(total, s, texts):
                    lines.append(([(i, j) for i in members], total))
                    for i in members:
                        if cells[i] == "n":
                            shown[(i, j)] = _number(grid.rows[i][j])
                    described[len(lines) - 1] = f"{source} ({total:g})"
                    break
            hidden += [(i, j) for i in gone]
    for (i, j), value in worked_out(lines, shown, hidden).items():
        source = next(described[k] for k, (cells, _) in enumerate(lines) if (i, j) in cells)
        findings.append(
            Finding(grid.where, grid.caption, _cell_name(grid, i, j, counts), f"hidden, but {source} gives {value:g}")
        )
    findings += _shares_shown(grid, counts)
    return findings


def _cell_name(grid: Grid, i: int, j: int, counts: dict) -> str:
    return " / ".join([*_labels(grid, i, counts), grid.header[j].strip()])


def _shares_shown(grid: Grid, counts: dict) -> list[Finding]:
    """Hidden counts whose percentage is printed in the same row."""
    out = []
    for j, cells in counts.items():
        for i, kind in cells.items():
            shares = [v for v in grid.rows[i] if PERCENT.match(v.strip())]
            if kind == "hidden" and shares:
                name = _cell_name(grid, i, j, counts)
                out.append(Finding(grid.where, grid.caption, name, f"hidden, but its percentage {shares[0]} is shown"))
    return out


def audit_page(grids: list[Grid]) -> list[Finding]:
    """Every table of one page on its own, and each hidden count printed as a number in another of its tables."""
    findings = [f for g in grids for f in audit_grid(g)]
    seen = []
    for g in grids:
        marked = _marked_rows(g) if g.download else set()
        counts = _count_columns(g, marked)
        for j, cells in counts.items():
            for i, kind in cells.items():
                seen.append((g, i, j, kind, set(_labels(g, i, counts)), g.header[j].strip().lower()))
    for g, _i, j, kind, labels, head in seen:
        if kind != "hidden" or not labels:
            continue
        for other in grids:
            if other is g:
                continue
            same = [
                (oi, oj, okind)
                for o, oi, oj, okind, olabels, ohead in seen
                if o is other and ohead == head and labels <= olabels
            ]
            if len(same) == 1 and same[0][2] == "n":  # one row of the other table is this cell, and shows it
                value = other.rows[same[0][0]][same[0][1]]
                how = f"hidden, but printed as {value} in '{other.caption}'"
                findings.append(Finding(g.where, g.caption, " / ".join([*sorted(labels), g.header[j]]), how))
                break
    return findings


def audit(folder: Path) -> tuple[list[Finding], int, int]:
    """(findings, tables read, files read) for every HTML page, CSV, XLSX and Parquet file under ``folder``."""
    findings, tables, files = [], 0, 0
    for path in sorted(folder.rglob("*")):
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in (".html", ".htm", ".csv", ".xlsx", ".parquet"):
            continue
        where = path.relative_to(folder).as_posix()
        grids = html_grids(path, where) if suffix in (".html", ".htm") else file_grids(path, where)
        files += 1
        tables += len(grids)
        findings += audit_page(grids)
    return findings, tables, files


def cli_audit(args) -> int:
    """``python -m helpers audit-disclosure REPORTS_DIR``."""
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give the folder the reports were written to (e.g. reports)")
    findings, tables, files = audit(folder)
    if not findings:
        print(f"no hidden figure can be worked out: {tables} tables in {files} files under {folder}")
        return 0
    for f in findings:
        print(f.line())
    print(f"{len(findings)} hidden figure(s) can be worked out, in {tables} tables of {files} files under {folder}")
    return EXIT_FOUND

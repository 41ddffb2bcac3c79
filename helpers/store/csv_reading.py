"""CSV text as cells: the encoding, the delimiter, and two readers (a fast one and an exact one).

:func:`csv_cells` is what :func:`helpers.store.reading.read_file` calls for a file that is text. It
returns every cell as text (no header split yet) and, where they differ from 1, 2, 3, ..., the row
number a spreadsheet shows for each line, so that a reject names the row Excel shows.

- Encodings: UTF-8 (with or without a byte-order mark), Windows-1252 (Excel's "CSV" on Windows) or UTF-16
  (Excel's "Unicode text").
- Delimiters: comma, semicolon, tab or '|', chosen as the one that splits the header into the most known
  column names; Excel's ``sep=;`` first line names it and is not a row.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from ..config.errors import UserError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}
BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


def _detect_encoding(raw: bytes, name: str) -> str:
    for bom, encoding in BOMS.items():
        if raw.startswith(bom):
            return encoding
    if b"\x00" in raw[:8192]:
        raise UserError(f"{name}: not a CSV or Excel file (it holds binary data)")
    if raw.isascii():
        return "utf-8"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"  # Excel's "CSV" on Windows
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{name}: line {line} holds bytes that are neither UTF-8 nor Windows-1252 text; "
            "save the file as 'CSV UTF-8' (or it is not a CSV file)"
        ) from None


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls > max(2, len(sample) // 100)


def _sniff_delimiter(head: str, known: set[str]) -> str:
    """The delimiter that splits the header into the most known column names (else the most fields)."""
    lines = [line for line in head.splitlines() if line.strip()][:30]
    if not lines:
        return ","
    best, best_score = ",", (-1, -1, -1)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        header = [h.strip().lower() for h in rows[0]]
        counts = {len(r) for r in rows[1:-1]}  # the last line of the head may be cut short
        consistent = int(len(header) > 1 and (not counts or counts == {len(header)}))
        score = (sum(h in known for h in header), consistent, len(header))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def csv_cells(raw: bytes, name: str, known: set[str]) -> tuple[pd.DataFrame, np.ndarray | None, str, str]:
    """Every cell of a CSV file as text, the spreadsheet row of each line (None: 1, 2, 3, ...),
    the delimiter and the encoding."""
    encoding = _detect_encoding(raw, name)
    head_bytes = raw[: 1 << 16]
    head = head_bytes.decode(encoding, errors="ignore")
    if _looks_binary(head):
        raise UserError(f"{name}: not a CSV or Excel file (it holds binary data)")
    skip = 0
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].strip()
    hinted = re.fullmatch(r"sep=(.)", first_line, flags=re.IGNORECASE)
    if hinted:  # Excel's "sep=;" line: names the delimiter and is not shown as a row
        delimiter, skip = hinted.group(1), 1
    else:
        delimiter = _sniff_delimiter(head.lstrip("\ufeff"), known)
    fast = _cells_fast(raw, encoding, delimiter, skip, head)
    if fast is not None:
        cells, rows = fast
    else:
        width = len(_header_fields(head, delimiter, skip))
        cells, rows = _cells_exact(raw, name, encoding, delimiter, skip, width), None
    return cells, rows, delimiter, encoding


def _cells_fast(
    raw: bytes, encoding: str, delimiter: str, skip: int, head: str
) -> tuple[pd.DataFrame, np.ndarray | None] | None:
    """Every cell as a category of text, read by Arrow's multi-threaded CSV reader (a big file in about a second).

    Returns the cells and, when the file has empty lines, the row number Excel shows for each record
    (Arrow skips empty lines; without quotes, a record is a line, so the numbers follow from where the
    empty lines are). Files this cannot number exactly (empty lines and quotes, lines of only spaces,
    ragged rows, UTF-16) are left to :func:`_cells_exact`: None is returned.
    """
    if encoding == "utf-16":
        return None  # rare (Excel's "Unicode text"); the exact reader decodes it
    bom = next((b for b in BOMS if raw.startswith(b)), b"")
    start, end = len(bom), _content_end(raw)
    empty_lines = None
    if raw[start : start + 1] in (b"\n", b"\r") or any(
        raw.find(blank, start, end) >= 0 for blank in (b"\n\n", b"\n\r\n", b"\r\r")
    ):
        if b'"' in raw or b"\n" not in raw[start:end]:
            return None  # an empty line may sit inside a quoted value, or lines end in CR alone
        empty_lines = _empty_line_numbers(raw, start, end)
    width = len(_header_fields(head, delimiter, skip))
    cells = _arrow_cells(raw, len(bom), encoding, delimiter, skip, width) if width else None
    if cells is None or empty_lines is None:
        return None if cells is None else (cells, None)
    # Record k sits on the k-th line that is neither empty nor the skipped "sep=" line.
    records = len(cells)
    skipped = np.concatenate([np.arange(1, skip + 1), empty_lines])
    lines = np.setdiff1d(np.arange(1, records + len(skipped) + 1), skipped)[:records]
    return cells, lines - skip


def _arrow_cells(raw: bytes, bom: int, encoding: str, delimiter: str, skip: int, width: int) -> pd.DataFrame | None:
    """Arrow's reading of the file after its byte-order mark: ``width`` dictionary-encoded text columns
    (None when Arrow cannot read it, or finds another width)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buffer = pa.py_buffer(raw).slice(bom)  # no copy
    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pacsv.read_csv(
            pa.BufferReader(buffer),
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True,
                skip_rows=skip,
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=b'"' in raw),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": text for i in range(width)},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError, LookupError):
        return None
    if table.num_columns != width:
        return None
    cells = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    pa.default_memory_pool().release_unused()
    cells.columns = range(cells.shape[1])
    return cells


def _empty_line_numbers(raw: bytes, start: int, end: int) -> np.ndarray:
    """1-based numbers of the empty lines between ``start`` and ``end`` (lines end in LF or CRLF)."""
    numbers = [1] if raw[start : start + 1] in (b"\n", b"\r") else []
    line, counted = 1, start
    for found in re.finditer(rb"\n(?=\r?\n)", raw[start:end] if end - start < 1 << 16 else memoryview(raw)[start:end]):
        at = start + found.end()  # where the empty line begins
        line += raw.count(b"\n", counted, at)
        counted = at
        numbers.append(line)
    return np.array(numbers, dtype=np.int64)


def _header_fields(head: str, delimiter: str, skip: int) -> list[str]:
    """The cells of the first non-empty line (the header) after ``skip`` lines."""
    lines = [line for line in head.lstrip("\ufeff").splitlines()[skip:] if line.strip()]
    return next(csv.reader(lines[:1], delimiter=delimiter), [])


def _content_end(raw: bytes) -> int:
    """Length of ``raw`` without trailing white space, without copying a big file."""
    end = len(raw)
    while end > 0:
        chunk = raw[max(0, end - 4096) : end]
        stripped = chunk.rstrip(b" \t\r\n")
        if stripped:
            return end - len(chunk) + len(stripped)
        end -= len(chunk)
    return 0


def _cells_exact(raw: bytes, name: str, encoding: str, delimiter: str, skip: int, width: int) -> pd.DataFrame:
    """Every cell as text, read by pandas' parser: exact about blank lines and ragged rows.

    Columns are dictionary-encoded as they are read back, as the fast reader's are, so a big file
    keeps a small footprint while it is validated.
    """
    try:
        cells = pd.read_csv(
            io.BytesIO(raw),
            sep=delimiter,
            header=None,
            names=range(max(width, 1)),  # the header's width, even when empty lines come first
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            skiprows=skip,
            encoding=encoding,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise UserError(
                f"{name}: line {int(line) + skip} has {saw} cells but the header has {want} "
                f"({DELIMITER_NAMES.get(delimiter, delimiter)}-separated); a value that contains the "
                "delimiter must be in double quotes"
            ) from None
        raise UserError(f"{name}: not a readable CSV file ({str(exc).strip().splitlines()[-1]})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{name}: the file is empty") from None
    except UnicodeDecodeError:
        raise UserError(f"{name}: the file mixes text encodings; save it as 'CSV UTF-8'") from None
    for column in cells.columns:
        cells[column] = cells[column].astype("category")
    return cells

"""Reading a labelled channel (`train`, `validation`) in the layout of docs/data-contract.md.

Each CSV file has a header row; column 0 is the row id, column 1 the binary label (0/1), the rest are
numeric features (an empty field is a missing value). Every file of a channel must have the same header.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xgb_model.jobs import JobError

if TYPE_CHECKING:
    import pandas as pd

# Files up to this size are first offered to the plain reader (`_read_plain`), which needs no pandas: importing
# pandas is a fifth of a training trial's start-up, while for files this small pandas' faster parsing saves
# less than that. Larger files, and every file the plain reader declines, are read by pandas.
PLAIN_MAX_BYTES = 1 << 20
# Feature values the plain reader accepts, read the same by pandas and by Python's float() (which rounds
# correctly): plain decimals of at most 15 digits (pandas' integer parser reads those exactly, and its float
# parser has always rounded them correctly), never a negative zero (an integer column in pandas reads "-0" as
# 0, a float column as -0.0). `_LONG_DECIMAL` adds decimals with a point of any length (the ETL writes ratios
# with 17 significant digits): pandas reads every decimal with fast_float, correctly rounded, since 3.1.
_NOT_NEGATIVE_ZERO = r"(?:-(?![0.]*(?:,|\Z)))?"
_SHORT_NUMBER = r"(?=[0-9.]{1,15}(?:,|\Z))(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_LONG_DECIMAL = r"(?=[0-9.]{1,40}(?:,|\Z))(?:[0-9]+\.[0-9]*|\.[0-9]+)"


class DataError(JobError):
    """A channel that cannot be trained on; the message names the file, column and value."""


@dataclass(frozen=True)
class LabeledData:
    """One channel's rows: features as float32 (NaN marks a missing value) and 0/1 labels."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: tuple[str, ...]
    id_column: str
    label_column: str

    @property
    def rows(self) -> int:
        """Number of data rows."""
        return int(self.labels.shape[0])

    @property
    def positives(self) -> int:
        """Number of rows labelled 1."""
        return int(self.labels.sum())


def channel_files(directory: Path, channel: str) -> list[Path]:
    """The channel's CSV files, in a stable order."""
    if not directory.is_dir():
        raise DataError(f"the {channel!r} channel is missing (no folder {directory})")
    files = sorted(
        p
        for p in directory.rglob("*.csv")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )
    if not files:
        raise DataError(f"the {channel!r} channel has no .csv files (looked in {directory})")
    return files


def read_channel(directory: Path, channel: str) -> LabeledData:
    """Read and check every CSV file of a channel."""
    files = channel_files(directory, channel)
    header = _read_header(files[0])
    parts = []
    for path in files:
        other = _read_header(path)
        if other != header:
            raise DataError(
                f"{path.name} has a different header from {files[0].name}: "
                f"{_header_difference(header, other)}"
            )
        _check_row_widths(path, len(header))
        parts.append(_read_plain(path, len(header)) or _read_file(path, header))
    features = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    if labels.shape[0] == 0:
        raise DataError(f"the {channel!r} channel has a header but no data rows")
    return LabeledData(
        features=features,
        labels=labels,
        feature_names=tuple(header[2:]),
        id_column=header[0],
        label_column=header[1],
    )


def _read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as error:
        raise DataError(f"{path.name} is not UTF-8 text: {error}") from None
    if not header:
        raise DataError(f"{path.name} is empty")
    header = [name.strip() for name in header]
    if all(_is_number(name) for name in header):
        raise DataError(
            f"{path.name} has no header row (its first line is data); the layout is: header, then "
            "id, label (0/1) and the feature columns"
        )
    if len(header) < 3:
        raise DataError(f"{path.name} has {len(header)} columns; it needs an id, a label and features")
    blank = [i + 1 for i, name in enumerate(header) if not name]
    if blank:
        raise DataError(f"{path.name}: header columns {blank} have no name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{path.name}: header repeats column names {duplicates}")
    return header


# Bytes read per step when checking row widths: the check holds two index arrays of about this size.
_WIDTH_BLOCK = 8 << 20


def _check_row_widths(path: Path, width: int) -> None:
    """Fail on the first row whose column count differs from the header's.

    pandas pads a short row with missing values and drops the extra fields of a long one; the scoring
    parser rejects both, so training must too. Blank lines are skipped, as pandas skips them.
    """
    found = _first_bad_width(path, width)
    if found is not None:
        line, columns = found
        raise DataError(
            f"{path.name}, line {line} has {columns} columns; the header has {width} (the id, the label "
            "and every feature)"
        )


def _first_bad_width(path: Path, width: int) -> tuple[int, int] | None:
    """(line number, column count) of the first row of the wrong width, counting separators per line."""
    done = 0  # lines before the current block
    carry = b""
    with path.open("rb") as handle:
        while block := handle.read(_WIDTH_BLOCK):
            if b'"' in block:  # quoted fields may hold separators and line breaks: the csv module decides
                return _first_bad_width_quoted(path, width)
            data = carry + block
            # CR LF and a lone CR end lines too; a CR at the very end may be the first half of a CR LF.
            keep_cr = data.endswith(b"\r")
            data = (data[:-1] if keep_cr else data).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            end = data.rfind(b"\n") + 1
            complete, carry = data[:end], data[end:] + (b"\r" if keep_cr else b"")
            found = _bad_width_in(complete, width, done)
            if found is not None:
                return found
            done += complete.count(b"\n")
    tail = carry.replace(b"\r", b"")
    return _bad_width_in(tail + b"\n", width, done) if tail.strip() else None


def _bad_width_in(data: bytes, width: int, done: int) -> tuple[int, int] | None:
    """The first complete line of `data` (lines after the first `done` of the file) of the wrong width."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == ord("\n"))
    separators = np.diff(np.searchsorted(np.flatnonzero(buffer == ord(",")), ends), prepend=0)
    lengths = np.diff(ends, prepend=-1) - 1
    bad = (separators != width - 1) & (lengths > 0)
    if done == 0 and bad.size:
        bad[0] = False  # the header, checked on its own
    if not bad.any():
        return None
    first = int(np.flatnonzero(bad)[0])
    return done + first + 1, int(separators[first]) + 1


def _first_bad_width_quoted(path: Path, width: int) -> tuple[int, int] | None:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                if row and len(row) != width:
                    return reader.line_num, len(row)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path.name} is not UTF-8 CSV text: {error}") from None
    return None


def _read_plain(path: Path, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of a small file whose every field is in the plain form (see `_SHORT_NUMBER`), else None.

    Accepted: no quotes, NUL bytes or bare carriage returns; UTF-8; each data row the id (any text), a label
    that is exactly 0 or 1, and features that are plain decimals or empty (missing). For such a file the
    result equals `_read_file`'s (a test compares them); anything else is left to `_read_file`, so every
    message about a bad file comes from there.
    """
    if path.stat().st_size > PLAIN_MAX_BYTES:
        return None
    data = path.read_bytes().replace(b"\r\n", b"\n")
    if any(mark in data for mark in (b'"', b"\r", b"\0")):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    rows = [line.partition(b",")[2] for line in data.split(b"\n")[1:] if line]  # pandas skips blank lines
    row = _plain_row(width)
    if not all(map(row.fullmatch, rows)):
        return None
    if not rows:
        return np.empty((0, width - 2), dtype=np.float32), np.empty(0, dtype=np.int8)
    nan = math.nan
    values = np.array([float(field) if field else nan for field in b",".join(rows).split(b",")])
    values = values.reshape(len(rows), width - 1)
    return np.ascontiguousarray(values[:, 1:], dtype=np.float32), values[:, 0].astype(np.int8)


@functools.cache
def _plain_row(width: int) -> re.Pattern[bytes]:
    """A data row without its id, in the plain form: the label, then `width - 2` plain or empty features."""
    number = _SHORT_NUMBER + (f"|{_LONG_DECIMAL}" if _pandas_rounds_every_decimal() else "")
    return re.compile(rf"[01](?:,(?:{_NOT_NEGATIVE_ZERO}(?:{number}))?){{{width - 2}}}".encode())


@functools.cache
def _pandas_rounds_every_decimal() -> bool:
    """Whether the installed pandas (3.1 or later) reads decimals of any length with correct rounding; its
    version is read from its metadata, without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(part) for part in version("pandas").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (3, 1)


def _read_file(path: Path, header: list[str]) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd  # here, not at the top: `_read_plain` reads most training files without it
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    label, features = header[1], header[2:]
    try:
        frame = pd.read_csv(
            path,
            encoding="utf-8-sig",
            header=0,
            names=header,
            usecols=[label, *features],
            na_values=[""],
            keep_default_na=False,
        )
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{path.name}: {error}") from None
    if frame.empty:
        return np.empty((0, len(features)), dtype=np.float32), np.empty(0, dtype=np.int8)
    for name in features:
        column = frame[name]
        if not (is_numeric_dtype(column) and not is_bool_dtype(column)):
            bad = pd.to_numeric(column, errors="coerce").isna() & column.notna()
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path.name}, line {row + 2}, column {name!r}: {column.iloc[row]!r} is not a number"
            )
    values = frame[features].to_numpy(dtype=np.float32)
    infinite = np.argwhere(np.isinf(values))
    if infinite.size:
        row, col = (int(i) for i in infinite[0])
        raise DataError(f"{path.name}, line {row + 2}, column {features[col]!r}: value is not finite")
    return np.ascontiguousarray(values), _labels(path, label, frame[label])


def _labels(path: Path, name: str, column: pd.Series) -> np.ndarray:
    import pandas as pd

    numeric = pd.to_numeric(column, errors="coerce")
    valid = numeric.isin([0, 1]).to_numpy()
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        raise DataError(
            f"{path.name}, line {row + 2}: label {name!r} is {column.iloc[row]!r}; labels must be 0 or 1"
        )
    return numeric.to_numpy(dtype=np.int8)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _header_difference(expected: list[str], got: list[str]) -> str:
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    if missing or extra:
        return f"missing {_few(missing)}, unexpected {_few(extra)}"
    return "same columns in a different order"


def _few(names: list[str]) -> str:
    return f"{names[:5]}" + (f" and {len(names) - 5} more" if len(names) > 5 else "")

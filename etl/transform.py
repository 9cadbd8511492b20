"""The employee-attrition feature transform: raw feature-store CSVs in, model-ready extracts out.

It runs as an AWS Glue Python shell job (Python 3.9, with pandas and pyarrow from the `analytics` library set)
and locally, so it keeps to Python 3.9 syntax and to APIs that pandas 1.4 and pyarrow 7 already have. It is
uploaded alone, so it imports nothing from this project. Four layers, each usable on its own:

1. `transform_train` / `transform_score`: pure functions from one raw DataFrame (or chunk) to the model-ready
   frame, indexed by the row id. This is `docs/dataset.md`'s transform.
2. `transform_file`: streams one local CSV through the transform in chunks and writes the extract. Only the
   current chunk is in memory, and the bytes equal a single-pass run: every output column is computed row by
   row, and the one-hot columns are fixed before the first row is read.
3. `run_local`: the whole job on local files (train, optional score, output folder), all or nothing.
4. `run_s3` / `main`: the Glue job. Download from the feature store, run in a temporary folder, then `publish`
   the set whole (old set or new set, whichever request fails). It never writes to the source bucket.

Outputs (`docs/data-contract.md`): `train/train.csv` (id, label, features, with a header; the `builtin` layout
drops the header and the id), `score/score.csv` (id and features, no header) and `schema/columns.json`.
`shape_extracts` then splits the score file into `score/part-NNNNN.csv` (`--score_parts`, one per Batch
Transform instance), moves a validation holdout to `validation/validation.csv` (`--validation true`) and
deals the rest of the train file into `train/part-NNNNN.csv` (`--train_parts`, one per training instance),
on the local files, before `publish`: any engine that writes the local set calls it the same way.

One-hot columns are named `<column>_<value>` (as `pandas.get_dummies` names them) and ordered by the
dataset's known categories, which `docs/dataset.md` lists alphabetically. Training therefore always yields
the same 43 features, and a training value outside the known categories is an error. Scoring derives its
one-hot columns from the persisted training feature list, so a category the score file lacks still gets its
(all-zero) column and a category training never had adds none.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import csv
import functools
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

LOG = logging.getLogger("mlops.etl")

# --- The dataset's schema and transform (docs/dataset.md) ----------------------------------------------------------

ID = "EmployeeNumber"
LABEL = "Attrition"
RATIO = "RatioYearsPerCompany"

CONTINUOUS = (
    "Age",
    "DistanceFromHome",
    "MonthlyIncome",
    "PercentSalaryHike",
    "TrainingTimesLastYear",
    RATIO,
    "YearsAtCompany",
    "YearsInCurrentRole",
    "YearsSinceLastPromotion",
    "YearsWithCurrManager",
)
ORDINAL = (
    "BusinessTravel",
    "Education",
    "EnvironmentSatisfaction",
    "JobInvolvement",
    "JobLevel",
    "JobSatisfaction",
    "PerformanceRating",
    "RelationshipSatisfaction",
    "StockOptionLevel",
    "WorkLifeBalance",
)
# Known categories, in output order.
ONE_HOT: dict[str, tuple[str, ...]] = {
    "Department": ("Human Resources", "Research & Development", "Sales"),
    "EducationField": (
        "Human Resources",
        "Life Sciences",
        "Marketing",
        "Medical",
        "Other",
        "Technical Degree",
    ),
    "JobRole": (
        "Healthcare Representative",
        "Human Resources",
        "Laboratory Technician",
        "Manager",
        "Manufacturing Director",
        "Research Director",
        "Research Scientist",
        "Sales Executive",
        "Sales Representative",
    ),
    "MaritalStatus": ("Divorced", "Married", "Single"),
}
BINARY = ("Gender", "OverTime")
# Text columns encoded as numbers: each value's code is its position here.
ENCODED: dict[str, tuple[str, ...]] = {
    "BusinessTravel": ("Non-Travel", "Travel_Rarely", "Travel_Frequently"),
    "Gender": ("Male", "Female"),
    "OverTime": ("No", "Yes"),
    LABEL: ("No", "Yes"),
}
# Raw integer columns the transform reads (the ratio's two inputs included).
INTEGER_INPUTS = (
    *(c for c in CONTINUOUS + ORDINAL if c != RATIO and c not in ENCODED),
    "TotalWorkingYears",
    "NumCompaniesWorked",
)

# The documented domain (docs/dataset.md's raw schema) of the id and of every raw integer column the transform
# reads, as inclusive (lowest, highest) bounds; None: no upper bound. A test compares these with the document.
DOMAINS: dict[str, tuple[int, int | None]] = {
    ID: (1, None),  # unique positive integer
    "Age": (18, 60),
    "DistanceFromHome": (1, 29),
    "Education": (1, 5),
    "EnvironmentSatisfaction": (1, 4),
    "JobInvolvement": (1, 4),
    "JobLevel": (1, 5),
    "JobSatisfaction": (1, 4),
    "MonthlyIncome": (1009, 19999),
    "NumCompaniesWorked": (0, 9),
    "PercentSalaryHike": (11, 25),
    "PerformanceRating": (3, 4),
    "RelationshipSatisfaction": (1, 4),
    "StockOptionLevel": (0, 3),
    "TotalWorkingYears": (0, 40),
    "TrainingTimesLastYear": (0, 6),
    "WorkLifeBalance": (1, 4),
    "YearsAtCompany": (0, 40),
    "YearsInCurrentRole": (0, 18),
    "YearsSinceLastPromotion": (0, 15),
    "YearsWithCurrManager": (0, 17),
}


def one_hot_name(column: str, category: str) -> str:
    """The output column for one category of a one-hot column, as `pandas.get_dummies` names it."""
    return column + "_" + category


FEATURES: tuple[str, ...] = (
    CONTINUOUS + ORDINAL + tuple(one_hot_name(c, v) for c, values in ONE_HOT.items() for v in values) + BINARY
)
"""The 43 training features, in output order."""

SCORE_INPUTS: tuple[str, ...] = (
    ID,
    *INTEGER_INPUTS,
    *(c for c in ENCODED if c != LABEL),
    *ONE_HOT,
)
TRAIN_INPUTS: tuple[str, ...] = (*SCORE_INPUTS, LABEL)

TRAIN_KEY = "train/train.csv"
SCORE_KEY = "score/score.csv"
SCHEMA_KEY = "schema/columns.json"
LAYOUTS = ("byo", "builtin")
INFERENCE_TYPES = ("batch", "endpoint")

# Arrow reads this much of the raw file per chunk (about 25,000 rows of the example data): small enough that a
# chunk and its output text stay in the CPU caches, which measured faster than 16 MiB chunks.
DEFAULT_BLOCK_SIZE = 4 << 20
_EXAMPLES = 5


class TransformError(ValueError):
    """Input the transform cannot use; the message says what is wrong and where."""


# --- Layer 1: the pure transform ----------------------------------------------------------------------------------


def transform_train(raw: pd.DataFrame) -> pd.DataFrame:
    """The training extract of one raw frame: the label, then the 43 features, indexed by the row id.

    A value outside the dataset's known categories is an error here, because training defines the columns.
    """
    _require(raw, TRAIN_INPUTS)
    return _features(raw, FEATURES, label=True)


def transform_score(raw: pd.DataFrame, features: Sequence[str] = FEATURES) -> pd.DataFrame:
    """The scoring extract of one raw frame: exactly `features` (the training columns), in order.

    A one-hot category the frame lacks still gets its all-zero column; a category that has no training
    column adds nothing (its row has zeros in that group). A label column, if present, is ignored.
    """
    _require(raw, SCORE_INPUTS)
    return _features(raw, features, label=False)


def one_hot_categories(features: Sequence[str]) -> dict[str, list[str]]:
    """The one-hot categories a feature list holds, per column, in the list's order."""
    return {
        column: [f[len(column) + 1 :] for f in features if f.startswith(column + "_")] for column in ONE_HOT
    }


def check_features(features: Sequence[str]) -> None:
    """Fail unless this transform can compute every feature in `features` (e.g. from `schema/columns.json`)."""
    if not features:
        raise TransformError("the feature list is empty")
    known = set(CONTINUOUS + ORDINAL + BINARY) | {
        one_hot_name(c, v) for c, values in one_hot_categories(features).items() for v in values
    }
    unknown = [f for f in features if f not in known]
    duplicates = sorted({f for f in features if list(features).count(f) > 1})
    if unknown:
        raise TransformError(f"the feature list names columns this transform does not compute: {unknown}")
    if duplicates:
        raise TransformError(f"the feature list repeats columns: {duplicates}")


def _features(raw: pd.DataFrame, features: Sequence[str], *, label: bool) -> pd.DataFrame:
    """The label (for training) and `features` of `raw`. Training is strict about one-hot categories."""
    check_features(features)
    ids = _integers(raw, ID)
    columns: dict[str, Any] = {c: _integers(raw, c) for c in INTEGER_INPUTS}
    check_domains(raw, {ID: ids, **columns})
    columns[RATIO] = columns["TotalWorkingYears"] / (columns["NumCompaniesWorked"] + 1)
    for column in ENCODED:
        if column != LABEL:
            columns[column] = _encode(raw, column)
    unknown = {}
    for column, categories in one_hot_categories(features).items():
        codes = _category_codes(raw[column], categories)
        if label and (codes < 0).any():
            unknown[column] = _unknown_values(raw[column], categories)
        for position, category in enumerate(categories):
            columns[one_hot_name(column, category)] = (codes == position).astype(np.int8)
    if unknown:
        raise TransformError(
            "values outside the dataset's known categories (docs/dataset.md); add them to ONE_HOT in "
            "etl/transform.py to train on them: " + "; ".join(f"{c}: {v}" for c, v in unknown.items())
        )
    names = ([LABEL] if label else []) + list(features)
    if label:
        columns[LABEL] = _encode(raw, LABEL)
    # copy=False keeps one array per column (no 2-D block copy), which the CSV writer then takes as it is.
    return pd.DataFrame({name: columns[name] for name in names}, index=pd.Index(ids, name=ID), copy=False)


def check_domains(raw: pd.DataFrame, columns: dict[str, np.ndarray]) -> None:
    """Fail on any value outside DOMAINS, naming each such column, its domain and its first such rows.

    Rows are numbered from 1 for the first data row, after the header: `raw`'s index plus one (the chunked
    reader gives each chunk's rows their position in the file, and stops at the first chunk that fails).
    """
    problems = []
    for column, (low, high) in DOMAINS.items():
        values = columns[column]
        outside = values < low if high is None else (values < low) | (values > high)
        if outside.any():
            domain = f"at least {low}" if high is None else f"from {low} to {high}"
            rows = (raw.index[outside][:_EXAMPLES] + 1).tolist()
            found = sorted(set(values[outside][:_EXAMPLES].tolist()))
            more = " and more" if outside.sum() > _EXAMPLES else ""
            problems.append(f"{column} must be {domain}; found {found} in rows {rows}{more}")
    if problems:
        raise TransformError("values outside the domains of docs/dataset.md: " + "; ".join(problems))


def _require(raw: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise TransformError(f"missing required columns: {', '.join(missing)}")


def _category_codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Each value's position in `categories`, or -1 (for an unknown or missing value)."""
    known = pd.Index(list(categories))
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Recode the few distinct values, then look the codes up: no per-row hashing.
        positions = np.append(known.get_indexer(values.cat.categories), -1)
        return positions[values.cat.codes.to_numpy()]
    return known.get_indexer(values)


def _unknown_values(values: pd.Series, categories: Sequence[str]) -> str:
    bad = values[_category_codes(values, categories) < 0]
    examples = sorted({str(v) for v in bad.astype(object).fillna("<empty>").unique()[:_EXAMPLES]})
    return f"{examples} in {len(bad)} row(s)"


def _encode(raw: pd.DataFrame, column: str) -> np.ndarray:
    """A text column's numeric codes (ENCODED); an unexpected or missing value is an error."""
    codes = _category_codes(raw[column], ENCODED[column])
    if (codes < 0).any():
        raise TransformError(
            f"{column} must be one of {list(ENCODED[column])}; found "
            + _unknown_values(raw[column], ENCODED[column])
        )
    return codes.astype(np.int8)


def _integers(raw: pd.DataFrame, column: str) -> np.ndarray:
    """An integer column as int64; missing or non-integer values are an error."""
    values = raw[column]
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_extension_array_dtype(
        values.dtype
    ):
        return values.to_numpy(dtype=np.int64)
    missing = values.isna().to_numpy()
    if missing.any():
        raise TransformError(_bad_rows(raw, column, "is empty", missing))
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers != np.floor(numbers))
    if bad.any():
        examples = sorted({str(v) for v in values[bad].unique()[:_EXAMPLES]})
        raise TransformError(f"{column} must hold whole numbers; found {examples} in {int(bad.sum())} row(s)")
    return numbers.to_numpy(dtype=np.int64)


def _bad_rows(raw: pd.DataFrame, column: str, problem: str, rows: np.ndarray) -> str:
    """`<column> <problem> in N row(s)`, with some of those rows' ids when they have them."""
    ids = raw[ID][rows].dropna() if column != ID else raw[ID].iloc[:0]
    where = f" (e.g. {ID} {ids.iloc[:_EXAMPLES].tolist()})" if len(ids) else ""
    return f"{column} {problem} in {int(rows.sum())} row(s){where}"


# --- Layer 2: streaming one file ---------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
_CATEGORY_TYPE = pa.dictionary(pa.int32(), pa.string())


def read_header(path: str) -> list[str]:
    """The column names in a CSV file's first line, with or without a UTF-8 byte order mark."""
    with open(path, "rb") as handle:
        first = _first_line(handle)
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        raise TransformError("the header is not UTF-8 text") from None
    return next(csv.reader([text]))  # one line always parses to one row ([] for an empty line)


def _first_line(handle: Any) -> bytes:
    """The bytes before the first line end: LF, CR LF or a lone CR (old Mac files end lines with CR only)."""
    read = b""
    while True:
        block = handle.read(1 << 16)
        read += block
        ends = [i for i in (read.find(b"\n"), read.find(b"\r")) if i >= 0]
        if ends or not block:
            return read[: min(ends)] if ends else read


def read_chunks(
    path: str, needed: Sequence[str], block_size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[pd.DataFrame]:
    """The columns `needed` of a raw CSV file, as DataFrames of about `block_size` bytes of input each.

    Text columns arrive as pandas categoricals (cheap to recode); integer columns as int64.
    """
    header = read_header(path)
    missing = [c for c in needed if c not in header]
    if missing:
        raise TransformError(f"missing required columns: {', '.join(missing)}")
    types = {c: pa.int64() for c in (ID, *INTEGER_INPUTS)}
    types.update({c: _CATEGORY_TYPE for c in tuple(ENCODED) + tuple(ONE_HOT)})
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=block_size),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(needed),
                column_types={c: t for c, t in types.items() if c in needed},
            ),
        )
    except pa.ArrowInvalid as error:
        raise TransformError(_describe_parse_error(str(error), header)) from None
    first_row = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            raise TransformError(_describe_parse_error(str(error), header)) from None
        if batch.num_rows:
            frame = batch.to_pandas()
            # Each row's position among the file's data rows, so that errors can name the rows.
            frame.index = pd.RangeIndex(first_row, first_row + len(frame))
            first_row += len(frame)
            yield frame


def _describe_parse_error(message: str, header: Sequence[str]) -> str:
    """Arrow's parse error, with the column named rather than numbered."""
    # Anchored: the message quotes the row, whose text could say "column #" too. Arrow numbers the file's columns,
    # and every column it converts is a needed one, found in `header` (read_chunks checks) at the same position.
    found = re.match(r"In CSV column #(\d+):", message)
    if found:
        message = f"{header[int(found.group(1))]}: {message}"
    return f"cannot parse the file: {message}"


def output_columns(kind: str, features: Sequence[str], layout: str) -> list[str]:
    """The extract's columns, in file order: `train` or `score`, in the `byo` or `builtin` layout."""
    label = [LABEL] if kind == "train" else []
    row_id = [] if (kind == "train" and layout == "builtin") else [ID]
    return row_id + label + list(features)


def transform_file(
    source: str,
    destination: str,
    kind: str,
    features: Sequence[str] = FEATURES,
    layout: str = "byo",
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> int:
    """Stream raw `source` through the transform into the extract `destination`; return the row count.

    `kind` is `train` or `score`. Only the byo train file has a header. Ids must be unique within the file.
    """
    transform = transform_train if kind == "train" else lambda chunk: transform_score(chunk, features)
    needed = TRAIN_INPUTS if kind == "train" else SCORE_INPUTS
    columns = output_columns(kind, features, layout)
    rows = 0
    ids: list[np.ndarray] = []
    try:
        with open(destination, "wb") as sink:
            if kind == "train" and layout == "byo":
                sink.write(_header(columns))
            for chunk in read_chunks(source, needed, block_size):
                frame = transform(chunk)
                ids.append(frame.index.to_numpy())
                sink.write(csv_rows(frame, columns))
                rows += len(frame)
    except TransformError as error:
        raise TransformError(f"{kind} file: {error}") from None
    if rows == 0:
        raise TransformError(f"{kind} file: no data rows")
    _check_unique(np.concatenate(ids), kind)
    return rows


def _header(columns: Sequence[str]) -> bytes:
    """The header line, written by hand so that it is unquoted and the same under every pyarrow version."""
    return (",".join(columns) + "\n").encode("utf-8")


def write_extract(frame: pd.DataFrame, destination: str, kind: str, layout: str = "byo") -> None:
    """Write one transformed frame as an extract file, exactly as `transform_file` would (single pass)."""
    features = [c for c in frame.columns if c != LABEL]
    columns = output_columns(kind, features, layout)
    with open(destination, "wb") as sink:
        if kind == "train" and layout == "byo":
            sink.write(_header(columns))
        sink.write(csv_rows(frame, columns))


# --- The CSV writer: pyarrow's text for every value, assembled with numpy ------------------------------------------
#
# pyarrow's CSV writer spent about a third of the job formatting ~45 million small numbers one by one. Every
# output column is numeric and, but for the id, takes few distinct values (the domains are checked), so each
# column's distinct values are formatted once, by the same cast to text that pyarrow's writer applies to each
# value (so the bytes are the writer's, under any pyarrow version), and rows are assembled from those texts:
#
# - each distinct value's text, then its separator (`,`, or a line end after the last column), is padded with
#   NUL bytes to whole 64-bit words, so one row of a column's table is one or a few uint64 words;
# - neighbouring narrow columns share a word: their tables are combined (every pair of entries, side by side)
#   while the pair's texts fit in 8 bytes and the combined table stays small;
# - each row is the words its columns' codes pick (`numpy.take`), and deleting the NUL padding from the whole
#   block leaves the CSV text. Numbers' text never holds a NUL byte.

_GROUP_LIMIT = 1 << 16  # entries in a combined table of neighbouring columns


def csv_rows(frame: pd.DataFrame, columns: Sequence[str]) -> bytes:
    """`frame`'s rows as CSV lines without a header, byte for byte what pyarrow's CSV writer writes.

    `columns` are numeric (`ID` names the index); the bytes equal `pyarrow.csv.write_csv` of the same arrays
    with `include_header=False`.
    """
    arrays = [frame.index.to_numpy() if c == ID else frame[c].to_numpy() for c in columns]
    if not len(frame):
        return b""
    units: list[tuple[np.ndarray, np.ndarray, int]] = []  # (codes, table of words, bytes used per entry)
    for position, values in enumerate(arrays):
        end = b"\n" if position == len(arrays) - 1 else b","
        codes, table, width = _column_table(values, end)
        # Two texts that fit in one word together (each table is then one word wide) share it.
        if units and units[-1][2] + width <= 8:
            prior_codes, prior, prior_width = units[-1]
            if len(prior) * len(table) <= _GROUP_LIMIT:
                paired = prior | (table[:, 0][None, :] << np.uint64(8 * prior_width))
                units[-1] = (prior_codes * len(table) + codes, paired.reshape(-1, 1), prior_width + width)
                continue
        units.append((codes, table, width))
    words = np.empty((len(frame), sum(table.shape[1] for _, table, _ in units)), dtype=np.uint64)
    at = 0
    for codes, table, _ in units:
        span = table.shape[1]
        words[:, at : at + span] = np.take(table, codes, axis=0)
        at += span
    return words.tobytes().translate(None, b"\0")


def _column_table(values: np.ndarray, end: bytes) -> tuple[np.ndarray, np.ndarray, int]:
    """Each value's row in its column's text table, the table, and the bytes a row of it uses."""
    if values.dtype.kind in "iu":
        low, high = int(values.min()), int(values.max())
        if high - low <= _RANGE_LIMIT:
            # In int64, where neither the codes nor the combined codes of neighbours overflow.
            codes = (
                values.astype(np.int64) - low if values.dtype.kind == "i" else values - values.dtype.type(low)
            )
            return (codes.astype(np.int64, copy=False), *_range_table(values.dtype.str, low, high, end))
    elif values.dtype.kind == "f":
        # Distinct bit patterns, not values: -0.0 equals 0.0 but is written "-0", and NaN has no code.
        codes, uniques = pd.factorize(values.view(f"u{values.dtype.itemsize}"))
        if 2 * len(uniques) <= len(values):
            return (codes, *_text_table(np.asarray(uniques).view(values.dtype), end))
    else:
        raise TypeError(f"the extract writer takes numeric columns, not {values.dtype}")
    return (np.arange(len(values)), *_text_table(values, end))


_RANGE_LIMIT = 1 << 16  # an integer column spanning at most this many values is formatted by range, once


@functools.lru_cache(maxsize=256)
def _range_table(dtype: str, low: int, high: int, end: bytes) -> tuple[np.ndarray, int]:
    """The text table of the integers low..high: the same for every chunk, so it is made once."""
    return _text_table(np.arange(low, high + 1, dtype=dtype), end)


def _text_table(values: np.ndarray, end: bytes) -> tuple[np.ndarray, int]:
    """Each value's text as pyarrow's CSV writer writes it, then `end`, NUL-padded to whole uint64 words.

    Returns the table (one row of words per value) and the bytes a row uses (the longest text and `end`).
    """
    text = pa.array(values).cast(pa.string())  # new buffers, not a slice: the offsets start at 0
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=len(text) + 1)
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8, count=offsets[-1])
    lengths = np.diff(offsets)
    width = int(lengths.max()) + 1
    span = -(-width // 8) * 8
    table = np.zeros((len(text), span), dtype=np.uint8)
    starts = np.arange(len(text)) * span - offsets[:-1]
    table.ravel()[np.repeat(starts, lengths) + np.arange(len(data))] = data
    table[:, width - 1] = ord(end)
    return table.view(np.uint64), width


def _check_unique(ids: np.ndarray, kind: str) -> None:
    ordered = np.sort(ids)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if len(repeated):
        raise TransformError(f"{kind} file: {ID} must be unique; repeated: {repeated[:_EXAMPLES].tolist()}")


# --- Layer 3: the whole job on local files -----------------------------------------------------------------------


def schema_document(features: Sequence[str]) -> dict[str, Any]:
    """The `schema/columns.json` document: the training columns that scoring-only runs align to."""
    return {"id": ID, "label": LABEL, "features": list(features)}


def write_schema(path: str, features: Sequence[str]) -> None:
    """Write the `schema/columns.json` document to `path`, as both engines write it."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(schema_document(features), indent=2) + "\n")


def features_from_schema(text: str | bytes) -> list[str]:
    """The feature list of a `schema/columns.json` document (text, or its UTF-8 bytes), checked."""
    if isinstance(text, bytes):
        text = _utf8(text, SCHEMA_KEY)
    try:
        document = json.loads(text)
    except ValueError:
        raise TransformError(f"{SCHEMA_KEY} is not JSON") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise TransformError(f"{SCHEMA_KEY} must hold a 'features' list of column names")
    if document.get("id") != ID or document.get("label") != LABEL:
        raise TransformError(
            f"{SCHEMA_KEY} is for id/label {document.get('id')}/{document.get('label')}, not {ID}/{LABEL}"
        )
    check_features(features)
    return features


def _utf8(content: bytes, name: str) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TransformError(f"{name} is not UTF-8 text (byte {error.start})") from None


def run_local(
    out_dir: str,
    train_path: str | None,
    score_path: str | None = None,
    *,
    layout: str = "byo",
    schema_text: str | bytes | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> dict[str, str]:
    """Transform local raw files into `out_dir`; return the written files by their store key.

    With `train_path`, the training columns come from the transform; without it (a scoring-only run) they
    come from `schema_text`, an earlier run's `schema/columns.json`. Every output is written under a temporary
    name in `out_dir` first, and renamed into place only when all of them succeeded.
    """
    if layout not in LAYOUTS:
        raise TransformError(f"output layout must be one of {list(LAYOUTS)}, not {layout!r}")
    if train_path is None and score_path is None:
        raise TransformError("nothing to transform: give a train file, a score file, or both")
    if train_path is not None:
        features = list(FEATURES)
    elif schema_text is None:
        raise TransformError(f"a scoring-only run needs the training columns ({SCHEMA_KEY})")
    else:
        features = features_from_schema(schema_text)

    os.makedirs(out_dir, exist_ok=True)
    staged: dict[str, str] = {}
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".staging-") as staging:
        if train_path is not None:
            staged[TRAIN_KEY] = os.path.join(staging, "train.csv")
            count = transform_file(train_path, staged[TRAIN_KEY], "train", features, layout, block_size)
            LOG.info("train: %d rows, %d features", count, len(features))
        if score_path is not None:
            staged[SCORE_KEY] = os.path.join(staging, "score.csv")
            count = transform_file(score_path, staged[SCORE_KEY], "score", features, layout, block_size)
            LOG.info("score: %d rows", count)
        staged[SCHEMA_KEY] = os.path.join(staging, "columns.json")
        write_schema(staged[SCHEMA_KEY], features)
        written = {}
        for key, path in staged.items():
            final = os.path.join(out_dir, key)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(path, final)
            written[key] = final
    return written


# --- Layer 4: the Glue job: S3 in, S3 out ------------------------------------------------------------------------


def run_s3(
    s3: Any,
    *,
    source_bucket: str,
    train_key: str,
    score_key: str,
    destination_bucket: str,
    inference_type: str,
    output_layout: str = "byo",
    score_parts: str | int = 1,
    validation: str | bool = False,
    train_parts: str | int = 1,
) -> dict[str, str]:
    """The Glue job: raw files from the feature store in, extracts out; returns `{key: "written"|...}`.

    `score_parts` (Batch Transform's instance count), `validation` (the workflow has a validation channel)
    and `train_parts` (the training instance count) shape the set before it is published (`shape_extracts`);
    they arrive as the job's text arguments.

    Nothing is uploaded until every output exists locally; then `publish` replaces the extract set as a whole,
    or leaves the previous one, whichever request fails. A key whose bytes are unchanged is not written again.
    """
    wants_score = check_arguments(
        source_bucket=source_bucket,
        train_key=train_key,
        score_key=score_key,
        destination_bucket=destination_bucket,
        inference_type=inference_type,
        output_layout=output_layout,
    )
    shaping = shaping_arguments(score_parts=score_parts, validation=validation, train_parts=train_parts)
    with tempfile.TemporaryDirectory() as work:
        train_path = (
            _download(s3, source_bucket, train_key, os.path.join(work, "train.raw.csv"))
            if train_key
            else None
        )
        score_path = (
            _download(s3, source_bucket, score_key, os.path.join(work, "score.raw.csv"))
            if wants_score
            else None
        )
        schema_text = None if train_key else _read_text(s3, destination_bucket, SCHEMA_KEY)
        written = run_local(
            os.path.join(work, "out"),
            train_path,
            score_path,
            layout=output_layout,
            schema_text=schema_text,
        )
        shaped = shape_extracts(written, layout=output_layout, **shaping)
        return publish(s3, shaped, destination_bucket)


def check_arguments(
    *,
    source_bucket: str,
    train_key: str,
    score_key: str,
    destination_bucket: str,
    inference_type: str,
    output_layout: str,
) -> bool:
    """Refuse arguments no run can use, with one line each; True when the run transforms a score file.

    Shared with etl/spark_transform.py, so that both engines refuse the same arguments the same way.
    """
    inference_type = inference_type.lower()
    if inference_type not in INFERENCE_TYPES:
        raise TransformError(
            f"--inference_type must be one of {list(INFERENCE_TYPES)}, not {inference_type!r}"
        )
    if output_layout not in LAYOUTS:
        raise TransformError(f"--output_layout must be one of {list(LAYOUTS)}, not {output_layout!r}")
    if not source_bucket or not destination_bucket:
        raise TransformError("--source_bucket and --destination_bucket are required")
    if destination_bucket == source_bucket:
        raise TransformError(
            "--destination_bucket is the source (feature store) bucket; writing there would start the pipeline "
            "again, so the transform refuses"
        )
    wants_score = inference_type == "batch"
    if wants_score and not score_key:
        raise TransformError("--score_key is required for batch inference")
    if not train_key and not wants_score:
        raise TransformError(
            "nothing to transform: --train_key is empty and endpoint inference scores nothing"
        )
    return wants_score


def _download(s3: Any, bucket: str, key: str, path: str) -> str:
    from botocore.exceptions import ClientError

    try:
        s3.download_file(bucket, key, path)
    except ClientError as error:
        raise TransformError(f"cannot read s3://{bucket}/{key}: {_client_error(error, bucket)}") from None
    return path


def _read_text(s3: Any, bucket: str, key: str) -> bytes:
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # decoded by features_from_schema
    except ClientError as error:
        raise TransformError(
            f"a scoring-only run needs s3://{bucket}/{key} from a training run: {_client_error(error, bucket)}"
        ) from None


# --- Shaping the set for its readers: score parts and a validation holdout ---------------------------------------
# These work on the written local extract files, whichever engine wrote them: the Spark script calls
# `shape_extracts` on its local files too, right before `publish`.

SCORE_PART_KEY = "score/part-{:05d}.csv"
"""The score extract's parts, when Batch Transform runs on more than one instance."""
TRAIN_PART_KEY = "train/part-{:05d}.csv"
"""The train extract's parts, when training runs on more than one instance (the channel is ShardedByS3Key)."""
VALIDATION_KEY = "validation/validation.csv"
VALIDATION_FRACTION = 0.2
"""The share of each label's training rows held out as the validation channel."""
_READ_BLOCK = 1 << 20


def shape_extracts(
    written: dict[str, str], *, layout: str, score_parts: int, validation: bool, train_parts: int
) -> dict[str, str]:
    """The set to publish: `written` (`{key: local path}`) with its extracts in parts and a holdout.

    - `score_parts` above 1: `score/score.csv` becomes `score/part-00000.csv` ... (as many parts as there are
      rows, at most), consecutive runs of rows of about equal size, so that Batch Transform, which hands
      each instance whole files, gives every instance work. Part order is row order.
    - `validation`: `VALIDATION_FRACTION` of each label's training rows, chosen by a hash of the row
      (`holdout_rows`), move from `train/train.csv` to `validation/validation.csv`, in the train file's layout.
    - `train_parts` above 1: what is left of `train/train.csv` becomes exactly that many complete extracts,
      `train/part-00000.csv` ... (`split_train_parts`), one per training instance of a ShardedByS3Key channel.

    New files are written next to the ones they come from; the returned mapping names them.
    """
    for name, count in (("--score_parts", score_parts), ("--train_parts", train_parts)):
        if count < 1:
            raise TransformError(f"{name} must be at least 1, not {count}")
    shaped = dict(written)
    if score_parts > 1 and SCORE_KEY in shaped:
        paths = split_score_parts(shaped.pop(SCORE_KEY), score_parts)
        shaped.update({SCORE_PART_KEY.format(number): path for number, path in enumerate(paths)})
    if validation and TRAIN_KEY in shaped:
        target = os.path.join(os.path.dirname(shaped[TRAIN_KEY]), os.path.basename(VALIDATION_KEY))
        held, kept = split_validation(shaped[TRAIN_KEY], target, layout)
        LOG.info("validation: %d rows held out, %d left to train on", held, kept)
        shaped[VALIDATION_KEY] = target
    if train_parts > 1 and TRAIN_KEY in shaped:
        paths = split_train_parts(shaped.pop(TRAIN_KEY), train_parts, layout)
        shaped.update({TRAIN_PART_KEY.format(number): path for number, path in enumerate(paths)})
    return shaped


def split_score_parts(path: str, parts: int) -> list[str]:
    """Split a headerless CSV file by line into `min(parts, rows)` files next to it; return their paths.

    Part `n` holds rows `[n * rows // count, (n + 1) * rows // count)`, bytes copied as they are, so the
    concatenation of the parts in name order is the original file. Every part has at least one row.
    """
    rows = _count_lines(path)
    if rows == 0:
        raise TransformError("score file: no data rows to split into parts")
    count = min(parts, rows)
    starts = [0, *_line_starts(path, [rows * n // count for n in range(1, count)]), os.path.getsize(path)]
    folder, written = os.path.dirname(path), []
    with open(path, "rb") as source:
        for number in range(count):
            target = os.path.join(folder, os.path.basename(SCORE_PART_KEY.format(number)))
            source.seek(starts[number])
            with open(target, "wb") as sink:
                _copy_bytes(source, sink, starts[number + 1] - starts[number])
            written.append(target)
    LOG.info("score: %d rows in %d parts", rows, count)
    return written


def _count_lines(path: str) -> int:
    """Lines in a file: its newlines, plus a last line without one."""
    count, last = 0, b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ_BLOCK), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (1 if last not in (b"", b"\n") else 0)


def _line_starts(path: str, rows: Sequence[int]) -> list[int]:
    """The byte offset at which each of `rows` (0-based line numbers, ascending, each above 0) begins."""
    targets = iter(rows)
    target = next(targets, None)
    offsets: list[int] = []
    seen = position = 0  # newlines before this block, and its first byte's offset
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ_BLOCK), b""):
            newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
            # Line `target` begins right after the file's `target`-th newline.
            while target is not None and seen + len(newlines) >= target:
                offsets.append(position + int(newlines[target - seen - 1]) + 1)
                target = next(targets, None)
            seen += len(newlines)
            position += len(block)
    return offsets


def _copy_bytes(source: Any, sink: Any, size: int) -> None:
    while size > 0:
        block = source.read(min(size, _READ_BLOCK))
        if not block:
            raise TransformError("score file: shorter than it was when its parts were measured")
        sink.write(block)
        size -= len(block)


def split_train_parts(path: str, parts: int, layout: str = "byo") -> list[str]:
    """Deal a train extract's rows into exactly `parts` files next to it; return their paths, in part order.

    SageMaker's ShardedByS3Key gives each training instance about 1/n of the channel's objects and documents
    that with fewer objects than instances some get none, so there are exactly `parts` files (one per
    instance) and fewer rows than that is an error. Each part is a complete extract in the file's layout
    (`byo`: the header, then id, label, features; `builtin`: label first, no header), readable alone.
    Rows are dealt label by label in turn, continuing round the parts where the previous label stopped, so
    part sizes differ by at most one row, and so do each label's rows per part; within a part, rows keep
    the file's order. Every row lands in exactly one part.
    """
    header = layout == "byo"
    counts: dict[bytes, int] = {}
    with open(path, "rb") as source:
        first = source.readline() if header else b""
        for line in source:
            label = _train_label(line, header)
            counts[label] = counts.get(label, 0) + 1
    rows = sum(counts.values())
    if rows < parts:
        raise TransformError(
            f"train file: {rows} rows are too few for --train_parts {parts}; every training instance needs a "
            "part of at least one row"
        )
    turn, dealt = {}, 0
    for label in sorted(counts):  # each label starts where the previous one's deal stopped
        turn[label], dealt = dealt % parts, dealt + counts[label]
    # Named by the whole key: an engine may write the score extract, and so its parts, in the same folder.
    folder = os.path.dirname(path)
    targets = [os.path.join(folder, TRAIN_PART_KEY.format(n).replace("/", "-")) for n in range(parts)]
    try:
        with open(path, "rb") as source, contextlib.ExitStack() as stack:
            sinks = [stack.enter_context(open(target, "wb")) for target in targets]
            if header:
                source.readline()
                for sink in sinks:
                    sink.write(first)
            for line in source:
                label = _train_label(line, header)
                sinks[turn[label]].write(line if line.endswith(b"\n") else line + b"\n")
                turn[label] = (turn[label] + 1) % parts
    except BaseException:
        for target in targets:
            if os.path.exists(target):
                os.remove(target)
        raise
    LOG.info("train: %d rows in %d parts", rows, parts)
    return targets


def _train_label(line: bytes, header: bool) -> bytes:
    """A train extract row's label: the second field in the byo layout (after the id), else the first."""
    fields = line.rstrip(b"\r\n").split(b",", 2)
    return fields[1] if header and len(fields) > 1 else fields[0]


def split_validation(train_path: str, validation_path: str, layout: str = "byo") -> tuple[int, int]:
    """Move the `holdout_rows` of a train extract to `validation_path`; return (held out, kept) row counts.

    Both files keep the train extract's layout (the `byo` header included). The train file is replaced only
    once both are complete; on any failure it is left as it was and no validation file remains.
    """
    header = layout == "byo"
    with open(train_path, "rb") as source:
        first = source.readline() if header else b""
        # The byo layout leads with the id; the hash and the label read the rest, as in the builtin layout.
        records = (
            line.rstrip(b"\r\n").partition(b",")[2] if header else line.rstrip(b"\r\n") for line in source
        )
        held = holdout_rows(records)
    if not held.any():
        raise TransformError(
            f"train file: {len(held)} rows are too few for a validation holdout; it needs at least two rows "
            "of a label"
        )
    kept_path = train_path + ".kept"
    try:
        with (
            open(train_path, "rb") as source,
            open(validation_path, "wb") as out,
            open(kept_path, "wb") as kept,
        ):
            if header:
                source.readline()
                out.write(first)
                kept.write(first)
            # Same file, same row count; zip's strict= is newer than Glue's Python 3.9.
            for line, hold in zip(source, held.tolist()):  # noqa: B905
                (out if hold else kept).write(line if line.endswith(b"\n") else line + b"\n")
        os.replace(kept_path, train_path)
    except BaseException:
        for leftover in (kept_path, validation_path):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    return int(held.sum()), int(len(held) - held.sum())


def holdout_rows(records: Iterable[bytes]) -> np.ndarray:
    """Which training records (each `<label>,<features...>` as the extract writes it) form the holdout.

    Stratified and deterministic: per label value with n >= 2 rows, the round(n * VALIDATION_FRACTION) rows
    (at least one, never all) whose BLAKE2b-64 digest of the record's bytes is smallest, ties by position.
    The same rows give the same holdout in either layout and on either engine, and identical records fall on
    the same side, so no copy of a validation row is trained on. Only the digests and labels are kept.
    """
    digests = array.array("Q")
    labels = array.array("l")
    codes: dict[bytes, int] = {}
    for record in records:
        digests.append(int.from_bytes(hashlib.blake2b(record, digest_size=8).digest(), "big"))
        labels.append(codes.setdefault(record.partition(b",")[0], len(codes)))
    digest_array = np.frombuffer(digests, dtype=np.uint64) if digests else np.zeros(0, dtype=np.uint64)
    label_array = np.frombuffer(labels, dtype=labels.typecode) if labels else np.zeros(0, dtype=int)
    held = np.zeros(len(digests), dtype=bool)
    for code in codes.values():
        rows = np.flatnonzero(label_array == code)
        size = min(len(rows) - 1, max(1, int(len(rows) * VALIDATION_FRACTION + 0.5)))
        if size > 0:
            held[rows[np.argsort(digest_array[rows], kind="stable")[:size]]] = True
    return held


# --- Publishing: the extract set replaced whole --------------------------------------------------------------------

STAGING_PREFIX = "etl-runs/"
"""Each run's scratch objects in the extracts store: `<run>/new/<key>` staged, `<run>/old/<key>` backed up."""


def publish(s3: Any, written: dict[str, str], bucket: str) -> dict[str, str]:
    """Make the extracts store hold the set in `written` (`{key: local path}`); say per key what happened.

    The extracts bucket is not versioned and its readers read fixed keys, so no single request can switch sets.
    Instead, whichever one request fails, the store ends holding exactly the previous set or exactly this one:

    1. stage: each changed file is uploaded under `etl-runs/<run>/new/`; the live keys are not touched;
    2. back up: each live key about to change or go is copied to `etl-runs/<run>/old/`; the live keys are not
       touched;
    3. promote: each staged object is copied onto its live key, then the stale keys (`stale_keys`) are
       deleted, the schema last. When a request fails, the keys already promoted or deleted are put back:
       copied from the backup, or deleted when they did not exist before;
    4. clean up: the run's scratch objects are deleted. A failure here is only logged: the set is complete,
       and no reader lists `etl-runs/`.

    A key whose object already holds these bytes (its `sha256` metadata) is left alone, so a rerun writes nothing.
    """
    stale = stale_keys(s3, bucket, written)
    before = {key: _live_state(s3, bucket, key) for key in [*written, *stale]}
    digests = {key: _sha256(path) for key, path in written.items()}
    changed = [
        key for key in written if before[key] is None or before[key]["metadata"].get("sha256") != digests[key]
    ]
    for key in written:
        if key not in changed:
            LOG.info("s3://%s/%s unchanged", bucket, key)
    if changed or stale:
        run = f"{STAGING_PREFIX}{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}/"
        scratch: list[str] = []
        try:
            for key in changed:
                scratch.append(run + "new/" + key)
                _upload(s3, written[key], bucket, scratch[-1])
            for key in [*changed, *stale]:
                if before[key] is not None:
                    scratch.append(run + "old/" + key)
                    _copy(s3, bucket, key, scratch[-1], before[key])
            _promote(s3, bucket, run, changed, before, digests, stale)
        finally:
            _delete_scratch(s3, bucket, scratch)
    return {
        **{key: "written" if key in changed else "unchanged" for key in written},
        **dict.fromkeys(stale, "removed"),
    }


# A set holding a key in one of these folders replaces the live folders listed, whole: a score set replaces
# every part of the one before, a train set the validation holdout too (or removes one it no longer has).
REPLACED_FOLDERS = {"train/": ("train/", "validation/"), "score/": ("score/",)}
# The only names this job gives objects in those folders; it removes no other object.
_OWN_NAME = re.compile(r"(train|validation|score|part-\d{5})\.csv")


def stale_keys(s3: Any, bucket: str, written: dict[str, str]) -> list[str]:
    """The live keys in the folders `written` replaces (REPLACED_FOLDERS) that `written` does not hold.

    Their readers (Batch Transform's and the training channels' S3Prefix inputs) read every object in the
    folder, so a part left from a run with more parts would be read again. An object this job does not name
    stops the run before anything changes, rather than being read or deleted.
    """
    folders = sorted({f for key in written for f in REPLACED_FOLDERS.get(key.partition("/")[0] + "/", ())})
    stale = []
    for folder in folders:
        for key in _list_keys(s3, bucket, folder):
            if key in written:
                continue
            if not _OWN_NAME.fullmatch(key[len(folder) :]):
                raise TransformError(
                    f"s3://{bucket}/{key} is not an extract this job writes, and the jobs that read {folder} read "
                    "every object in it; move it out of the extracts store"
                )
            stale.append(key)
    return stale


def _list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    def listing() -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    return list(_call(listing, bucket, prefix, "list"))


def _promote(
    s3: Any,
    bucket: str,
    run: str,
    changed: list[str],
    before: dict[str, dict[str, Any] | None],
    digests: dict[str, str],
    stale: Sequence[str] = (),
) -> None:
    """Copy each staged object onto its live key and delete the stale ones, the schema last; on a failure, put
    back what was done."""
    steps = [("copy", k) for k in changed if k != SCHEMA_KEY] + [("delete", k) for k in stale]
    steps += [("copy", k) for k in changed if k == SCHEMA_KEY]
    done: list[str] = []
    try:
        for action, key in steps:
            done.append(key)
            if action == "delete":
                _delete(s3, bucket, key)
                LOG.info("removed s3://%s/%s (not part of this set)", bucket, key)
            else:
                _copy(
                    s3,
                    bucket,
                    run + "new/" + key,
                    key,
                    {"content_type": _content_type(key), "metadata": {"sha256": digests[key]}},
                )
                LOG.info("wrote s3://%s/%s", bucket, key)
    except TransformError:
        for key in reversed(done):
            previous = before[key]
            if previous is None:
                _delete(s3, bucket, key)
            else:
                _copy(s3, bucket, run + "old/" + key, key, previous)
        LOG.error("the extract set was put back as it was before this run")
        raise


def _live_state(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The live object's content type and user metadata (this job's `sha256` digest among them), which a backup
    and its restore keep; None when there is no object. Any other failure stops the run."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        # A HEAD response has no body, so S3's error code is the bare HTTP status.
        if error.response.get("Error", {}).get("Code") == "404":
            return None
        raise TransformError(f"cannot read s3://{bucket}/{key}: {_client_error(error, bucket)}") from None
    return {"content_type": head["ContentType"], "metadata": head["Metadata"]}


def _content_type(key: str) -> str:
    return "application/json" if key.endswith(".json") else "text/csv"


def _upload(s3: Any, path: str, bucket: str, key: str) -> None:
    """A staged upload: its content type and metadata do not matter, the promoting copy sets them."""
    _call(lambda: s3.upload_file(path, bucket, key), bucket, key, "write")


def _copy(s3: Any, bucket: str, source: str, target: str, state: dict[str, Any]) -> None:
    """Server-side copy (multipart when large) that gives the target `state`'s content type and metadata.

    Set explicitly: a multipart copy (of a large object) carries none of the source's over in the boto3 releases
    before boto/s3transfer#392, and Glue's boto3 may be one of them.
    """
    extra = {
        "MetadataDirective": "REPLACE",
        "ContentType": state["content_type"],
        "Metadata": state["metadata"],
    }
    _call(
        lambda: s3.copy({"Bucket": bucket, "Key": source}, bucket, target, ExtraArgs=extra),
        bucket,
        target,
        "write",
    )


def _delete(s3: Any, bucket: str, key: str) -> None:
    _call(lambda: s3.delete_object(Bucket=bucket, Key=key), bucket, key, "remove")


def _delete_scratch(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        try:
            _delete(s3, bucket, key)
        except TransformError as error:
            LOG.warning("left a scratch object behind (no reader uses it): %s", error)


def _call(request: Any, bucket: str, key: str, verb: str) -> Any:
    """Run one S3 request; a failure becomes one TransformError line naming the object (or the missing bucket)."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return request()
    except ClientError as error:
        raise TransformError(f"cannot {verb} s3://{bucket}/{key}: {_client_error(error, bucket)}") from None
    except S3UploadFailedError as error:
        # boto3's upload_file raises this only from a ClientError, kept as the context, whose words it repeats.
        raise TransformError(
            f"cannot {verb} s3://{bucket}/{key}: {_client_error(error.__context__, bucket)}"
        ) from None
    except BotoCoreError as error:
        raise TransformError(f"cannot {verb} s3://{bucket}/{key}: {error}") from None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _client_error(error: Any, bucket: str) -> str:
    """S3's error code and message, or for a missing bucket (`bucket`, the one requested) a sentence naming it."""
    details = error.response.get("Error", {})
    if details.get("Code") == "NoSuchBucket":
        return f"the bucket {bucket} does not exist"
    return ": ".join(part for part in (details.get("Code", ""), details.get("Message", "")) if part)


# --- Arguments ---------------------------------------------------------------------------------------------------

REQUIRED_ARGUMENTS = ("source_bucket", "destination_bucket", "inference_type")
# An empty train key makes a scoring-only run; an empty score key is normal in endpoint mode.
OPTIONAL_ARGUMENTS = {
    "train_key": "",
    "score_key": "",
    "output_layout": "byo",
    "score_parts": "1",
    "validation": "false",
    "train_parts": "1",
}


def resolve_arguments(argv: Sequence[str]) -> dict[str, str]:
    """The job's arguments: Glue's resolver inside Glue, argparse elsewhere (same names, `--key value`)."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        return _parse_locally(argv)
    # Glue's resolver fails on names that are absent, so optional ones are asked for only when given.
    present = [name for name in OPTIONAL_ARGUMENTS if f"--{name}" in argv]
    resolved = getResolvedOptions(list(argv), list(REQUIRED_ARGUMENTS) + present)
    return {**OPTIONAL_ARGUMENTS, **{k: resolved[k] for k in list(REQUIRED_ARGUMENTS) + present}}


def _parse_locally(argv: Sequence[str]) -> dict[str, str]:
    parser = argparse.ArgumentParser(
        description="Raw feature-store CSVs in, model-ready extracts out (docs/data-contract.md).",
    )
    parser.add_argument("--source_bucket", required=True, help="feature store bucket")
    parser.add_argument("--train_key", default="", help="raw train object key; empty for a scoring-only run")
    parser.add_argument("--score_key", default="", help="raw score object key; empty in endpoint mode")
    parser.add_argument("--destination_bucket", required=True, help="extracts bucket")
    parser.add_argument("--inference_type", required=True, choices=INFERENCE_TYPES)
    parser.add_argument("--output_layout", default="byo", choices=LAYOUTS)
    parser.add_argument("--score_parts", default="1", help="score extract parts: Batch Transform's instances")
    parser.add_argument("--validation", default="false", help="true: also write a validation holdout")
    parser.add_argument("--train_parts", default="1", help="train extract parts: the training instances")
    return vars(parser.parse_args(list(argv[1:])))


def parse_count(name: str, value: str | int) -> int:
    """A job argument that is a whole number of at least 1 (Glue passes every argument as text)."""
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise TransformError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(text)


def shaping_arguments(
    *, score_parts: str | int, validation: str | bool, train_parts: str | int
) -> dict[str, Any]:
    """`shape_extracts`' keyword arguments from the job's text arguments (shared with the Spark script)."""
    return {
        "score_parts": parse_count("--score_parts", score_parts),
        "validation": parse_flag("--validation", validation),
        "train_parts": parse_count("--train_parts", train_parts),
    }


def parse_flag(name: str, value: str | bool) -> bool:
    """A job argument that is `true` or `false`."""
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise TransformError(f"{name} must be true or false, not {value!r}")
    return text == "true"


def main(argv: Sequence[str] | None = None, s3: Any = None, run: Any = None) -> dict[str, str]:
    """Run the job with the process's arguments; a bad input ends it with one clear line, not a traceback.

    `run` replaces `run_s3` (etl/spark_transform.py passes its own, with the same arguments).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    args = resolve_arguments(sys.argv if argv is None else argv)
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    started = time.perf_counter()
    try:
        result = (run or run_s3)(s3, **args)
    except TransformError as error:
        LOG.error("transform failed: %s", error)
        raise SystemExit(f"transform failed: {error}") from None
    LOG.info("done in %.1fs: %s", time.perf_counter() - started, result)
    return result


if __name__ == "__main__":
    main()

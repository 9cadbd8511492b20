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

One-hot columns are named `<column>_<value>` (as `pandas.get_dummies` names them) and ordered by the
dataset's known categories, which `docs/dataset.md` lists alphabetically. Training therefore always yields
the same 43 features, and a training value outside the known categories is an error. Scoring derives its
one-hot columns from the persisted training feature list, so a category the score file lacks still gets its
(all-zero) column and a category training never had adds none.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
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

# Arrow reads this much of the raw file per chunk (about 100,000 rows of the example data).
DEFAULT_BLOCK_SIZE = 16 << 20
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
        return values.to_numpy(dtype=np.int64, copy=False)
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
    rows = list(csv.reader([text]))
    return rows[0] if rows else []


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
                strings_can_be_null=False,
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
    found = re.search(r"column #(\d+)", message)
    if found and int(found.group(1)) < len(header):
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
            writer: Any | None = None
            for chunk in read_chunks(source, needed, block_size):
                frame = transform(chunk)
                ids.append(frame.index.to_numpy())
                table = _to_arrow(frame, columns)
                if writer is None:
                    if kind == "train" and layout == "byo":
                        sink.write((",".join(columns) + "\n").encode("utf-8"))
                    writer = pa_csv.CSVWriter(sink, table.schema, write_options=_WRITE_OPTIONS)
                writer.write_table(table)
                rows += len(frame)
            if writer is not None:
                writer.close()
    except TransformError as error:
        raise TransformError(f"{kind} file: {error}") from None
    if rows == 0:
        raise TransformError(f"{kind} file: no data rows")
    _check_unique(np.concatenate(ids), kind)
    return rows


# Header written by hand, so that it is unquoted and the same under every pyarrow version.
_WRITE_OPTIONS = pa_csv.WriteOptions(include_header=False, batch_size=8192)


def write_extract(frame: pd.DataFrame, destination: str, kind: str, layout: str = "byo") -> None:
    """Write one transformed frame as an extract file, exactly as `transform_file` would (single pass)."""
    features = [c for c in frame.columns if c != LABEL]
    columns = output_columns(kind, features, layout)
    with open(destination, "wb") as sink:
        if kind == "train" and layout == "byo":
            sink.write((",".join(columns) + "\n").encode("utf-8"))
        pa_csv.write_csv(_to_arrow(frame, columns), sink, write_options=_WRITE_OPTIONS)


def _to_arrow(frame: pd.DataFrame, columns: Sequence[str]) -> pa.Table:
    arrays = [pa.array(frame.index.to_numpy() if c == ID else frame[c].to_numpy()) for c in columns]
    return pa.Table.from_arrays(arrays, names=list(columns))


def _check_unique(ids: np.ndarray, kind: str) -> None:
    ordered = np.sort(ids)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if len(repeated):
        raise TransformError(f"{kind} file: {ID} must be unique; repeated: {repeated[:_EXAMPLES].tolist()}")


# --- Layer 3: the whole job on local files -----------------------------------------------------------------------


def schema_document(features: Sequence[str]) -> dict[str, Any]:
    """The `schema/columns.json` document: the training columns that scoring-only runs align to."""
    return {"id": ID, "label": LABEL, "features": list(features)}


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
    if train_path is None and schema_text is None:
        raise TransformError(f"a scoring-only run needs the training columns ({SCHEMA_KEY})")
    features = list(FEATURES) if train_path is not None else features_from_schema(schema_text or "")

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
        with open(staged[SCHEMA_KEY], "w", encoding="utf-8") as handle:
            handle.write(json.dumps(schema_document(features), indent=2) + "\n")
        written = {}
        for key, path in staged.items():
            final = os.path.join(out_dir, *key.split("/"))
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
    work_dir: str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> dict[str, str]:
    """The Glue job: raw files from the feature store in, extracts out; returns `{key: "written"|"unchanged"}`.

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
    work = tempfile.mkdtemp(prefix="mlops-etl-", dir=work_dir)
    try:
        inputs = os.path.join(work, "in")
        outputs = os.path.join(work, "out")
        os.makedirs(inputs)
        os.makedirs(outputs)
        train_path = (
            _download(s3, source_bucket, train_key, os.path.join(inputs, "train.csv")) if train_key else None
        )
        score_path = (
            _download(s3, source_bucket, score_key, os.path.join(inputs, "score.csv"))
            if wants_score
            else None
        )
        schema_text = None if train_key else _read_text(s3, destination_bucket, SCHEMA_KEY)
        written = run_local(
            outputs,
            train_path,
            score_path,
            layout=output_layout,
            schema_text=schema_text,
            block_size=block_size,
        )
        return publish(s3, written, destination_bucket)
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


# --- Publishing: the extract set replaced whole --------------------------------------------------------------------

STAGING_PREFIX = "etl-runs/"
"""Each run's scratch objects in the extracts store: `<run>/new/<key>` staged, `<run>/old/<key>` backed up."""


def publish(s3: Any, written: dict[str, str], bucket: str) -> dict[str, str]:
    """Make the extracts store hold the set in `written` (`{key: local path}`); say per key what happened.

    The extracts bucket is not versioned and its readers read fixed keys, so no single request can switch sets.
    Instead, whichever one request fails, the store ends holding exactly the previous set or exactly this one:

    1. stage: each changed file is uploaded under `etl-runs/<run>/new/`; the live keys are not touched;
    2. back up: each live key about to change is copied to `etl-runs/<run>/old/`; the live keys are not touched;
    3. promote: each staged object is copied onto its live key, the schema last. When a copy fails, the keys
       already promoted are put back: copied from the backup, or deleted when they did not exist before;
    4. clean up: the run's scratch objects are deleted. A failure here is only logged: the set is complete,
       and no reader lists `etl-runs/`.

    A key whose object already holds these bytes (its `sha256` metadata) is left alone, so a rerun writes nothing.
    """
    before = {key: _live_state(s3, bucket, key) for key in written}
    digests = {key: _sha256(path) for key, path in written.items()}
    changed = [
        key
        for key in sorted(written, key=lambda k: k == SCHEMA_KEY)
        if before[key] is None or before[key].get("sha256") != digests[key]
    ]
    for key in written:
        if key not in changed:
            LOG.info("s3://%s/%s unchanged", bucket, key)
    if changed:
        run = f"{STAGING_PREFIX}{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}/"
        scratch: list[str] = []
        try:
            for key in changed:
                scratch.append(run + "new/" + key)
                _upload(s3, written[key], bucket, scratch[-1], digests[key])
            for key in changed:
                if before[key] is not None:
                    scratch.append(run + "old/" + key)
                    _copy(s3, bucket, key, scratch[-1], before[key])
            _promote(s3, bucket, run, changed, before, digests)
        finally:
            _delete_scratch(s3, bucket, scratch)
    return {key: "written" if key in changed else "unchanged" for key in written}


def _promote(
    s3: Any,
    bucket: str,
    run: str,
    changed: list[str],
    before: dict[str, dict[str, str] | None],
    digests: dict[str, str],
) -> None:
    """Copy each staged object onto its live key; on a failure, put the promoted ones back as they were."""
    promoted: list[str] = []
    try:
        for key in changed:
            state = {"sha256": digests[key], "content_type": _content_type(key)}
            promoted.append(key)
            _copy(s3, bucket, run + "new/" + key, key, state)
            LOG.info("wrote s3://%s/%s", bucket, key)
    except TransformError:
        for key in reversed(promoted):
            previous = before[key]
            if previous is None:
                _delete(s3, bucket, key)
            else:
                _copy(s3, bucket, run + "old/" + key, key, previous)
        LOG.error("the extract set was put back as it was before this run")
        raise


def _live_state(s3: Any, bucket: str, key: str) -> dict[str, str] | None:
    """The live object's digest and content type, or None when there is none. Any other failure stops the run."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return None
        raise TransformError(f"cannot read s3://{bucket}/{key}: {_client_error(error, bucket)}") from None
    return {"sha256": head.get("Metadata", {}).get("sha256", ""), "content_type": head.get("ContentType", "")}


def _content_type(key: str) -> str:
    return "application/json" if key.endswith(".json") else "text/csv"


def _upload(s3: Any, path: str, bucket: str, key: str, digest: str) -> None:
    extra = {"ContentType": _content_type(key), "Metadata": {"sha256": digest}}
    _call(lambda: s3.upload_file(path, bucket, key, ExtraArgs=extra), bucket, key, "write")


def _copy(s3: Any, bucket: str, source: str, target: str, state: dict[str, str]) -> None:
    """Server-side copy (multipart when large) that keeps the digest and the content type."""
    extra = {"MetadataDirective": "REPLACE", "Metadata": {"sha256": state["sha256"]}}
    if state.get("content_type"):
        extra["ContentType"] = state["content_type"]
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
        # boto3 wraps the service's error in a message; the ClientError is kept as the context.
        cause = error.__context__
        reason = _client_error(cause, bucket) if isinstance(cause, ClientError) else str(error)
        raise TransformError(f"cannot {verb} s3://{bucket}/{key}: {reason}") from None
    except BotoCoreError as error:
        raise TransformError(f"cannot {verb} s3://{bucket}/{key}: {error}") from None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _client_error(error: Any, bucket: str | None = None) -> str:
    details = error.response.get("Error", {})
    if details.get("Code") == "NoSuchBucket":
        return f"the bucket {details.get('BucketName') or bucket} does not exist"
    return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")


# --- Arguments ---------------------------------------------------------------------------------------------------

REQUIRED_ARGUMENTS = ("source_bucket", "destination_bucket", "inference_type")
# An empty train key makes a scoring-only run; an empty score key is normal in endpoint mode.
OPTIONAL_ARGUMENTS = {"train_key": "", "score_key": "", "output_layout": "byo"}


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
        prog="transform.py",
        description="Raw feature-store CSVs in, model-ready extracts out (docs/data-contract.md).",
    )
    parser.add_argument("--source_bucket", required=True, help="feature store bucket")
    parser.add_argument("--train_key", default="", help="raw train object key; empty for a scoring-only run")
    parser.add_argument("--score_key", default="", help="raw score object key; empty in endpoint mode")
    parser.add_argument("--destination_bucket", required=True, help="extracts bucket")
    parser.add_argument("--inference_type", required=True, choices=INFERENCE_TYPES)
    parser.add_argument("--output_layout", default="byo", choices=LAYOUTS)
    return vars(parser.parse_args(list(argv[1:])))


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

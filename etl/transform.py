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
4. `run_s3` / `main`: the Glue job. Download from the feature store, run in a temporary folder, then upload,
   schema last. It never writes to the source bucket.

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
    companies = columns["NumCompaniesWorked"]
    if (companies < 0).any():
        raise TransformError(_bad_rows(raw, "NumCompaniesWorked", "is negative", companies < 0))
    columns[RATIO] = columns["TotalWorkingYears"] / (companies + 1)
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
        first = handle.readline()
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        raise TransformError("the header is not UTF-8 text") from None
    rows = list(csv.reader([text]))
    return rows[0] if rows else []


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
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            raise TransformError(_describe_parse_error(str(error), header)) from None
        if batch.num_rows:
            yield batch.to_pandas()


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


def features_from_schema(text: str) -> list[str]:
    """The feature list of a `schema/columns.json` document, checked."""
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


def run_local(
    out_dir: str,
    train_path: str | None,
    score_path: str | None = None,
    *,
    layout: str = "byo",
    schema_text: str | None = None,
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

    Nothing is uploaded until every output exists locally. Uploads are single S3 objects, each atomic, and
    `schema/columns.json` goes last: it is the record of a complete extract set, so a failure part-way leaves
    the previous schema describing the extracts the current model was trained on, and Glue's retry (or a
    rerun) completes the set. An object whose bytes are unchanged is not uploaded again, so a rerun writes
    nothing and returns the same outputs.
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
        # The schema last: see the docstring.
        order = sorted(written, key=lambda key: key == SCHEMA_KEY)
        return {key: _upload(s3, written[key], destination_bucket, key) for key in order}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _download(s3: Any, bucket: str, key: str, path: str) -> str:
    from botocore.exceptions import ClientError

    try:
        s3.download_file(bucket, key, path)
    except ClientError as error:
        raise TransformError(f"cannot read s3://{bucket}/{key}: {_client_error(error)}") from None
    return path


def _read_text(s3: Any, bucket: str, key: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except ClientError as error:
        raise TransformError(
            f"a scoring-only run needs s3://{bucket}/{key} from a training run: {_client_error(error)}"
        ) from None


def _upload(s3: Any, path: str, bucket: str, key: str) -> str:
    """Upload unless the object already holds these bytes; say which happened."""
    from botocore.exceptions import ClientError

    digest = _sha256(path)
    try:
        current = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("sha256")
    except ClientError:
        current = None
    if current == digest:
        LOG.info("s3://%s/%s unchanged", bucket, key)
        return "unchanged"
    content_type = "application/json" if key.endswith(".json") else "text/csv"
    extra = {"ContentType": content_type, "Metadata": {"sha256": digest}}
    try:
        s3.upload_file(path, bucket, key, ExtraArgs=extra)
    except ClientError as error:
        raise TransformError(f"cannot write s3://{bucket}/{key}: {_client_error(error)}") from None
    LOG.info("wrote s3://%s/%s", bucket, key)
    return "written"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _client_error(error: Any) -> str:
    details = error.response.get("Error", {})
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

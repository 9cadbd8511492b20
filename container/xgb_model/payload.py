"""Request bodies in, response bodies out: the one decoder shared by `/invocations` and `batch-predict`.

CSV (`text/csv`, UTF-8): one row per line, comma-separated, no quoting. A row holds either the model's
features, or an id followed by the features (the ETL's score layout); the first row decides which, and every
row must match it. An optional header row is recognised when none of its feature fields is a number; its
names must be the model's features (in any order, which is then undone). An empty field, or `nan`, is a
missing value; `true`/`false` are 1/0; anything else must be a finite number. Blank lines are skipped.

Two parsers implement those rules. The line-by-line Python parser is the definition: it handles small bodies
(a single row is the common real-time request) and names the line and column of any error. Large bodies go
to pandas' C parser, whose result is only used when it provably agrees (same row count, same number of
fields in every line, every value finite); otherwise the Python parser runs and answers.

JSON (`application/json`): `{"instances": [...]}` or a bare list; each instance is a list of values (the
same widths as CSV) or an object keyed by feature name (absent features are missing; unknown keys are errors).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xgb_model.model import FeatureSchema

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)

# Below this many characters the Python parser is faster than setting up pandas.
PANDAS_MIN_CHARS = 32 * 1024
# The response's number format: float32 carries about 7 significant digits.
_NUMBER = "%.7g"
_BOOLEANS = {"True": 1.0, "TRUE": 1.0, "true": 1.0, "False": 0.0, "FALSE": 0.0, "false": 0.0}


class PayloadError(ValueError):
    """A body that cannot be scored; the message says what is wrong and where."""


@dataclass(frozen=True)
class Rows:
    """Decoded rows: float32 features in the model's order (NaN marks a missing value), and the ids."""

    features: np.ndarray
    ids: list[str] | None = None


@dataclass(frozen=True)
class _Layout:
    width: int
    has_id: bool
    first_line: int  # 1-based number of the first data line in the body, for error messages


# --- CSV ---------------------------------------------------------------------------------------------------
def parse_csv(
    body: bytes | str,
    schema: FeatureSchema,
    *,
    keep_ids: bool = False,
    allow_header: bool = True,
    line_offset: int = 0,
) -> Rows:
    """Decode a CSV body (see the module docstring for the rules).

    `line_offset` is added to line numbers in error messages, for a body that is a slice of a larger file.
    """
    raw, text = _decode(body)
    start, line_number, first = _first_row(text)
    line_number += line_offset
    if first is None:
        raise PayloadError("the body holds no rows")
    fields = first.split(",")
    n = schema.width
    if len(fields) not in (n, n + 1):
        raise PayloadError(
            f"line {line_number} has {len(fields)} columns; expected {n} features, or an id followed by "
            f"{n} features"
        )
    has_id = len(fields) == n + 1
    order = None
    if allow_header and _is_header(fields[1:] if has_id else fields):
        order = _header_order(fields[1:] if has_id else fields, schema, line_number)
        start, line_number = start + len(first) + 1, line_number + 1
    layout = _Layout(width=len(fields), has_id=has_id, first_line=line_number)
    rows = None
    if len(text) - start >= PANDAS_MIN_CHARS:
        rows = _parse_pandas(raw[len(text[:start].encode("utf-8")) :], layout, keep_ids)
    if rows is None:
        rows = _parse_lines(text[start:], layout, keep_ids)
    if rows.features.shape[0] == 0:
        raise PayloadError("the body has a header but no data rows")
    if order is not None:
        rows = Rows(np.ascontiguousarray(rows.features[:, order]), rows.ids)
    return rows


def _decode(body: bytes | str) -> tuple[bytes, str]:
    """The body as UTF-8 bytes and as text, without a byte order mark and with `\n` line ends only."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the body is not UTF-8 text (byte {error.start})") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        raw = text.encode("utf-8")
    return raw, text


def _first_row(text: str) -> tuple[int, int, str | None]:
    """Offset, line number and text of the first non-blank line."""
    start, line_number = 0, 1
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if end > start:
            return start, line_number, text[start:end]
        start, line_number = end + 1, line_number + 1
    return start, line_number, None


def _is_header(feature_fields: list[str]) -> bool:
    named = [f for f in feature_fields if f.strip()]
    return bool(named) and not any(_is_number(f) for f in named)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return field in _BOOLEANS
    return True


def _header_order(names: list[str], schema: FeatureSchema, line_number: int) -> list[int] | None:
    """None when the header lists the features in order; else the permutation into the model's order."""
    names = [name.strip() for name in names]
    if tuple(names) == schema.names:
        return None
    if sorted(names) == sorted(schema.names) and len(set(names)) == len(names):
        position = {name: i for i, name in enumerate(names)}
        return [position[name] for name in schema.names]
    unknown = [name for name in names if name not in schema.names]
    missing = [name for name in schema.names if name not in names]
    raise PayloadError(
        f"the header (line {line_number}) does not match the model's features: "
        f"unknown {_few(unknown)}, missing {_few(missing)}"
    )


def _few(names: list[str]) -> str:
    return f"{names[:5]}{' and more' if len(names) > 5 else ''}"


def _parse_lines(data: str, layout: _Layout, keep_ids: bool) -> Rows:
    """The reference parser: line by line, naming the line and column of the first problem."""
    skip = 1 if layout.has_id else 0
    values: list[float] = []
    ids: list[str] = []
    lines = data.split("\n")
    used: list[int] = []  # index in `lines` of each row, to name the line of a non-finite value
    for offset, line in enumerate(lines):
        if not line:
            continue
        fields = line.split(",")
        if len(fields) != layout.width:
            raise PayloadError(
                f"line {layout.first_line + offset} has {len(fields)} columns; expected {layout.width} "
                f"like line {layout.first_line}"
            )
        for column, field in enumerate(fields[skip:], start=skip + 1):
            values.append(_number(field, layout.first_line + offset, column))
        used.append(offset)
        if keep_ids and layout.has_id:
            ids.append(fields[0])
    with np.errstate(over="ignore"):  # a value too large for float32 becomes inf, reported below
        features = np.array(values, dtype=np.float32).reshape(-1, layout.width - skip)
    infinite = np.argwhere(np.isinf(features))
    if infinite.size:
        row, column = (int(i) for i in infinite[0])
        field = lines[used[row]].split(",")[column + skip]
        raise PayloadError(
            f"line {layout.first_line + used[row]}, column {column + skip + 1}: {field[:40]!r} is not a "
            "finite float32 number"
        )
    return Rows(features, ids if keep_ids and layout.has_id else None)


def _number(field: str, line: int, column: int) -> float:
    if not field:
        return math.nan
    try:
        return float(field)
    except ValueError:
        if field in _BOOLEANS:
            return _BOOLEANS[field]
        raise PayloadError(f"line {line}, column {column}: {field[:40]!r} is not a number") from None


def _parse_pandas(data: bytes, layout: _Layout, keep_ids: bool) -> Rows | None:
    """The fast parser, or None when its result cannot be trusted (then the reference parser answers)."""
    skip = 1 if layout.has_id else 0
    # No dtype for the features: pandas then parses integer columns with its integer parser, a third faster
    # than its float parser, and every column type is checked below. Except when a field may be "-0", which
    # an integer column would read as 0 where the reference parser keeps float's -0.0.
    dtypes: dict[int, Any] = {0: str} if layout.has_id else {}
    # (Looking for "-" first: one memchr, where searching for "-0" itself costs a tenth of pandas' parse.)
    if b"-" in data and b"-0" in data:
        dtypes.update({i: np.float64 for i in range(skip, layout.width)})
    options: dict[str, Any] = {
        "header": None,
        "names": list(range(layout.width)),
        "index_col": False,
        "dtype": dtypes or None,
        "quoting": csv.QUOTE_NONE,
        "lineterminator": "\n",
        "skip_blank_lines": True,
        "engine": "c",
    }
    try:
        # Most bodies have no empty field, and skipping pandas' missing-value check saves a fifth of the
        # time; an empty field then leaves its column as text (or fails a float64 column), and the second
        # reading handles it.
        try:
            frame = pd.read_csv(io.BytesIO(data), na_filter=False, **options)
            numeric = _all_numeric(frame, skip)
        except pd.errors.ParserError:
            return None
        except ValueError:
            numeric = False
        if not numeric:
            na_values = {i: [""] for i in range(skip, layout.width)}
            frame = pd.read_csv(io.BytesIO(data), na_values=na_values, keep_default_na=False, **options)
    except (ValueError, OverflowError):
        return None
    # Short rows are padded with NaN by pandas; counting separators catches them (long rows raise above).
    if not _all_numeric(frame, skip) or _separators(data) != len(frame) * (layout.width - 1):
        return None
    values = frame.iloc[:, skip:] if skip else frame
    # Through float64, which holds every integer pandas read exactly (up to 2**53) and rounds the rest as
    # Python's float() does, then float32: the rounding of the reference parser.
    with np.errstate(over="ignore"):  # values too large for float32 become inf, rejected below
        # (C order here: pandas hands the columns back in Fortran order, and XGBoost reads rows.)
        features = values.to_numpy(dtype=np.float64).astype(np.float32, order="C")
    if np.isinf(features).any():
        return None
    ids = frame[0].tolist() if keep_ids and layout.has_id else None
    return Rows(features, ids)


def _separators(data: bytes) -> int:
    """The number of commas in `data`: numpy compares the bytes nine times faster than `bytes.count` counts."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == ord(",")))


def _all_numeric(frame: pd.DataFrame, skip: int) -> bool:
    """Whether pandas read every feature column as numbers (integers, floats or true/false)."""
    return all(dtype.kind in "iufb" for dtype in frame.dtypes.iloc[skip:])


# --- JSON --------------------------------------------------------------------------------------------------
def parse_json(body: bytes | str, schema: FeatureSchema, *, keep_ids: bool = False) -> Rows:
    """Decode a JSON body (see the module docstring for the shapes)."""
    try:
        document = json.loads(body)
    except ValueError as error:  # (a body that is not UTF-8 raises UnicodeDecodeError, a ValueError)
        raise PayloadError(f"the body is not valid JSON: {error}") from None
    except RecursionError:  # the decoder recurses once per level of nesting
        raise PayloadError("the body is not valid JSON: arrays or objects nested too deeply") from None
    instances = document.get("instances") if isinstance(document, dict) else document
    if not isinstance(instances, list):
        raise PayloadError('expected a list of instances, or {"instances": [...]}')
    if not instances:
        raise PayloadError("the body holds no instances")
    ids: list[str] = []
    rows = [_json_row(i, instance, schema, ids) for i, instance in enumerate(instances)]
    if ids and len(ids) != len(rows):
        raise PayloadError("either every instance has an id or none has")
    with np.errstate(over="ignore"):
        features = np.array(rows, dtype=np.float32)  # (rows, features): every row has the schema's width
    infinite = np.argwhere(np.isinf(features))
    if infinite.size:
        row, column = (int(i) for i in infinite[0])
        raise PayloadError(f"instance {row}, feature {schema.names[column]!r}: not a finite float32 number")
    return Rows(features, ids if keep_ids and ids else None)


def _json_row(index: int, instance: Any, schema: FeatureSchema, ids: list[str]) -> list[float]:
    n = schema.width
    if isinstance(instance, list):
        if len(instance) not in (n, n + 1):
            raise PayloadError(
                f"instance {index} has {len(instance)} values; expected {n} features, or an id and {n} features"
            )
        if len(instance) == n + 1:
            ids.append(_json_id(index, instance[0]))
            instance = instance[1:]
        return [_json_number(index, name, value) for name, value in zip(schema.names, instance, strict=True)]
    if isinstance(instance, dict):
        allowed = set(schema.names) | ({schema.id_column} if schema.id_column else set())
        unknown = [key for key in instance if key not in allowed]
        if unknown:
            raise PayloadError(f"instance {index} has unknown features {_few(unknown)}")
        if schema.id_column in instance:
            ids.append(_json_id(index, instance[schema.id_column]))
        return [_json_number(index, name, instance.get(name)) for name in schema.names]
    raise PayloadError(f"instance {index} must be a list of values or an object of features")


def _json_id(index: int, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadError(f"instance {index}: the id must be a string or a number, not {_short(value)}")
    return str(value)


def _json_number(index: int, name: str, value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"instance {index}, feature {name!r}: {_short(value)} is not a number")
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64, of either sign: the caller reports it as not finite
        return math.inf


def _short(value: Any) -> str:
    """A value for a message: containers by their kind only, since printing one recurses through its depth."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value[:40] if isinstance(value, str) else value)


# --- Responses ---------------------------------------------------------------------------------------------
def format_csv(probabilities: np.ndarray, contributions: np.ndarray | None = None) -> str:
    """One line per row: the probability, then (when explaining) each feature's contribution and the bias."""
    if contributions is None:
        # One format operation for the whole body: a quarter of the time of formatting line by line.
        return (_NUMBER + "\n") * probabilities.shape[0] % tuple(probabilities.tolist())
    table = np.column_stack([probabilities, contributions])
    line = ",".join([_NUMBER] * table.shape[1]) + "\n"
    return line * table.shape[0] % tuple(table.ravel().tolist())


def format_json(
    probabilities: np.ndarray, schema: FeatureSchema, contributions: np.ndarray | None = None
) -> str:
    """`{"predictions": [...]}`, plus contributions and their names when explaining."""
    document: dict[str, Any] = {"predictions": [float(_NUMBER % p) for p in probabilities.tolist()]}
    if contributions is not None:
        document["contribution_names"] = [*schema.names, "bias"]
        document["contributions"] = [[float(_NUMBER % v) for v in row] for row in contributions.tolist()]
    return json.dumps(document)


def format_id_csv(ids: list[str], probabilities: np.ndarray) -> str:
    """`<id>,<probability>` lines, the shape Batch Transform's join gives (docs/data-contract.md)."""
    return "".join(
        [f"{row_id},{_NUMBER % p}\n" for row_id, p in zip(ids, probabilities.tolist(), strict=True)]
    )

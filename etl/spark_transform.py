"""The employee-attrition feature transform on Spark: what `transform.py` does, spread over a Glue Spark job.

`glue_job_spark_flag: true` runs this script (Glue 5.0: Spark 3.5, Python 3.11); it also runs under a plain local
PySpark (tests, `mlops local-run`). It keeps `transform.py`'s data contract (docs/data-contract.md) by importing
everything that defines the dataset from it: the column lists, the known categories, the one-hot naming, the
output column order, the schema document, the argument resolver and the publishing of the extract set. Glue gets
`transform.py` through `--extra-py-files`; locally it is found next to this file.

What Spark does, on the executors: parse the raw CSV (every column as text), check every validation rule of
`transform.py` in one aggregation over the whole file, and compute each output row as its final CSV line. What
the driver does: read the header (one ranged GET), turn the first failing rule into `transform.py`'s message,
stream the finished lines into the extract file (the contract wants one object per extract), and publish the
set with `transform.py`'s own function. Nothing is written unless both inputs passed every rule.

Messages equal `transform.py`'s for files that fit in one of its read blocks (16 MiB, ~100,000 rows); for larger
files `transform.py` stops at the first block with a problem and counts within that block, while this script
counts over the whole file.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

try:
    import transform
except ImportError:  # run from a checkout or a local run: transform.py sits next to this file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import transform

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

LOG = logging.getLogger("mlops.etl")
TransformError = transform.TransformError
ID, LABEL, RATIO = transform.ID, transform.LABEL, transform.RATIO

_CORRUPT = "_corrupt_record"
_MISSING = "_missing_"
_ROW = "_row"
# The header is read with one ranged GET; a longer header line is cut here, and names past it count as missing.
_HEADER_BYTES = 1 << 16
# Arrow (which `transform.py` parses with) reads these as a missing integer.
_ARROW_NULLS = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"),
)
# Arrow quotes a malformed row in its message up to this many characters.
_ROW_TEXT = 96
_EXAMPLES = 5


# --- Reading -----------------------------------------------------------------------------------------------------


def read_raw(spark: SparkSession, uri: str, header: Sequence[str], needed: Sequence[str]) -> DataFrame:
    """The columns `needed` of a raw CSV file as text, plus its malformed-row text and each row's file order."""
    missing = [c for c in needed if c not in header]
    if missing:
        raise TransformError(f"missing required columns: {', '.join(missing)}")
    # Without this, Spark parses only the selected fields and cannot see a row with too few or too many.
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in header] + [T.StructField(_CORRUPT, T.StringType())]
    )
    frame = (
        spark.read.options(
            header=True, mode="PERMISSIVE", columnNameOfCorruptRecord=_CORRUPT, encoding="UTF-8"
        )
        .schema(schema)
        .csv(uri)
    )
    # Partitions follow the file's byte order, so this id orders rows as they appear in the file.
    return frame.select(*needed, _CORRUPT).withColumn(_ROW, F.monotonically_increasing_id())


def _integer(column: str) -> Column:
    """A raw integer field as Arrow's int64 parser reads it: trimmed, decimal or 0x hex; null if invalid."""
    text = F.trim(F.col(column))
    number = F.expr(f"try_cast(trim(`{column}`) AS BIGINT)")
    # Spark's cast also takes `+5` and `5.0`, which Arrow refuses: a number that reads back as its own text is
    # valid at once (nearly every field); only the rest meets the patterns.
    decimal = F.when(text.rlike(r"^-?[0-9]+$"), number)
    hexadecimal = F.when(text.rlike(r"^0x[0-9a-fA-F]{1,15}$"), F.conv(F.substring(text, 3, 16), 16, 10))
    slow = F.coalesce(decimal, hexadecimal.cast("bigint"))
    return F.when(number.cast("string") == text, number).otherwise(slow)


def _missing(column: str) -> Column:
    return F.col(column).isNull() | F.trim(F.col(column)).isin(*_ARROW_NULLS)


def _code(column: str, categories: Sequence[str]) -> Column:
    """A text column's position in `categories`, or null (unknown or missing)."""
    code: Column = F.lit(None)
    for position, category in reversed(list(enumerate(categories))):
        code = F.when(F.col(column) == category, F.lit(position)).otherwise(code)
    return code


# --- Validation: transform.py's rules, in its order ----------------------------------------------------------------


def typed(raw: DataFrame, features: Sequence[str], *, label: bool) -> DataFrame:
    """Each raw row parsed once: integers (null when missing or invalid) with a missing flag, text as codes.

    This is what the checks and the transform read (and what is cached): far smaller than the text.
    """
    columns = [F.col(_ROW), F.col(_CORRUPT).isNotNull().alias(_CORRUPT)]
    for column in (ID, *transform.INTEGER_INPUTS):
        columns += [_integer(column).alias(column), _missing(column).alias(_MISSING + column)]
    columns += [_code(column, transform.ENCODED[column]).alias(column) for column in _encoded(label)]
    categories = transform.one_hot_categories(features)
    columns += [_code(column, values).alias(column) for column, values in categories.items()]
    return raw.select(*columns)


def _counts(parsed: DataFrame, features: Sequence[str], label: bool) -> dict[str, int]:
    """How many rows break each rule, all in one pass over the parsed rows."""
    checks: dict[str, Column] = {"rows": F.lit(True), "corrupt": F.col(_CORRUPT)}
    for column in (ID, *transform.INTEGER_INPUTS):
        checks[f"invalid:{column}"] = ~F.col(_MISSING + column) & F.col(column).isNull()
        checks[f"empty:{column}"] = F.col(_MISSING + column)
    for column in transform.DOMAINS:
        checks[f"domain:{column}"] = _outside(column)
    for column in _encoded(label):
        checks[f"encoded:{column}"] = F.col(column).isNull()
    if label:
        for column in transform.one_hot_categories(features):
            checks[f"category:{column}"] = F.col(column).isNull()
    row = parsed.agg(
        *(F.sum(F.when(check, 1).otherwise(0)).alias(name) for name, check in checks.items())
    ).collect()[0]
    return {name: int(row[name] or 0) for name in checks}


def _outside(column: str) -> Column:
    """True where a parsed integer lies outside its documented domain (`transform.DOMAINS`)."""
    low, high = transform.DOMAINS[column]
    outside = F.col(column) < low
    return outside if high is None else outside | (F.col(column) > high)


def _encoded(label: bool) -> list[str]:
    return [c for c in transform.ENCODED if c != LABEL] + ([LABEL] if label else [])


def check(
    raw: DataFrame, parsed: DataFrame, header: Sequence[str], features: Sequence[str], *, label: bool
) -> int:
    """Raise `transform.py`'s message for the first rule the file breaks, in its order; else the row count.

    The rules are counted on the `parsed` rows; the message's examples come from the `raw` text.
    """
    transform.check_features(features)
    counts = _counts(parsed, features, label)
    if counts["corrupt"]:
        raise TransformError(_malformed(raw, len(header)))
    integers = (ID, *transform.INTEGER_INPUTS)
    for column in sorted(integers, key=header.index):
        if counts[f"invalid:{column}"]:
            value = _first(raw, column, ~_missing(column) & _integer(column).isNull(), 1)[0]
            raise TransformError(
                f"cannot parse the file: {column}: In CSV column #{header.index(column)}: "
                f"CSV conversion error to int64: invalid value '{value}'"
            )
    for column in integers:
        if counts[f"empty:{column}"]:
            raise TransformError(
                _bad_rows(raw, column, "is empty", _missing(column), counts[f"empty:{column}"])
            )
    if any(counts[f"domain:{column}"] for column in transform.DOMAINS):
        raise TransformError(_domain_message(parsed, counts))
    for column in _encoded(label=False):
        if counts[f"encoded:{column}"]:
            raise TransformError(_encoding_message(raw, column, counts))
    unknown = _unknown_categories(raw, features, counts) if label else {}
    if unknown:
        raise TransformError(
            "values outside the dataset's known categories (docs/dataset.md); add them to ONE_HOT in "
            "etl/transform.py to train on them: " + "; ".join(f"{c}: {v}" for c, v in unknown.items())
        )
    if label and counts[f"encoded:{LABEL}"]:
        raise TransformError(_encoding_message(raw, LABEL, counts))
    if not counts["rows"]:
        raise TransformError("no data rows")
    repeated = parsed.groupBy(ID).count().where("count > 1")
    first = [r[ID] for r in repeated.orderBy(ID).limit(_EXAMPLES).collect()]
    if first:
        raise TransformError(f"{ID} must be unique; repeated: {first}")
    return counts["rows"]


def _domain_message(parsed: DataFrame, counts: dict[str, int]) -> str:
    """`transform.check_domains`'s message: per column outside its domain, the first such values and rows."""
    examples = {
        column: parsed.where(_outside(column)).orderBy(_ROW).limit(_EXAMPLES).select(_ROW, column).collect()
        for column in transform.DOMAINS
        if counts[f"domain:{column}"]
    }
    numbers = _row_numbers(parsed, [row[_ROW] for rows in examples.values() for row in rows])
    problems = []
    for column, rows in examples.items():
        low, high = transform.DOMAINS[column]
        domain = f"at least {low}" if high is None else f"from {low} to {high}"
        found = sorted({row[column] for row in rows})
        more = " and more" if counts[f"domain:{column}"] > _EXAMPLES else ""
        problems.append(
            f"{column} must be {domain}; found {found} in rows {[numbers[r[_ROW]] for r in rows]}{more}"
        )
    return "values outside the domains of docs/dataset.md: " + "; ".join(problems)


def _row_numbers(parsed: DataFrame, ids: list[int]) -> dict[int, int]:
    """Each `_ROW` id's data-row number in the file, from 1: the ids are only increasing (each partition's start
    at its index << 33), so a row's number is how many rows have an id up to its own, counted in one pass."""
    wanted = sorted(set(ids))
    counts = parsed.agg(
        *(F.sum(F.when(F.col(_ROW) <= row, 1).otherwise(0)).alias(f"r{i}") for i, row in enumerate(wanted))
    ).collect()[0]
    return {row: int(counts[f"r{i}"]) for i, row in enumerate(wanted)}


def _encoding_message(raw: DataFrame, column: str, counts: dict[str, int]) -> str:
    found = _unknown(raw, column, transform.ENCODED[column], counts[f"encoded:{column}"])
    return f"{column} must be one of {list(transform.ENCODED[column])}; found {found}"


def _unknown_categories(raw: DataFrame, features: Sequence[str], counts: dict[str, int]) -> dict[str, str]:
    return {
        column: _unknown(raw, column, categories, counts[f"category:{column}"])
        for column, categories in transform.one_hot_categories(features).items()
        if counts[f"category:{column}"]
    }


def _first(raw: DataFrame, column: str, condition: Column, count: int) -> list[Any]:
    """The first `count` distinct values of `column` (as text) on rows where `condition` holds, in file order."""
    rows = raw.where(condition).groupBy(column).agg(F.min(_ROW).alias(_ROW)).orderBy(_ROW).limit(count)
    return [row[column] for row in rows.collect()]


def _unknown(raw: DataFrame, column: str, categories: Sequence[str], count: int) -> str:
    """`[examples] in N row(s)`, as `transform._unknown_values` says it (an empty field is '')."""
    values = _first(raw, column, _code(column, categories).isNull(), _EXAMPLES)
    return f"{sorted({'' if v is None else str(v) for v in values})} in {count} row(s)"


def _bad_rows(raw: DataFrame, column: str, problem: str, condition: Column, count: int) -> str:
    """`<column> <problem> in N row(s)`, with the first such rows' ids, as `transform._bad_rows` says it."""
    where = ""
    if column != ID:
        rows = (
            raw.where(condition & ~_missing(ID)).orderBy(_ROW).limit(_EXAMPLES).select(_integer(ID).alias(ID))
        )
        ids = [row[ID] for row in rows.collect()]
        where = f" (e.g. {ID} {ids})" if ids else ""
    return f"{column} {problem} in {count} row(s){where}"


def _malformed(raw: DataFrame, width: int) -> str:
    """Arrow's message for the first row whose field count differs from the header's."""
    text = raw.where(F.col(_CORRUPT).isNotNull()).orderBy(_ROW).select(_CORRUPT).limit(1).collect()[0][0]
    fields = next(csv.reader([text]), [])
    shown = text if len(text) <= _ROW_TEXT + 4 else text[:_ROW_TEXT] + " ..."
    return f"cannot parse the file: CSV parse error: Expected {width} columns, got {len(fields)}: {shown}"


# --- The transform -----------------------------------------------------------------------------------------------


def _ratio() -> Column:
    """The ratio as text, written as Arrow writes a double: `2` for 2.0, shortest digits otherwise."""
    value = F.col("TotalWorkingYears") / (F.col("NumCompaniesWorked") + 1)
    whole = (value == F.floor(value)) & (F.abs(value) < 1e15)
    return F.when(whole, value.cast("bigint").cast("string")).otherwise(value.cast("string"))


def feature_columns(features: Sequence[str], *, label: bool) -> dict[str, Column]:
    """Every output column (the label too, for training) of `typed` rows as text, by name: the values of
    `transform._features`."""
    columns = {c: F.col(c).cast("string") for c in (ID, *transform.INTEGER_INPUTS)}
    columns[RATIO] = _ratio()
    for column in _encoded(label):
        columns[column] = F.col(column).cast("string")
    for column, categories in transform.one_hot_categories(features).items():
        for position, category in enumerate(categories):
            name = transform.one_hot_name(column, category)
            columns[name] = F.when(F.col(column) == position, "1").otherwise("0")
    return columns


def extract_lines(parsed: DataFrame, kind: str, features: Sequence[str], layout: str) -> DataFrame:
    """The extract's data lines (one `value` column of CSV text) of valid `typed` rows, in file order."""
    columns = feature_columns(features, label=kind == "train")
    names = transform.output_columns(kind, features, layout)
    return parsed.select(F.concat_ws(",", *(columns[name] for name in names)).alias("value"))


def transform_to_file(
    spark: SparkSession,
    uri: str,
    header_path: str,
    destination: str,
    kind: str,
    features: Sequence[str],
    layout: str,
) -> int:
    """Check and transform the raw file at `uri` into the local extract `destination`; return the row count.

    `header_path` is a local file that starts with the raw file's header line.
    """
    needed = transform.TRAIN_INPUTS if kind == "train" else transform.SCORE_INPUTS
    try:
        header = transform.read_header(header_path)
        raw = read_raw(spark, uri, header, needed)
        parsed = typed(raw, features, label=kind == "train").persist()
        try:
            rows = check(raw, parsed, header, features, label=kind == "train")
            with open(destination, "w", encoding="utf-8", newline="") as sink:
                if kind == "train" and layout == "byo":
                    sink.write(",".join(transform.output_columns(kind, features, layout)) + "\n")
                # Partition by partition, in order: the driver holds one partition's lines at a time.
                lines = extract_lines(parsed, kind, features, layout)
                for line in lines.toLocalIterator(prefetchPartitions=True):
                    sink.write(line[0] + "\n")
        finally:
            parsed.unpersist()
    except TransformError as error:
        raise TransformError(f"{kind} file: {error}") from None
    return rows


# --- The job: S3 in, S3 out ----------------------------------------------------------------------------------------


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
    spark: SparkSession | None = None,
) -> dict[str, str]:
    """`transform.run_s3` on Spark: the same arguments, checks, outputs and publishing.

    In Glue, Spark reads the raw objects from S3 itself; elsewhere (no `awsglue`, so no S3 file system for
    Spark) they are downloaded to a temporary folder first.
    """
    wants_score = transform.check_arguments(
        source_bucket=source_bucket,
        train_key=train_key,
        score_key=score_key,
        destination_bucket=destination_bucket,
        inference_type=inference_type,
        output_layout=output_layout,
    )
    shaping = transform.shaping_arguments(
        score_parts=score_parts, validation=validation, train_parts=train_parts
    )
    spark = spark or session()
    LOG.info("Spark %s on %s", spark.version, spark.sparkContext.master)
    work = tempfile.mkdtemp(prefix="mlops-spark-etl-")
    try:
        # transform.run_s3's order: both inputs fetched, then the schema, then train and score transformed.
        inputs = [("train", train_key, transform.TRAIN_KEY)]
        inputs += [("score", score_key, transform.SCORE_KEY)] if wants_score else []
        sources = {kind: _fetch(s3, source_bucket, key, work, kind) for kind, key, _ in inputs if key}
        features = list(transform.FEATURES)
        if not train_key:
            schema = transform._read_text(s3, destination_bucket, transform.SCHEMA_KEY)
            features = transform.features_from_schema(schema)
        written: dict[str, str] = {}
        for kind, _, target in inputs:
            if kind in sources:
                uri, head = sources[kind]
                written[target] = os.path.join(work, kind + ".csv")
                count = transform_to_file(spark, uri, head, written[target], kind, features, output_layout)
                LOG.info("%s: %d rows, %d features", kind, count, len(features))
        written[transform.SCHEMA_KEY] = os.path.join(work, "columns.json")
        transform.write_schema(written[transform.SCHEMA_KEY], features)
        shaped = transform.shape_extracts(written, layout=output_layout, **shaping)
        return transform.publish(s3, shaped, destination_bucket)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch(s3: Any, bucket: str, key: str, work: str, kind: str) -> tuple[str, str]:
    """Where Spark reads the raw object, and a local file that starts with its header line.

    Outside Glue the object is downloaded (as `transform.py` does) and Spark reads the local copy; in Glue,
    Spark reads S3 itself and only the header's first bytes are fetched, with one ranged GET.
    """
    if not _in_glue():
        path = transform._download(s3, bucket, key, os.path.join(work, kind + ".raw.csv"))
        return path, path
    head = os.path.join(work, kind + ".head")
    from botocore.exceptions import ClientError

    try:
        data = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{_HEADER_BYTES - 1}")["Body"].read()
    except ClientError as error:
        raise TransformError(
            f"cannot read s3://{bucket}/{key}: {transform._client_error(error, bucket)}"
        ) from None
    with open(head, "wb") as handle:
        handle.write(data)
    return f"s3://{bucket}/{key}", head


def _in_glue() -> bool:
    try:
        import awsglue  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def session() -> SparkSession:
    """Glue's Spark session inside Glue; elsewhere the active one, or a local one (`MLOPS_SPARK_MASTER`)."""
    if _in_glue():
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from pyspark.context import SparkContext

        return GlueContext(SparkContext.getOrCreate()).spark_session
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = os.environ.get("MLOPS_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.master(master).appName("mlops-etl").config("spark.ui.enabled", "false")
    spark = builder.config("spark.sql.shuffle.partitions", "8").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main(argv: Sequence[str] | None = None, s3: Any = None) -> dict[str, str]:
    """Run the job with the process's (Glue's) arguments: `transform.main`, with this engine's `run_s3`."""
    return dict(transform.main(argv, s3, run=run_s3))


if __name__ == "__main__":
    main()

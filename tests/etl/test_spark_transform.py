"""etl/spark_transform.py against etl/transform.py: the same input through both engines, the same extracts or
the same one-line refusal with nothing written. Spark runs locally (`local[2]`), one session for the module."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark")

from etl import spark_transform  # noqa: E402
from mlops_component.tools import sample_data  # noqa: E402
from tests.etl.stores import EXTRACTS_BUCKET, FEATURES_BUCKET, SCORE_KEY, TRAIN_KEY, body, land, objects  # noqa: E402

# The pandas engine as the Spark script sees it (the same module object, so the same TransformError).
transform = spark_transform.transform
EXTRACTS = (transform.TRAIN_KEY, transform.SCORE_KEY, transform.SCHEMA_KEY)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = spark_transform.SparkSession.builder.master("local[2]").appName("mlops-etl-tests")
    session = session.config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
    started = session.getOrCreate()
    started.sparkContext.setLogLevel("ERROR")
    yield started
    started.stop()


def _run(engine: str, s3: Any, spark: Any, **overrides: str) -> dict[str, str]:
    arguments = {
        "source_bucket": FEATURES_BUCKET,
        "train_key": TRAIN_KEY,
        "score_key": SCORE_KEY,
        "destination_bucket": EXTRACTS_BUCKET,
        "inference_type": "batch",
        "output_layout": "byo",
        **overrides,
    }
    if engine == "spark":
        return spark_transform.run_s3(s3, spark=spark, **arguments)
    return transform.run_s3(s3, **arguments)


def _extracts(s3: Any) -> dict[str, bytes]:
    present = objects(s3, EXTRACTS_BUCKET)
    return {key: body(s3, key) for key in EXTRACTS if key in present}


def _clear(s3: Any) -> None:
    for key in objects(s3, EXTRACTS_BUCKET):
        s3.delete_object(Bucket=EXTRACTS_BUCKET, Key=key)


def _both(s3: Any, spark: Any, **overrides: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The extract set each engine writes into an empty extracts store."""
    results = []
    for engine in ("pandas", "spark"):
        _clear(s3)
        _run(engine, s3, spark, **overrides)
        results.append(_extracts(s3))
    return results[0], results[1]


def _by_id(data: bytes, header: bool) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(data), header=0 if header else None)
    return frame.set_index(frame.columns[0]).sort_index()


def test_same_rows_and_values_by_id(s3: Any, spark: Any, raw: sample_data.SampleFiles) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    pandas_set, spark_set = _both(s3, spark)
    assert set(spark_set) == set(EXTRACTS)
    train = _by_id(spark_set[transform.TRAIN_KEY], header=True)
    assert list(train.columns) == [transform.LABEL, *transform.FEATURES]
    assert len(transform.FEATURES) == 43
    pd.testing.assert_frame_equal(train, _by_id(pandas_set[transform.TRAIN_KEY], header=True))
    pd.testing.assert_frame_equal(
        _by_id(spark_set[transform.SCORE_KEY], header=False),
        _by_id(pandas_set[transform.SCORE_KEY], header=False),
    )
    # Stronger still: the same bytes, rows in the same order, so a rerun of either engine changes nothing.
    assert spark_set == pandas_set


def test_builtin_layout_and_scoring_only_run(s3: Any, spark: Any, raw: sample_data.SampleFiles) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    pandas_set, spark_set = _both(s3, spark, output_layout="builtin")
    assert spark_set == pandas_set
    # A scoring-only run aligns to the schema an earlier training run left; both engines read it.
    results = []
    for engine in ("pandas", "spark"):
        _clear(s3)
        s3.put_object(
            Bucket=EXTRACTS_BUCKET,
            Key=transform.SCHEMA_KEY,
            Body=pandas_set[transform.SCHEMA_KEY].replace(b'"Department_Sales",\n', b""),
        )
        _run(engine, s3, spark, train_key="")
        results.append(_extracts(s3))
    assert results[0] == results[1]
    assert len(results[1][transform.SCORE_KEY].split(b"\n")[0].split(b",")) == 1 + 42


@pytest.mark.parametrize("output_layout", ["builtin", "byo"])
def test_parts_and_validation_holdout_alike(
    s3: Any, spark: Any, raw: sample_data.SampleFiles, output_layout: str
) -> None:
    """Batch Transform's score parts, the training instances' train parts and the holdout come out of both
    engines the same, byte for byte."""
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    sets = []
    for engine in ("pandas", "spark"):
        _clear(s3)
        shaping = {"score_parts": "3", "validation": "true", "train_parts": "2"}
        _run(engine, s3, spark, output_layout=output_layout, **shaping)
        sets.append({key: body(s3, key) for key in objects(s3, EXTRACTS_BUCKET)})
    assert sets[0] == sets[1]
    assert set(sets[1]) == {
        "score/part-00000.csv",
        "score/part-00001.csv",
        "score/part-00002.csv",
        "train/part-00000.csv",
        "train/part-00001.csv",
        "validation/validation.csv",
        transform.SCHEMA_KEY,
    }
    # Rows compared by id too (byo): the parts together are the single train extract, less the holdout.
    if output_layout == "byo":
        parts = pd.concat(_by_id(sets[1][f"train/part-0000{n}.csv"], header=True) for n in range(2))
        _clear(s3)
        _run("spark", s3, spark, output_layout="byo", validation="true")
        single = _by_id(body(s3, transform.TRAIN_KEY), header=True)
        pd.testing.assert_frame_equal(parts.sort_index(), single)


def test_train_parts_refused_alike(s3: Any, spark: Any, raw: sample_data.SampleFiles) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    messages = []
    for engine in ("pandas", "spark"):
        for value in ("0", "3001"):
            with pytest.raises(transform.TransformError) as refused:
                _run(engine, s3, spark, train_parts=value)
            messages.append(str(refused.value))
        assert objects(s3, EXTRACTS_BUCKET) == {}
    assert messages[:2] == messages[2:]
    assert messages[:2] == [
        "--train_parts must be a whole number of at least 1, not '0'",
        "train file: 3000 rows are too few for --train_parts 3001; every training instance needs a part of at "
        "least one row",
    ]


def test_ratio_written_as_arrow_writes_it_over_the_documented_domain(spark: Any) -> None:
    """Every TotalWorkingYears (0-40) over every NumCompaniesWorked (0-9): the same text in both engines."""
    pairs = [(years, companies) for years in range(41) for companies in range(10)]
    frame = spark.createDataFrame(pairs, "TotalWorkingYears bigint, NumCompaniesWorked bigint")
    texts = [row[0] for row in frame.select(spark_transform._ratio()).collect()]
    ratios = pd.DataFrame({"r": [y / (c + 1) for y, c in pairs]})
    assert texts == transform.csv_rows(ratios, ["r"]).decode().split()


def _edit(raw: sample_data.SampleFiles, tmp_path: Path, edit: Any, which: str = "train") -> Path:
    path = raw.train if which == "train" else raw.score
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edited = tmp_path / f"{which}.csv"
    edit(frame).to_csv(edited, index=False)
    return edited


def _set(column: str, rows: list[int], value: str) -> Any:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[rows, column] = value
        return frame

    return edit


INVALID = {
    "missing column": lambda f: f.drop(columns=["Age", "Gender"]),
    "not an integer": _set("MonthlyIncome", [3, 8], "12.5"),
    "an integer Arrow cannot read": _set("Age", [5], "+40"),
    "empty integer": _set("DistanceFromHome", [2, 7, 9], ""),
    "NA integer": _set("JobLevel", [4], "NA"),
    "empty id": _set(transform.ID, [6], ""),
    "negative companies": _set("NumCompaniesWorked", [1, 100], "-1"),
    "outside a domain, hex too": _set("Age", [4, 9], "0x11"),
    "outside the id's domain": _set(transform.ID, [30], "0"),
    "unknown encoding": _set("BusinessTravel", [0, 3, 4], "Sometimes"),
    "empty encoding": _set("Gender", [10], ""),
    "unknown categories": lambda f: _set("JobRole", [1, 2], "Astronaut")(_set("Department", [3], "Legal")(f)),
    "unknown label": _set(transform.LABEL, [12], "Maybe"),
    "repeated ids": _set(transform.ID, [0, 1, 2, 20], "7"),
    "no rows": lambda f: f.iloc[:0],
    "several problems, the first rule wins": lambda f: _set("Gender", [1], "x")(_set("Age", [2], "")(f)),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_input_same_message_nothing_written(
    case: str, s3: Any, spark: Any, raw: sample_data.SampleFiles, tmp_path: Path
) -> None:
    land(s3, _edit(raw, tmp_path, INVALID[case]), TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    messages = []
    for engine in ("pandas", "spark"):
        with pytest.raises(transform.TransformError) as refused:
            _run(engine, s3, spark)
        messages.append(str(refused.value))
        assert objects(s3, EXTRACTS_BUCKET) == {}
    assert messages[1] == messages[0]


def test_domain_violations_across_partitions_same_message_nothing_written(
    s3: Any, spark: Any, raw: sample_data.SampleFiles, tmp_path: Path
) -> None:
    """Several columns outside DOMAINS, one of them in more than 5 rows, spread over several Spark partitions:
    the same columns, values and row numbers (from 1, after the header) as transform.check_domains names."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        last = len(frame) - 1
        frame = _set("MonthlyIncome", [0, 50, 51, 120, 200, 300, last], "1000")(frame)
        frame = _set("YearsAtCompany", [last, 7], "41")(frame)
        return _set("PerformanceRating", [150], "0x2")(frame)

    land(s3, _edit(raw, tmp_path, edit), TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    messages = []
    # Small read splits: the rows' numbers must come out right across partitions.
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16k")
    try:
        for engine in ("pandas", "spark"):
            with pytest.raises(transform.TransformError) as refused:
                _run(engine, s3, spark)
            messages.append(str(refused.value))
            assert objects(s3, EXTRACTS_BUCKET) == {}
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert messages[0].startswith("train file: values outside the domains of docs/dataset.md: MonthlyIncome")
    assert "in rows [1, 51, 52, 121, 201] and more" in messages[0]
    assert messages[1] == messages[0]


def test_byte_order_mark_and_cr_only_line_ends_same_extracts(
    s3: Any, spark: Any, raw: sample_data.SampleFiles, tmp_path: Path
) -> None:
    """Old Mac files end lines with CR only; both engines read them (and a BOM) as the plain file."""
    variant = tmp_path / "train-cr.csv"
    variant.write_bytes(b"\xef\xbb\xbf" + raw.train.read_bytes().replace(b"\n", b"\r"))
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    plain, _ = _both(s3, spark)
    land(s3, variant, TRAIN_KEY)
    pandas_set, spark_set = _both(s3, spark)
    assert pandas_set == plain
    assert spark_set == pandas_set


def test_malformed_rows_and_score_problems(
    s3: Any, spark: Any, raw: sample_data.SampleFiles, tmp_path: Path
) -> None:
    lines = raw.train.read_bytes().split(b"\n")
    lines[4] = lines[4].rsplit(b",", 1)[0]
    bad = tmp_path / "short.csv"
    bad.write_bytes(b"\n".join(lines))
    cases = [
        (bad, raw.score),
        (raw.train, _edit(raw, tmp_path, _set("MaritalStatus", [3], "Widowed"), "score")),
        (raw.train, _edit(raw, tmp_path, _set("OverTime", [3], "Often"), "score")),
    ]
    for train, score in cases:
        land(s3, train, TRAIN_KEY)
        land(s3, score, SCORE_KEY)
        outcomes = []
        for engine in ("pandas", "spark"):
            _clear(s3)
            try:
                _run(engine, s3, spark)
                outcomes.append(_extracts(s3))
            except transform.TransformError as error:
                outcomes.append(str(error))
                assert objects(s3, EXTRACTS_BUCKET) == {}
        assert outcomes[1] == outcomes[0]
    # An unknown category in a score file is not an error: its row gets zeros in that group.
    assert isinstance(outcomes[0], str) and outcomes[0].startswith("score file: OverTime must be one of")


def test_arguments_refused_alike(s3: Any, spark: Any) -> None:
    for overrides in (
        {"inference_type": "stream"},
        {"destination_bucket": FEATURES_BUCKET},
        {"score_key": ""},
        {"train_key": "", "inference_type": "endpoint"},
        {"train_key": "data/train/absent.csv"},
        {"train_key": ""},  # a scoring-only run without a schema
    ):
        messages = []
        for engine in ("pandas", "spark"):
            with pytest.raises(transform.TransformError) as refused:
                _run(engine, s3, spark, **overrides)
            messages.append(str(refused.value))
        assert messages[1] == messages[0], overrides


def test_main_is_one_line_on_bad_input(s3: Any, spark: Any) -> None:
    argv = ["spark_transform.py", "--source_bucket", FEATURES_BUCKET, "--destination_bucket", EXTRACTS_BUCKET]
    argv += ["--inference_type", "batch", "--train_key", TRAIN_KEY, "--score_key", SCORE_KEY]
    with pytest.raises(SystemExit) as stopped:
        spark_transform.main(argv, s3=s3)
    assert str(stopped.value).startswith("transform failed: cannot read s3://")

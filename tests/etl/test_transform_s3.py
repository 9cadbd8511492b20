"""The Glue job end to end against moto S3: arguments, outputs, alignment, errors, idempotence, safety."""

from __future__ import annotations

import io
import json
import sys
import types
from typing import Any

import pandas as pd
import pytest

from etl import transform
from etl.transform import FEATURES, main
from tests.etl.stores import EXTRACTS_BUCKET, FEATURES_BUCKET, SCORE_KEY, TRAIN_KEY, body, land, objects

OUTPUTS = {"train/train.csv", "score/score.csv", "schema/columns.json"}


def job(
    s3: Any,
    *,
    inference_type: str = "batch",
    train_key: str | None = TRAIN_KEY,
    score_key: str | None = SCORE_KEY,
    destination: str = EXTRACTS_BUCKET,
    source: str = FEATURES_BUCKET,
    layout: str | None = None,
    extra: tuple[str, ...] = (),
) -> dict[str, str]:
    """Run the job as Glue runs the script: `--name value` arguments on the command line (a key of None: left
    out)."""
    argv = ["transform.py", "--source_bucket", source, "--destination_bucket", destination]
    argv += ["--inference_type", inference_type]
    argv += [
        item
        for name, key in (("--train_key", train_key), ("--score_key", score_key))
        if key is not None
        for item in (name, key)
    ]
    if layout:
        argv += ["--output_layout", layout]
    return main([*argv, *extra], s3=s3)


@pytest.fixture
def landed(s3: Any, raw) -> Any:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    return s3


def test_batch_run_writes_train_score_and_schema(landed: Any, raw) -> None:
    assert job(landed) == dict.fromkeys(
        ["train/train.csv", "score/score.csv", "schema/columns.json"], "written"
    )
    assert set(objects(landed, EXTRACTS_BUCKET)) == OUTPUTS

    train = pd.read_csv(io.BytesIO(body(landed, "train/train.csv")))
    assert list(train.columns) == ["EmployeeNumber", "Attrition", *FEATURES]
    assert train.shape == (raw.train_rows, 2 + 43)
    score = pd.read_csv(io.BytesIO(body(landed, "score/score.csv")), header=None)
    assert score.shape == (raw.score_rows, 1 + 43)
    assert score[0].tolist() == pd.read_csv(raw.score).EmployeeNumber.tolist()
    schema = json.loads(body(landed, "schema/columns.json"))
    assert schema == {"id": "EmployeeNumber", "label": "Attrition", "features": list(FEATURES)}

    head = landed.head_object(Bucket=EXTRACTS_BUCKET, Key="train/train.csv")
    assert head["ContentType"] == "text/csv"
    assert (
        landed.head_object(Bucket=EXTRACTS_BUCKET, Key="schema/columns.json")["ContentType"]
        == "application/json"
    )


def test_train_and_score_rows_are_the_same_features_in_the_same_order(landed: Any, raw) -> None:
    job(landed)
    train = pd.read_csv(io.BytesIO(body(landed, "train/train.csv")))
    score = pd.read_csv(
        io.BytesIO(body(landed, "score/score.csv")), header=None, names=["EmployeeNumber", *FEATURES]
    )
    expected = transform.transform_score(pd.read_csv(raw.score))
    assert score.set_index("EmployeeNumber").to_numpy().tolist() == expected.to_numpy().tolist()
    assert list(train.columns[2:]) == list(score.columns[1:])


def test_endpoint_run_transforms_only_the_training_file(s3: Any, raw) -> None:
    land(s3, raw.train, TRAIN_KEY)
    assert set(job(s3, inference_type="endpoint", score_key=None)) == {
        "train/train.csv",
        "schema/columns.json",
    }
    assert set(objects(s3, EXTRACTS_BUCKET)) == {"train/train.csv", "schema/columns.json"}


def test_builtin_layout_has_no_header_and_no_id(landed: Any, raw) -> None:
    job(landed, layout="builtin")
    train = pd.read_csv(io.BytesIO(body(landed, "train/train.csv")), header=None)
    assert train.shape == (raw.train_rows, 1 + 43)
    assert set(train[0]) == {0, 1}


def test_a_byte_order_mark_on_s3_changes_nothing(s3: Any, raw) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    job(s3)
    plain = {key: body(s3, key) for key in OUTPUTS}
    land(s3, raw.train, TRAIN_KEY, prefix=b"\xef\xbb\xbf")
    land(s3, raw.score, SCORE_KEY, prefix=b"\xef\xbb\xbf")
    assert set(job(s3).values()) == {"unchanged"}
    assert {key: body(s3, key) for key in OUTPUTS} == plain


def test_one_hot_alignment_for_a_small_score_file_with_an_unseen_category(s3: Any, raw) -> None:
    land(s3, raw.train, TRAIN_KEY)
    lines = raw.score.read_text().splitlines(keepends=True)
    small = pd.read_csv(io.StringIO("".join(lines[:4])))  # three rows
    small["Department"] = ["Sales", "Sales", "Legal"]
    s3.put_object(Bucket=FEATURES_BUCKET, Key=SCORE_KEY, Body=small.to_csv(index=False).encode())
    job(s3)
    score = pd.read_csv(
        io.BytesIO(body(s3, "score/score.csv")), header=None, names=["EmployeeNumber", *FEATURES]
    )
    departments = [f for f in FEATURES if f.startswith("Department_")]
    assert score[departments].to_numpy().tolist() == [[0, 0, 1], [0, 0, 1], [0, 0, 0]]
    assert score.shape == (3, 1 + 43)


def test_scoring_only_run_aligns_to_the_persisted_schema(s3: Any, raw) -> None:
    land(s3, raw.score, SCORE_KEY)
    features = [f for f in FEATURES if f != "MaritalStatus_Divorced"]
    s3.put_object(
        Bucket=EXTRACTS_BUCKET,
        Key="schema/columns.json",
        Body=json.dumps(transform.schema_document(features)).encode(),
    )
    result = job(s3, train_key=None)
    assert result["score/score.csv"] == "written" and "train/train.csv" not in result
    score = pd.read_csv(io.BytesIO(body(s3, "score/score.csv")), header=None)
    assert score.shape == (raw.score_rows, 1 + 42)
    assert json.loads(body(s3, "schema/columns.json"))["features"] == features


def test_scoring_only_run_without_a_schema_fails_clearly(s3: Any, raw) -> None:
    land(s3, raw.score, SCORE_KEY)
    with pytest.raises(
        SystemExit, match=r"scoring-only run needs s3://mlops-test-extracts/schema/columns.json"
    ):
        job(s3, train_key="")
    assert objects(s3, EXTRACTS_BUCKET) == {}


def test_a_schema_that_is_not_utf8_fails_in_one_line(s3: Any, raw) -> None:
    land(s3, raw.score, SCORE_KEY)
    document = json.dumps(transform.schema_document(list(FEATURES))).encode()
    s3.put_object(Bucket=EXTRACTS_BUCKET, Key="schema/columns.json", Body=b"\xff\xfe" + document)
    with pytest.raises(SystemExit) as stopped:
        job(s3, train_key="")
    assert str(stopped.value) == "transform failed: schema/columns.json is not UTF-8 text (byte 0)"
    assert set(objects(s3, EXTRACTS_BUCKET)) == {"schema/columns.json"}  # nothing else was written


def test_missing_columns_fail_naming_them_and_nothing_is_written(s3: Any, raw, caplog) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY, replace=(b"JobRole,", b"Role,"))
    with pytest.raises(SystemExit) as stopped:
        job(s3)
    assert str(stopped.value) == "transform failed: score file: missing required columns: JobRole"
    assert "transform failed: score file: missing required columns: JobRole" in caplog.text  # the job's log
    # The train file transformed fine, but nothing reaches the extracts store unless everything did.
    assert objects(s3, EXTRACTS_BUCKET) == {}


def test_a_rerun_writes_nothing_and_gives_the_same_bytes(landed: Any) -> None:
    job(landed)
    first = {key: body(landed, key) for key in OUTPUTS}
    etags = objects(landed, EXTRACTS_BUCKET)
    assert job(landed) == dict.fromkeys(OUTPUTS, "unchanged")
    assert {key: body(landed, key) for key in OUTPUTS} == first
    assert objects(landed, EXTRACTS_BUCKET) == etags


def test_changed_input_is_written_again(landed: Any, raw, caplog) -> None:
    job(landed)
    before = body(landed, "train/train.csv")
    land(landed, raw.train, TRAIN_KEY, replace=(b",Travel_Rarely,", b",Travel_Frequently,"))
    caplog.set_level("INFO", logger="mlops.etl")
    result = job(landed)
    # The job's log tells the operator, key by key, what this run changed in the extracts store.
    logged = [r.getMessage() for r in caplog.records if r.name == "mlops.etl"]
    extracts = f"s3://{EXTRACTS_BUCKET}"
    assert f"wrote {extracts}/train/train.csv" in logged
    assert f"{extracts}/score/score.csv unchanged" in logged
    assert f"{extracts}/schema/columns.json unchanged" in logged
    assert f"{extracts}/train/train.csv unchanged" not in logged
    assert result == {
        "train/train.csv": "written",
        "score/score.csv": "unchanged",
        "schema/columns.json": "unchanged",
    }
    assert body(landed, "train/train.csv") != before


def test_the_feature_store_is_never_written(landed: Any) -> None:
    before = objects(landed, FEATURES_BUCKET)
    job(landed)
    job(landed, layout="builtin")
    assert objects(landed, FEATURES_BUCKET) == before


def test_writing_to_the_feature_store_is_refused(landed: Any) -> None:
    before = objects(landed, FEATURES_BUCKET)
    with pytest.raises(SystemExit, match="is the source \\(feature store\\) bucket"):
        job(landed, destination=FEATURES_BUCKET)
    assert objects(landed, FEATURES_BUCKET) == before


@pytest.mark.parametrize("missing", ["source", "destination"])
def test_an_empty_bucket_argument_is_refused_before_anything_is_read(landed: Any, missing: str) -> None:
    # A stack that passes an empty bucket name gets one line naming both arguments, not a botocore traceback.
    before = {bucket: objects(landed, bucket) for bucket in (FEATURES_BUCKET, EXTRACTS_BUCKET)}
    with pytest.raises(SystemExit) as stopped:
        job(landed, **{missing: ""})
    assert str(stopped.value) == ("transform failed: --source_bucket and --destination_bucket are required")
    assert {bucket: objects(landed, bucket) for bucket in before} == before


def test_a_missing_input_object_is_named(s3: Any) -> None:
    with pytest.raises(SystemExit, match=r"cannot read s3://mlops-test-features/data/train/train.csv: 404"):
        job(s3)


def test_the_schema_is_promoted_last(landed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    promoted = []
    real = landed.copy

    def record(source: dict[str, str], bucket: str, key: str, **kwargs: Any) -> None:
        if not key.startswith(transform.STAGING_PREFIX):
            promoted.append(key)
        real(source, bucket, key, **kwargs)

    monkeypatch.setattr(landed, "copy", record)
    job(landed)
    assert promoted[-1] == "schema/columns.json" and set(promoted) == OUTPUTS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"inference_type": "realtime"}, "invalid choice: 'realtime'"),
        ({"layout": "parquet"}, "invalid choice: 'parquet'"),
    ],
)
def test_bad_arguments_are_rejected_by_the_parser(landed: Any, overrides: dict, message: str, capsys) -> None:
    with pytest.raises(SystemExit):
        job(landed, **overrides)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("score_key", ["", None], ids=["empty", "left-out"])
def test_batch_without_a_score_key_is_refused(landed: Any, score_key: str | None) -> None:
    with pytest.raises(SystemExit, match="--score_key is required for batch inference"):
        job(landed, score_key=score_key)


def test_an_endpoint_run_without_a_train_key_is_refused(landed: Any) -> None:
    with pytest.raises(SystemExit, match="nothing to transform: --train_key is empty"):
        job(landed, inference_type="endpoint", train_key=None, score_key=None)


@pytest.mark.parametrize("missing", ["--source_bucket", "--destination_bucket", "--inference_type"])
def test_a_required_argument_left_out_is_named(landed: Any, missing: str, capsys) -> None:
    argv = ["transform.py", "--source_bucket", "f", "--destination_bucket", "e", "--inference_type", "batch"]
    at = argv.index(missing)
    with pytest.raises(SystemExit):
        main(argv[:at] + argv[at + 2 :], s3=landed)
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err


def test_run_s3_leaves_out_arguments_at_the_jobs_defaults(landed: Any) -> None:
    """`mlops local-run` calls run_s3 with the workflow's arguments, which leave out the shaping ones at their
    defaults, as Glue fills them in: the byo layout, one score part, no holdout, one train part."""
    result = transform.run_s3(
        landed,
        source_bucket=FEATURES_BUCKET,
        train_key=TRAIN_KEY,
        score_key=SCORE_KEY,
        destination_bucket=EXTRACTS_BUCKET,
        inference_type="batch",
    )
    assert result == dict.fromkeys(OUTPUTS, "written")
    assert body(landed, "train/train.csv").startswith(b"EmployeeNumber,Attrition,Age,")


def test_inside_glue_the_resolver_is_asked_only_for_arguments_that_were_passed(monkeypatch) -> None:
    """awsglue cannot be installed outside Glue; this stand-in fails like getResolvedOptions on a missing name."""
    asked = []

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        asked.extend(names)
        missing = [n for n in names if f"--{n}" not in argv]
        if missing:
            raise SystemExit(f"error: the following arguments are required: {missing}")
        return {n: argv[argv.index(f"--{n}") + 1] for n in names}

    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    argv = [
        "script.py",
        "--JOB_ID",
        "j_1",
        "--source_bucket",
        "f",
        "--destination_bucket",
        "e",
        "--train_key",
        "data/train/a.csv",
        "--inference_type",
        "endpoint",
    ]
    resolved = transform.resolve_arguments(argv)
    assert resolved == {
        "source_bucket": "f",
        "destination_bucket": "e",
        "train_key": "data/train/a.csv",
        "inference_type": "endpoint",
        "score_key": "",
        "output_layout": "byo",
        "score_parts": "1",
        "validation": "false",
        "train_parts": "1",
    }
    assert not {"score_key", "output_layout", "score_parts", "validation", "train_parts"} & set(asked)
    # A scoring-only run passes no train key: it resolves to the empty key, and the score key to the one given.
    scoring = [*argv[:7], "--score_key", "data/score/b.csv", "--inference_type", "batch"]
    assert transform.resolve_arguments(scoring) == {
        **resolved,
        "train_key": "",
        "score_key": "data/score/b.csv",
        "inference_type": "batch",
    }

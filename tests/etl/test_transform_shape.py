"""Shaping the extract set for its readers: score parts for Batch Transform's instances, a validation holdout.

Both work on the written local files (so the Spark script goes through them too) and are published with the
set: a set with fewer parts, or without a holdout, removes what the previous set had there.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from etl import transform
from mlops_component import layout
from tests.etl.stores import EXTRACTS_BUCKET, SCORE_KEY, TRAIN_KEY, body, land, objects
from tests.etl.test_transform_s3 import job

PARTS = [f"score/part-{n:05d}.csv" for n in range(3)]


def lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def test_the_keys_are_the_layouts() -> None:
    """The script is uploaded alone, so it spells the keys itself; they must be the layout's."""
    assert (
        transform.SCORE_PART_KEY == layout.SCORE_PART_KEY
        and transform.VALIDATION_KEY == layout.VALIDATION_KEY
    )
    assert transform.SCORE_KEY == layout.SCORE_EXTRACT_KEY
    replaced = {folder for folders in transform.REPLACED_FOLDERS.values() for folder in folders}
    assert replaced == {
        layout.TRAIN_CHANNEL_PREFIX,
        layout.VALIDATION_CHANNEL_PREFIX,
        layout.SCORE_EXTRACT_PREFIX,
    }
    assert replaced <= set(layout.EXTRACT_PREFIXES)  # the ETL role may list and delete there


# --- Score parts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows,parts", [(750, 3), (10, 3), (2, 5), (1, 1), (7, 7)])
def test_parts_are_the_file_in_order_with_rows_spread_evenly(tmp_path: Path, rows: int, parts: int) -> None:
    source = tmp_path / "score.csv"
    source.write_bytes(b"".join(b"%d,%d.5,x\n" % (n + 1, n * 7) for n in range(rows)))
    written = transform.split_score_parts(str(source), parts)
    assert [Path(p).name for p in written] == [f"part-{n:05d}.csv" for n in range(min(parts, rows))]
    contents = [Path(p).read_bytes() for p in written]
    assert b"".join(contents) == source.read_bytes()
    sizes = [len(lines(c)) for c in contents]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_a_last_line_without_a_newline_and_blocks_smaller_than_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(transform, "_READ_BLOCK", 7)  # boundaries fall inside blocks and across them
    source = tmp_path / "score.csv"
    source.write_bytes(b"1,a\n22,bb\n333,ccc\n4444,dddd")
    written = transform.split_score_parts(str(source), 3)
    assert [Path(p).read_bytes() for p in written] == [b"1,a\n", b"22,bb\n", b"333,ccc\n4444,dddd"]


# --- The validation holdout --------------------------------------------------------------------------------------


def records(labels: str) -> list[bytes]:
    return [b"%s,%d,%d" % (label.encode(), n, n % 13) for n, label in enumerate(labels)]


def test_the_holdout_is_a_fifth_of_each_label_and_the_same_every_time() -> None:
    data = records("0" * 837 + "1" * 163)
    held = transform.holdout_rows(data)
    by_label = collections.Counter(r.partition(b",")[0] for r, h in zip(data, held, strict=True) if h)
    assert by_label == {b"0": 167, b"1": 33}  # round(837 / 5), round(163 / 5)
    assert (transform.holdout_rows(list(data)) == held).all()
    # Each row's side depends on its bytes, not on its position: reordering moves no row across.
    reordered = data[::-1]
    assert (transform.holdout_rows(reordered)[::-1] == held).all()


def test_small_labels_keep_at_least_one_row_each_side_and_too_few_rows_fail(tmp_path: Path) -> None:
    held = transform.holdout_rows(records("0001"))
    assert held.tolist().count(True) == 1 and not held[3]  # a label with one row stays in training
    train = tmp_path / "train.csv"
    train.write_bytes(b"1,5,6\n0,7,8\n")
    with pytest.raises(transform.TransformError, match="2 rows are too few for a validation holdout"):
        transform.split_validation(str(train), str(tmp_path / "validation.csv"), "builtin")
    assert train.read_bytes() == b"1,5,6\n0,7,8\n" and not (tmp_path / "validation.csv").exists()


def test_both_layouts_hold_out_the_same_rows_and_keep_their_format(tmp_path: Path, raw) -> None:
    split: dict[str, tuple[list[bytes], list[bytes]]] = {}
    for output_layout in transform.LAYOUTS:
        folder = tmp_path / output_layout
        train = transform.run_local(str(folder), str(raw.train), layout=output_layout)[transform.TRAIN_KEY]
        original = lines(Path(train).read_bytes())
        held, kept = transform.split_validation(train, str(folder / "validation.csv"), output_layout)
        train_lines = lines(Path(train).read_bytes())
        validation_lines = lines((folder / "validation.csv").read_bytes())
        if output_layout == "byo":
            assert train_lines[0] == validation_lines[0] == original[0]  # the header, in both
            original, train_lines, validation_lines = original[1:], train_lines[1:], validation_lines[1:]
        assert (held, kept) == (len(validation_lines), len(train_lines))
        assert sorted(train_lines + validation_lines) == sorted(original)
        assert abs(held - round(len(original) * transform.VALIDATION_FRACTION)) <= 2
        # Without the byo id, the rows are the same records.
        split[output_layout] = tuple(
            [line.split(b",", 1)[1] if output_layout == "byo" else line for line in part]
            for part in (train_lines, validation_lines)
        )
    assert split["byo"] == split["builtin"]
    assert split["builtin"][1][0].split(b",")[0] in (b"0", b"1")  # label first, no header, no id


# --- The job on moto ---------------------------------------------------------------------------------------------


@pytest.fixture
def landed(s3: Any, raw) -> Any:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    return s3


def test_three_instances_get_three_parts_that_are_the_one_file_in_order(landed: Any) -> None:
    job(landed)
    single = body(landed, "score/score.csv")
    result = job(landed, extra=("--score_parts", "3"))
    assert {key: result[key] for key in PARTS} == dict.fromkeys(PARTS, "written")
    assert result["score/score.csv"] == "removed" and result["train/train.csv"] == "unchanged"
    assert sorted(k for k in objects(landed, EXTRACTS_BUCKET) if k.startswith("score/")) == PARTS
    assert b"".join(body(landed, key) for key in PARTS) == single
    assert all(len(lines(body(landed, key))) in (250,) for key in PARTS)  # 750 scoring rows


def test_fewer_parts_remove_the_parts_of_the_set_before(landed: Any) -> None:
    job(landed, extra=("--score_parts", "3"))
    result = job(landed, extra=("--score_parts", "2"))
    assert result[PARTS[2]] == "removed"
    assert sorted(k for k in objects(landed, EXTRACTS_BUCKET) if k.startswith("score/")) == PARTS[:2]
    result = job(landed)
    assert result["score/score.csv"] == "written" and result[PARTS[0]] == result[PARTS[1]] == "removed"
    assert [k for k in objects(landed, EXTRACTS_BUCKET) if k.startswith("score/")] == ["score/score.csv"]


def test_an_object_the_job_did_not_write_stops_it_before_anything_changes(landed: Any) -> None:
    job(landed)
    landed.put_object(Bucket=EXTRACTS_BUCKET, Key="score/mine.csv", Body=b"1,2\n")
    before = objects(landed, EXTRACTS_BUCKET)
    with pytest.raises(SystemExit) as stopped:
        job(landed, extra=("--score_parts", "3"))
    assert str(stopped.value) == (
        f"transform failed: s3://{EXTRACTS_BUCKET}/score/mine.csv is not an extract this job writes, and the jobs "
        "that read score/ read every object in it; move it out of the extracts store"
    )
    assert objects(landed, EXTRACTS_BUCKET) == before


def test_the_validation_holdout_is_published_with_its_train_set_and_removed_with_it(landed: Any) -> None:
    job(landed, layout="builtin")
    everything = lines(body(landed, "train/train.csv"))
    result = job(landed, layout="builtin", extra=("--validation", "true"))
    assert result["validation/validation.csv"] == "written" and result["train/train.csv"] == "written"
    train, validation = (
        lines(body(landed, "train/train.csv")),
        lines(body(landed, "validation/validation.csv")),
    )
    assert sorted(train + validation) == sorted(everything)
    assert len(validation) == pytest.approx(0.2 * len(everything), abs=2)
    assert job(landed, layout="builtin", extra=("--validation", "true")) == dict.fromkeys(
        ["train/train.csv", "score/score.csv", "validation/validation.csv", "schema/columns.json"],
        "unchanged",
    )
    result = job(landed, layout="builtin")
    assert result["validation/validation.csv"] == "removed"
    assert "validation/validation.csv" not in objects(landed, EXTRACTS_BUCKET)
    assert lines(body(landed, "train/train.csv")) == everything


@pytest.mark.parametrize(
    "argument,value,message",
    [
        ("--score_parts", "0", "--score_parts must be a whole number of at least 1, not '0'"),
        ("--score_parts", "three", "--score_parts must be a whole number of at least 1, not 'three'"),
        ("--validation", "yes", "--validation must be true or false, not 'yes'"),
        ("--train_parts", "0", "--train_parts must be a whole number of at least 1, not '0'"),
        ("--train_parts", "-2", "--train_parts must be a whole number of at least 1, not '-2'"),
        ("--train_parts", "2.5", "--train_parts must be a whole number of at least 1, not '2.5'"),
    ],
)
def test_bad_shaping_arguments_are_one_line(landed: Any, argument: str, value: str, message: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        job(landed, extra=(argument, value))
    assert str(stopped.value) == f"transform failed: {message}"
    assert objects(landed, EXTRACTS_BUCKET) == {}


# --- Train parts: one per training instance of a ShardedByS3Key channel -------------------------------------------

TRAIN_PARTS = [f"train/part-{n:05d}.csv" for n in range(3)]


def train_rows(labels: str, *, header: bool) -> bytes:
    """A train extract: id, label, two features (byo, with a header) or label, features (builtin)."""
    rows = [
        (b"%d,%s,%d,%d\n" if header else b"%s,%d,%d\n") % _fields(n, label, header)
        for n, label in enumerate(labels)
    ]
    return (b"EmployeeNumber,Attrition,a,b\n" if header else b"") + b"".join(rows)


def _fields(n: int, label: str, header: bool) -> tuple[Any, ...]:
    return (n + 1, label.encode(), n * 3, n % 7) if header else (label.encode(), n * 3, n % 7)


@pytest.mark.parametrize("output_layout", transform.LAYOUTS)
@pytest.mark.parametrize(
    "labels,parts", [("0" * 80 + "1" * 17, 3), ("01" * 5, 4), ("1" + "0" * 6, 7), ("0011", 2)]
)
def test_train_parts_deal_every_row_once_balanced_per_label(
    tmp_path: Path, output_layout: str, labels: str, parts: int
) -> None:
    header = output_layout == "byo"
    source = tmp_path / "train.csv"
    source.write_bytes(train_rows(labels, header=header))
    original = lines(source.read_bytes())
    written = transform.split_train_parts(str(source), parts, output_layout)
    assert [Path(p).name for p in written] == [f"train-part-{n:05d}.csv" for n in range(parts)]
    contents = [lines(Path(p).read_bytes()) for p in written]
    if header:  # every part is a complete byo extract: the header first
        assert all(part[0] == original[0] for part in contents)
        original, contents = original[1:], [part[1:] for part in contents]
    dealt = [row for part in contents for row in part]
    assert sorted(dealt) == sorted(original)  # no row lost, none twice
    for part in contents:  # each part keeps the file's order
        assert part == [row for row in original if row in part]
    label_of = (lambda row: row.split(b",")[1]) if header else (lambda row: row.split(b",")[0])
    for wanted in (None, b"0", b"1"):  # part sizes, and each label's rows per part, differ by at most one
        sizes = [sum(1 for row in part if wanted in (None, label_of(row))) for part in contents]
        assert max(sizes) - min(sizes) <= 1, (wanted, sizes)
    assert min(len(part) for part in contents) >= 1


def test_train_parts_need_a_row_per_part_and_leave_nothing_behind(tmp_path: Path) -> None:
    source = tmp_path / "train.csv"
    source.write_bytes(train_rows("01", header=True))
    with pytest.raises(
        transform.TransformError,
        match=r"^train file: 2 rows are too few for --train_parts 3; every training instance needs a part of at "
        r"least one row$",
    ):
        transform.split_train_parts(str(source), 3, "byo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]


def test_three_training_instances_get_three_parts_after_the_holdout(landed: Any) -> None:
    job(landed, extra=("--validation", "true"))
    single = lines(body(landed, "train/train.csv"))
    validation = body(landed, "validation/validation.csv")
    result = job(landed, extra=("--validation", "true", "--train_parts", "3"))
    assert {key: result[key] for key in TRAIN_PARTS} == dict.fromkeys(TRAIN_PARTS, "written")
    assert result["train/train.csv"] == "removed" and result["validation/validation.csv"] == "unchanged"
    assert sorted(k for k in objects(landed, EXTRACTS_BUCKET) if k.startswith("train/")) == TRAIN_PARTS
    parts = [lines(body(landed, key)) for key in TRAIN_PARTS]
    assert all(part[0] == single[0] for part in parts)  # each part has the byo header
    assert sorted(row for part in parts for row in part[1:]) == sorted(single[1:])
    assert body(landed, "validation/validation.csv") == validation  # the holdout does not depend on the parts
    ids = [row.split(b",")[0] for part in parts for row in part[1:]]
    assert len(ids) == len(set(ids)) == len(single) - 1
    # Back to one instance: the parts go, the single file comes back.
    result = job(landed, extra=("--validation", "true"))
    assert result["train/train.csv"] == "written" and all(result[key] == "removed" for key in TRAIN_PARTS)
    assert [k for k in objects(landed, EXTRACTS_BUCKET) if k.startswith("train/")] == ["train/train.csv"]


def test_more_train_parts_than_rows_stop_the_job_before_anything_changes(landed: Any) -> None:
    job(landed)
    before = objects(landed, EXTRACTS_BUCKET)
    with pytest.raises(SystemExit) as stopped:
        job(landed, extra=("--train_parts", "3001"))
    assert str(stopped.value) == (
        "transform failed: train file: 3000 rows are too few for --train_parts 3001; every training instance "
        "needs a part of at least one row"
    )
    assert objects(landed, EXTRACTS_BUCKET) == before


@pytest.mark.parametrize("argument", ["score_parts", "train_parts"])
@pytest.mark.parametrize("count", [0, -1])
def test_shape_extracts_refuses_a_part_count_below_one(tmp_path: Path, argument: str, count: int) -> None:
    """An engine that calls it without the job's argument parsing still gets the job's message."""
    counts = {"score_parts": 1, "train_parts": 1, argument: count}
    with pytest.raises(transform.TransformError, match=f"^--{argument} must be at least 1, not {count}$"):
        transform.shape_extracts({}, layout="byo", validation=False, **counts)

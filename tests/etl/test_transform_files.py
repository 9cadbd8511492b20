"""Streaming files through the transform: chunked output equals a single pass, layouts, BOM, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import transform
from etl.transform import FEATURES, TransformError, run_local, transform_file, write_extract


def single_pass(source: Path, destination: Path, kind: str, layout: str = "byo") -> bytes:
    """The whole file in one DataFrame, through the pure transform and the same writer."""
    frame = pd.read_csv(source)
    out = transform.transform_train(frame) if kind == "train" else transform.transform_score(frame)
    write_extract(out, str(destination), kind, layout)
    return destination.read_bytes()


@pytest.mark.parametrize("block_size", [4096, 50_000, 1 << 24])
@pytest.mark.parametrize(("kind", "layout"), [("train", "byo"), ("train", "builtin"), ("score", "byo")])
def test_chunked_output_is_byte_identical_to_a_single_pass(
    raw, tmp_path: Path, block_size: int, kind: str, layout: str
) -> None:
    source = raw.train if kind == "train" else raw.score
    chunked = tmp_path / "chunked.csv"
    rows = transform_file(str(source), str(chunked), kind, layout=layout, block_size=block_size)
    assert rows == (raw.train_rows if kind == "train" else raw.score_rows)
    assert chunked.read_bytes() == single_pass(source, tmp_path / "whole.csv", kind, layout)


def test_small_blocks_really_stream(raw) -> None:
    chunks = list(transform.read_chunks(str(raw.train), transform.TRAIN_INPUTS, block_size=4096))
    assert len(chunks) > 50
    assert sum(len(c) for c in chunks) == raw.train_rows


def test_train_layouts_follow_the_data_contract(raw, tmp_path: Path) -> None:
    byo, builtin = tmp_path / "byo.csv", tmp_path / "builtin.csv"
    transform_file(str(raw.train), str(byo), "train", layout="byo")
    transform_file(str(raw.train), str(builtin), "train", layout="builtin")

    with_header = pd.read_csv(byo)
    assert list(with_header.columns) == ["EmployeeNumber", "Attrition", *FEATURES]
    assert len(with_header) == raw.train_rows
    assert with_header.EmployeeNumber.tolist() == pd.read_csv(raw.train).EmployeeNumber.tolist()
    assert set(with_header.Attrition) == {0, 1}
    assert byo.read_bytes().startswith(b"EmployeeNumber,Attrition,Age,DistanceFromHome,")

    # Built-in XGBoost: no header and no id; the label comes first.
    bare = pd.read_csv(builtin, header=None)
    assert bare.shape == (raw.train_rows, 1 + 43)
    assert bare.to_numpy().tolist() == with_header.drop(columns="EmployeeNumber").to_numpy().tolist()


def test_score_has_no_header_and_the_id_first(raw, tmp_path: Path) -> None:
    out = tmp_path / "score.csv"
    transform_file(str(raw.score), str(out), "score", layout="builtin")
    frame = pd.read_csv(out, header=None)
    assert frame.shape == (raw.score_rows, 1 + 43)
    assert frame[0].tolist() == pd.read_csv(raw.score).EmployeeNumber.tolist()
    assert out.read_bytes()[:1].isdigit()


@pytest.mark.parametrize(
    ("prefix", "newline"),
    [
        (b"\xef\xbb\xbf", b"\n"),
        (b"", b"\r\n"),
        (b"\xef\xbb\xbf", b"\r\n"),
        (b"", b"\r"),
        (b"\xef\xbb\xbf", b"\r"),
    ],
)
def test_byte_order_mark_and_crlf_give_the_same_output(
    raw, tmp_path: Path, prefix: bytes, newline: bytes
) -> None:
    variant = tmp_path / "variant.csv"
    variant.write_bytes(prefix + raw.train.read_bytes().replace(b"\n", newline))
    assert transform.read_header(str(variant))[0] == "Age"
    plain, other = tmp_path / "plain.out", tmp_path / "variant.out"
    transform_file(str(raw.train), str(plain), "train")
    transform_file(str(variant), str(other), "train", block_size=8192)
    assert other.read_bytes() == plain.read_bytes()


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_a_blank_first_line_is_read_as_an_empty_header(raw, tmp_path: Path, newline: bytes) -> None:
    source = tmp_path / "blank.csv"
    source.write_bytes(newline + raw.train.read_bytes())
    assert transform.read_header(str(source)) == []
    with pytest.raises(TransformError, match=r"^train file: missing required columns: EmployeeNumber, Age, "):
        transform_file(str(source), str(tmp_path / "out.csv"), "train")


def test_a_header_longer_than_a_read_block_is_read_whole(raw, tmp_path: Path) -> None:
    header, body = raw.train.read_bytes().split(b"\n", 1)
    extra = [f"unused_column_{i:05d}".encode() for i in range(5000)]  # about 100 KiB of column names
    source = tmp_path / "wide.csv"
    source.write_bytes(b",".join([header, *extra]) + b"\n" + body.replace(b"\n", b"," * len(extra) + b"\n"))
    assert transform.read_header(str(source)) == header.decode().split(",") + [e.decode() for e in extra]


def test_the_header_is_read_without_reading_the_rest_of_the_file(raw, tmp_path: Path) -> None:
    source = tmp_path / "huge.csv"
    with source.open("wb") as handle:
        handle.write(raw.train.read_bytes())
        handle.truncate(1 << 34)  # 16 GiB, sparse: reading it all would not end within the test's time
    assert transform.read_header(str(source))[0] == "Age"


def test_repeated_ids_are_an_error(raw, tmp_path: Path) -> None:
    lines = raw.score.read_bytes().splitlines(keepends=True)
    source = tmp_path / "dupes.csv"
    source.write_bytes(b"".join([*lines, lines[5]]))
    with pytest.raises(TransformError, match=r"score file: EmployeeNumber must be unique; repeated: \[\d+\]"):
        transform_file(str(source), str(tmp_path / "out.csv"), "score", block_size=4096)


def test_a_file_with_only_a_header_is_an_error(raw, tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes(raw.train.read_bytes().splitlines(keepends=True)[0])
    with pytest.raises(TransformError, match="train file: no data rows"):
        transform_file(str(source), str(tmp_path / "out.csv"), "train")


def test_a_header_that_is_not_utf8_is_an_error(raw, tmp_path: Path) -> None:
    source = tmp_path / "cp1252.csv"  # "Âge" as a Windows-1252 spreadsheet export writes it
    source.write_bytes(raw.train.read_bytes().replace(b"Age,", b"\xc2ge,", 1))
    with pytest.raises(TransformError, match=r"^train file: the header is not UTF-8 text$"):
        transform_file(str(source), str(tmp_path / "out.csv"), "train")


def with_value(raw_file: Path, row: int, column: str, value: str, destination: Path) -> Path:
    """A copy of `raw_file` with `value` in `column` of data row `row` (from 1)."""
    lines = raw_file.read_text().splitlines(keepends=True)
    fields = lines[row].split(",")
    fields[lines[0].rstrip("\n").split(",").index(column)] = value
    lines[row] = ",".join(fields)
    destination.write_text("".join(lines))
    return destination


@pytest.mark.parametrize("column", ["Age", "EmployeeNumber"])
def test_unparseable_values_name_the_column(raw, tmp_path: Path, column: str) -> None:
    source = with_value(raw.train, 3, column, "forty", tmp_path / "bad.csv")
    with pytest.raises(TransformError, match=f"^train file: cannot parse the file: {column}: .*'forty'"):
        transform_file(str(source), str(tmp_path / "out.csv"), "train", block_size=4096)


def test_a_broken_first_row_is_an_error(raw, tmp_path: Path) -> None:
    header, body = raw.train.read_bytes().split(b"\n", 1)
    source = tmp_path / "broken.csv"
    source.write_bytes(header + b'\n"unclosed\n' + body)
    with pytest.raises(
        TransformError,
        match=r"^train file: cannot parse the file: CSV parse error: Expected 35 columns, got 1",
    ):
        transform_file(str(source), str(tmp_path / "out.csv"), "train")


def test_a_row_quoting_a_column_number_is_reported_as_it_is(raw, tmp_path: Path) -> None:
    lines = raw.score.read_text().splitlines(keepends=True)
    source = tmp_path / "quoting.csv"
    source.write_text("".join([lines[0], "column #99,1\n", *lines[1:]]))
    with pytest.raises(
        TransformError, match=r"^score file: cannot parse the file: CSV parse error: .*column #99"
    ):
        transform_file(str(source), str(tmp_path / "out.csv"), "score")


def test_the_default_layout_is_byo_with_a_header(raw, tmp_path: Path) -> None:
    default, byo = tmp_path / "default.csv", tmp_path / "byo.csv"
    transform_file(str(raw.train), str(default), "train")
    transform_file(str(raw.train), str(byo), "train", layout="byo")
    assert default.read_bytes() == byo.read_bytes()
    assert default.read_bytes().startswith(b"EmployeeNumber,Attrition,Age,")
    single = tmp_path / "single.csv"
    write_extract(transform.transform_train(pd.read_csv(raw.train)), str(single), "train")
    assert single.read_bytes() == byo.read_bytes()


def test_a_text_value_is_quoted_as_the_file_holds_it(raw, tmp_path: Path) -> None:
    source = with_value(raw.train, 3, "BusinessTravel", "N/A", tmp_path / "bad.csv")
    with pytest.raises(
        TransformError, match=r"^train file: BusinessTravel must be one of .*; found \['N/A'\] in 1 row"
    ):
        transform_file(str(source), str(tmp_path / "out.csv"), "train")


def test_columns_the_transform_does_not_read_are_not_parsed(raw, tmp_path: Path) -> None:
    # The raw files carry columns the transform never reads (docs/dataset.md); a stray value there, past the
    # first read block, changes nothing.
    source = with_value(raw.train, 2000, "DailyRate", "unknown", tmp_path / "stray.csv")
    clean, stray = tmp_path / "clean.out", tmp_path / "stray.out"
    transform_file(str(raw.train), str(clean), "train", block_size=4096)
    transform_file(str(source), str(stray), "train", block_size=4096)
    assert stray.read_bytes() == clean.read_bytes()


def test_a_row_with_missing_fields_is_an_error(raw, tmp_path: Path) -> None:
    lines = raw.score.read_text().splitlines(keepends=True)
    source = tmp_path / "short.csv"
    source.write_text("".join([*lines[:10], lines[10].split(",", 1)[1], *lines[11:]]))
    with pytest.raises(
        TransformError, match=r"score file: cannot parse the file: .*Expected 34 columns, got 33"
    ):
        transform_file(str(source), str(tmp_path / "out.csv"), "score", block_size=4096)


def test_header_names_must_match_exactly(raw, tmp_path: Path) -> None:
    source = tmp_path / "spaced.csv"
    source.write_text(raw.score.read_text().replace("Age,", "Age ,", 1))
    with pytest.raises(TransformError, match=r"score file: missing required columns: Age$"):
        transform_file(str(source), str(tmp_path / "out.csv"), "score")


def test_values_outside_their_domain_name_the_rows_of_the_file_and_nothing_is_written(
    raw, tmp_path: Path
) -> None:
    lines = raw.train.read_text().splitlines(keepends=True)
    column = lines[0].rstrip().split(",").index("Education")
    for row in (1500, 2800):  # data rows, in later chunks of the file
        fields = lines[row].split(",")
        fields[column] = "99"
        lines[row] = ",".join(fields)
    source = tmp_path / "train.csv"
    source.write_text("".join(lines))
    out = tmp_path / "out"
    with pytest.raises(TransformError) as raised:
        run_local(str(out), str(source), str(raw.score), block_size=8192)
    assert str(raised.value) == (
        "train file: values outside the domains of docs/dataset.md: Education must be from 1 to 5; found [99] "
        "in rows [1500]"
    )
    assert list(out.rglob("*")) == []


def test_run_local_writes_all_three_outputs(raw, tmp_path: Path) -> None:
    written = run_local(str(tmp_path / "out"), str(raw.train), str(raw.score))
    assert set(written) == {"train/train.csv", "score/score.csv", "schema/columns.json"}
    schema = json.loads(Path(written["schema/columns.json"]).read_text())
    assert schema == {"id": "EmployeeNumber", "label": "Attrition", "features": list(FEATURES)}
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_run_local_into_a_folder_holding_a_set_replaces_it(raw, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_local(str(out), str(raw.train), str(raw.score))
    shorter = tmp_path / "score.csv"
    shorter.write_text("".join(raw.score.read_text().splitlines(keepends=True)[:11]))
    written = run_local(str(out), str(raw.train), str(shorter))
    assert len(Path(written["score/score.csv"]).read_text().splitlines()) == 10
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()) == sorted(written)


def test_run_local_stages_in_a_hidden_folder_of_the_output_folder(raw, tmp_path: Path, monkeypatch) -> None:
    """Inside `out_dir`, so that each rename into place is atomic (one filesystem), and under a dot-name, so that
    a reader listing `out_dir` during the run skips it."""
    targets: list[Path] = []
    real = transform.transform_file

    def spy(source: str, target: str, *args, **kwargs) -> int:
        targets.append(Path(target))
        return real(source, target, *args, **kwargs)

    monkeypatch.setattr(transform, "transform_file", spy)
    out = tmp_path / "out"
    run_local(str(out), str(raw.train), str(raw.score))
    assert [target.name for target in targets] == ["train.csv", "score.csv"]
    assert all(
        target.parent.parent == out and target.parent.name.startswith(".staging-") for target in targets
    )


def test_run_local_writes_nothing_when_the_score_file_fails(raw, tmp_path: Path) -> None:
    broken = tmp_path / "score.csv"
    broken.write_text(raw.score.read_text().replace("OverTime", "Overtime", 1))
    out = tmp_path / "out"
    with pytest.raises(TransformError, match="score file: missing required columns: OverTime"):
        run_local(str(out), str(raw.train), str(broken))
    assert list(out.rglob("*")) == []


def test_scoring_only_runs_align_to_a_persisted_schema(raw, tmp_path: Path) -> None:
    features = [f for f in FEATURES if not f.startswith("EducationField_")]
    schema = json.dumps(transform.schema_document(features))
    written = run_local(str(tmp_path / "out"), None, str(raw.score), schema_text=schema)
    assert set(written) == {"score/score.csv", "schema/columns.json"}
    assert pd.read_csv(written["score/score.csv"], header=None).shape[1] == 1 + len(features)
    assert json.loads(Path(written["schema/columns.json"]).read_text())["features"] == features


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (None, "needs the training columns"),
        ("not json", "is not JSON"),
        ('{"features": "Age"}', "must hold a 'features' list"),
        ('{"id": "Id", "label": "Attrition", "features": ["Age"]}', "is for id/label Id/Attrition"),
        ('{"id": "EmployeeNumber", "label": "Attrition", "features": ["Bonus"]}', "does not compute"),
    ],
)
def test_bad_schemas_are_refused(raw, tmp_path: Path, schema: str | None, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        run_local(str(tmp_path / "out"), None, str(raw.score), schema_text=schema)


def test_run_local_checks_its_arguments(raw, tmp_path: Path) -> None:
    with pytest.raises(TransformError, match="nothing to transform"):
        run_local(str(tmp_path), None, None)
    with pytest.raises(TransformError, match="output layout must be one of"):
        run_local(str(tmp_path), str(raw.train), layout="parquet")


# --- The extract writer: byte for byte pyarrow's CSV writer --------------------------------------------------------

_NUMERIC_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint64", "float32", "float64"]


def arrow_writer_bytes(frame: pd.DataFrame, columns: list[str]) -> bytes:
    """What pyarrow's own CSV writer writes for these columns (the index as the id), without a header."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    arrays = [pa.array(frame.index.to_numpy() if c == transform.ID else frame[c].to_numpy()) for c in columns]
    sink = io.BytesIO()
    pa_csv.write_csv(
        pa.Table.from_arrays(arrays, names=columns),
        sink,
        write_options=pa_csv.WriteOptions(include_header=False),
    )
    return sink.getvalue()


@given(data=st.data(), rows=st.integers(1, 40), width=st.integers(1, 12))
@settings(max_examples=150, deadline=None)
def test_csv_rows_equal_pyarrows_writer(data, rows: int, width: int) -> None:
    """Any numeric columns: narrow ones (paired into shared words), wide ones, floats, NaN, extremes, big ids."""
    columns = {}
    for number in range(width):
        dtype = np.dtype(data.draw(st.sampled_from(_NUMERIC_DTYPES)))
        if dtype.kind == "f":
            elements = st.floats(width=8 * dtype.itemsize, allow_nan=True, allow_infinity=True)
            pool = data.draw(st.lists(elements, min_size=1, max_size=rows))
        else:
            info = np.iinfo(dtype)
            low = data.draw(st.integers(int(info.min), int(info.max)))
            high = data.draw(
                st.integers(low, min(int(info.max), low + data.draw(st.sampled_from([1, 9, 1 << 20]))))
            )
            pool = data.draw(st.lists(st.integers(low, high), min_size=1, max_size=rows))
        picks = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=rows, max_size=rows))
        columns[f"c{number}"] = np.array([pool[p] for p in picks], dtype=dtype)
    ids = np.array(data.draw(st.lists(st.integers(1, 2**62), min_size=rows, max_size=rows)), dtype=np.int64)
    frame = pd.DataFrame(columns, index=pd.Index(ids, name=transform.ID))
    names = [transform.ID, *columns]
    assert transform.csv_rows(frame, names) == arrow_writer_bytes(frame, names)


def test_csv_rows_equal_pyarrows_writer_on_a_real_extract(raw) -> None:
    frame = transform.transform_train(pd.read_csv(raw.train))
    names = transform.output_columns("train", FEATURES, "byo")
    assert transform.csv_rows(frame, names) == arrow_writer_bytes(frame, names)
    assert transform.csv_rows(frame.iloc[:0], names) == b""


def test_csv_rows_of_a_column_spanning_most_of_int64_build_no_table_of_its_range() -> None:
    """Its text is made per value: a table of every integer between its ends would not fit in memory."""
    frame = pd.DataFrame(
        {"a": np.array([-(2**62), 0, 2**62], dtype=np.int64)}, index=pd.Index([1, 2, 3], name=transform.ID)
    )
    names = [transform.ID, "a"]
    assert transform.csv_rows(frame, names) == arrow_writer_bytes(frame, names)


@pytest.mark.parametrize(
    "values",
    [
        np.array([-128, 127, 0], dtype=np.int8),
        np.array([-(2**15), 2**15 - 1, 0], dtype=np.int16),
        np.array([2**64 - 1, 2**64 - 3, 2**64 - 2], dtype=np.uint64),
    ],
    ids=["int8", "int16", "uint64"],
)
def test_csv_rows_of_columns_at_the_ends_of_their_dtype(values: np.ndarray) -> None:
    """Each value's position in its range is counted in int64, where no difference of two values overflows."""
    frame = pd.DataFrame({"a": values}, index=pd.Index([1, 2, 3], name=transform.ID))
    names = [transform.ID, "a"]
    assert transform.csv_rows(frame, names) == arrow_writer_bytes(frame, names)


def test_csv_rows_refuse_text_columns() -> None:
    frame = pd.DataFrame({"a": ["x"]}, index=pd.Index([1], name=transform.ID))
    with pytest.raises(TypeError, match="numeric columns"):
        transform.csv_rows(frame, [transform.ID, "a"])

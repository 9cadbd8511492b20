"""Request decoding: every accepted CSV/JSON shape, every rejected one, and the fast path agreeing with the reference."""

from __future__ import annotations

import json
import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xgb_model import payload
from xgb_model.model import FeatureSchema
from xgb_model.payload import PayloadError, format_csv, format_id_csv, format_json, parse_csv, parse_json

SCHEMA = FeatureSchema(names=("age", "income", "overtime"), id_column="employee")
EXPECTED = [[30.0, 5000.0, 1.0], [41.0, 7200.5, 0.0]]


def rows_of(body: str | bytes, **kwargs) -> list[list[float]]:
    return parse_csv(body, SCHEMA, **kwargs).features.tolist()


@pytest.mark.parametrize(
    "body",
    [
        "30,5000,1\n41,7200.5,0\n",  # features only
        "7,30,5000,1\n8,41,7200.5,0\n",  # id first (the ETL's score layout)
        "age,income,overtime\n30,5000,1\n41,7200.5,0\n",  # header
        "employee,age,income,overtime\n7,30,5000,1\n8,41,7200.5,0",  # header with id, no final newline
        "income,overtime,age\n5000,1,30\n7200.5,0,41\n",  # header in another order: columns are put back
        "\n30,5000,1\r\n\r\n41,7200.5,0\r\n",  # blank lines and CRLF
        "\ufeff30,5000,1\n41,7200.5,0\n",  # byte order mark
        "30,5000,true\n41,7200.5,False\n",  # booleans, in every spelling pandas also reads as one
        "30,5000,True\n41,7200.5,false\n",
        "30,5000,TRUE\n41,7200.5,FALSE\n",
        "30,5000,1\r41,7200.5,0\r",  # classic Mac OS line ends
        "0,age,income,overtime\n7,30,5000,1\n8,41,7200.5,0\n",  # only the features decide a header, not the id
    ],
)
def test_accepted_csv_shapes(body: str) -> None:
    assert rows_of(body) == EXPECTED
    assert rows_of(body.encode("utf-8")) == EXPECTED


def test_missing_values_are_nan() -> None:
    features = parse_csv("30,,1\n,nan,\n", SCHEMA).features
    assert features.dtype == np.float32
    assert features[0, 0] == 30 and math.isnan(features[0, 1])
    assert np.isnan(features[1]).all()


def test_ids_are_kept_when_asked() -> None:
    decoded = parse_csv("E-7,30,5000,1\nE-8,41,7200.5,0\n", SCHEMA, keep_ids=True)
    assert decoded.ids == ["E-7", "E-8"]
    assert parse_csv("30,5000,1\n", SCHEMA, keep_ids=True).ids is None
    assert parse_csv("E-7,30,5000,1\n", SCHEMA).ids is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "no rows"),
        ("\n\n", "no rows"),
        ("30,5000\n", "line 1 has 2 columns; expected 3 features, or an id followed by 3 features"),
        ("30,5000,1\n41,7200.5\n", "line 2 has 2 columns; expected 3 like line 1"),
        ("30,5000,1\n\n41,7200.5,0,9\n", "line 3 has 4 columns; expected 3 like line 1"),
        ("30,5000,1\n41,abc,0\n", "line 2, column 2: 'abc' is not a number"),
        ('7,30,5000,1\n8,41,"7",0\n', "line 2, column 3: '\"7\"' is not a number"),
        ("30,5000,1\r\n41,abc,0\r\n", "line 2, column 2: 'abc' is not a number"),  # CRLF is one line end
        # A number among the features makes the first row data: its bad value is named, it is no header.
        ("30,abc,yes\n", "line 1, column 2: 'abc' is not a number"),
        ("E-7,30,abc,def\n", "line 1, column 3: 'abc' is not a number"),
        ("30," + "x" * 50 + ",1\n", "column 2: '" + "x" * 40 + "' is not a number"),  # long fields cut to 40
        ("30,inf,1\n", "line 1, column 2: 'inf' is not a finite float32 number"),
        ("30,1" + "0" * 50 + ",1\n", "column 2: '1" + "0" * 39 + "' is not a finite float32 number"),
        ("30,5000,1e39\n41,1e40,0\n", "line 1, column 3: '1e39'"),  # the first of several is named
        ("30,1e39,1\n", "line 1, column 2: '1e39' is not a finite float32 number"),
        ("age,salary,overtime\n30,5000,1\n", "unknown ['salary'], missing ['income']"),
        ("age,income,overtime\n", "header but no data rows"),
        (b"30,5000,\xff\n", "not UTF-8 text (byte 8)"),
    ],
)
@pytest.mark.filterwarnings("error")  # and nothing else: a warning per request would flood the server's log
def test_rejected_csv_names_the_problem(body: str | bytes, message: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_csv(body, SCHEMA)
    assert message in str(raised.value)


def test_line_numbers_can_be_offset_for_slices_of_a_file() -> None:
    with pytest.raises(PayloadError, match="line 102, column 1"):
        parse_csv("30,5000,1\nx,1,1\n", SCHEMA, line_offset=100)


def test_a_header_error_names_five_features_then_says_there_are_more() -> None:
    def message(header: str) -> str:
        names = header.split(",")
        schema = FeatureSchema(names=tuple(f"f{i}" for i in range(len(names))))
        with pytest.raises(PayloadError) as raised:
            parse_csv(header + "\n" + ",".join("1" * len(names)) + "\n", schema)
        return str(raised.value)

    assert "unknown ['a', 'b', 'c', 'd', 'e'], missing ['f0', 'f1', 'f2', 'f3', 'f4']" in message("a,b,c,d,e")
    assert "unknown ['a', 'b', 'c', 'd', 'e'] and more, missing ['f0', 'f1', 'f2', 'f3', 'f4'] and more" in (
        message("a,b,c,d,e,g")
    )


def test_a_header_is_only_recognised_where_allowed() -> None:
    with pytest.raises(PayloadError, match="line 1, column 1: 'age' is not a number"):
        parse_csv("age,income,overtime\n30,5000,1\n", SCHEMA, allow_header=False)


def big_body(rows: int, *, with_id: bool, with_missing: bool = False) -> str:
    rng = np.random.default_rng(rows)
    values = rng.integers(0, 100, (rows, 3)).astype(str)
    if with_missing:
        values[rng.random((rows, 3)) < 0.01] = ""
    lines = [(f"{i}," if with_id else "") + ",".join(row) for i, row in enumerate(values)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("with_id", "with_missing", "with_blank_lines"),
    [(True, False, False), (False, False, False), (False, True, False), (False, False, True)],
)
def test_large_bodies_take_the_fast_path_and_agree(
    with_id: bool, with_missing: bool, with_blank_lines: bool
) -> None:
    body = big_body(20_000, with_id=with_id, with_missing=with_missing)
    if with_blank_lines:
        body = body.replace("\n", "\n\n")
    assert len(body) > payload.PANDAS_MIN_CHARS
    with mock.patch.object(payload, "_parse_lines", wraps=payload._parse_lines) as reference:
        fast = parse_csv(body, SCHEMA, keep_ids=True)
    assert reference.call_count == 0  # pandas answered
    assert np.isnan(fast.features).any() == with_missing
    with mock.patch.object(payload, "PANDAS_MIN_CHARS", 10**12):
        slow = parse_csv(body, SCHEMA, keep_ids=True)
    np.testing.assert_array_equal(fast.features, slow.features)
    assert fast.ids == slow.ids


def test_large_bodies_round_big_integers_as_small_ones_do() -> None:
    # Straight from int64, float32 rounds this up; through float64 (Python's float(), the reference) down.
    big = 2**54 + 2**30 + 1
    body = big_body(20_000, with_id=False) + f"{big},1,1\n"
    fast = parse_csv(body, SCHEMA)
    with mock.patch.object(payload, "PANDAS_MIN_CHARS", 10**12):
        slow = parse_csv(body, SCHEMA)
    assert fast.features[-1, 0] == slow.features[-1, 0] == np.float32(float(big))


def test_the_reference_parser_answers_when_pandas_overflows() -> None:
    body = big_body(20_000, with_id=False)
    with mock.patch.object(payload.pd, "read_csv", side_effect=OverflowError("int too big to convert")):
        answered = parse_csv(body, SCHEMA)
    with mock.patch.object(payload, "PANDAS_MIN_CHARS", 10**12):
        np.testing.assert_array_equal(answered.features, parse_csv(body, SCHEMA).features)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda lines: lines.__setitem__(5000, "1,2"),
            "line 5001 has 2 columns",
        ),  # short row: pandas pads it
        (lambda lines: lines.__setitem__(7000, "1,2,3,4,5"), "line 7001 has 5 columns"),
        (lambda lines: lines.__setitem__(9000, "1,x,3"), "line 9001, column 2: 'x'"),
        (lambda lines: lines.__setitem__(9000, "1,inf,3"), "line 9001, column 2: 'inf'"),
        (lambda lines: lines.__setitem__(9000, "1,1e39,3"), "line 9001, column 2: '1e39'"),  # beyond float32
    ],
)
@pytest.mark.filterwarnings("error")
def test_large_bodies_report_errors_like_small_ones(damage, message: str) -> None:
    lines = big_body(10_000, with_id=False).split("\n")
    damage(lines)
    with pytest.raises(PayloadError, match=message):
        parse_csv("\n".join(lines), SCHEMA)


# Fields the tests draw from: mostly numbers, some missing values and booleans, a few things that are not
# numbers; rows mostly of one valid width (with or without an id), sometimes one of another width.
NUMBERS = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.6g}"),
)
SPECIALS = st.sampled_from(
    ["", "nan", "NaN", "true", "False", "inf", "-inf", "1e39", "abc", "1.5.2", " 7", "0x1", '"3"']
)
FIELDS = st.integers(0, 19).flatmap(lambda k: SPECIALS if k == 0 else NUMBERS)


@st.composite
def csv_rows(draw: st.DrawFn) -> list[list[str]]:
    width = draw(st.sampled_from([3, 4]))
    rows = draw(st.lists(st.lists(FIELDS, min_size=width, max_size=width), min_size=1, max_size=25))
    if draw(st.integers(0, 4)) == 0:
        rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(FIELDS, min_size=1, max_size=6)))
    return rows


@settings(max_examples=400, deadline=None)
@given(rows=csv_rows(), blank_every=st.integers(0, 7), crlf=st.booleans())
def test_fast_path_and_reference_parser_always_agree(
    rows: list[list[str]], blank_every: int, crlf: bool
) -> None:
    lines = [",".join(row) for row in rows]
    if blank_every:
        lines = [line if i % blank_every else "" for i, line in enumerate(lines, 1)] + lines
    body = ("\r\n" if crlf else "\n").join(lines)
    outcomes = []
    for threshold in (0, 10**12):  # 0: pandas for every body; huge: the reference parser only
        with mock.patch.object(payload, "PANDAS_MIN_CHARS", threshold):
            try:
                decoded = parse_csv(body, SCHEMA, keep_ids=True)
                outcomes.append(("rows", decoded.features.tobytes(), decoded.features.shape, decoded.ids))
            except PayloadError as error:
                outcomes.append(("error", str(error)))
    assert outcomes[0] == outcomes[1]


# --- JSON ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "document",
    [
        [[30, 5000, 1], [41, 7200.5, 0]],
        {"instances": [[30, 5000, 1], [41, 7200.5, 0]]},
        {"instances": [["E-7", 30, 5000, 1], ["E-8", 41, 7200.5, 0]]},
        {
            "instances": [
                {"age": 30, "income": 5000, "overtime": 1},
                {"overtime": 0, "income": 7200.5, "age": 41},
            ]
        },
    ],
)
def test_accepted_json_shapes(document) -> None:
    assert parse_json(json.dumps(document), SCHEMA).features.tolist() == EXPECTED


def test_json_absent_or_null_features_are_missing_and_ids_are_kept() -> None:
    decoded = parse_json(
        json.dumps({"instances": [{"employee": "E-7", "age": 30, "income": None}]}), SCHEMA, keep_ids=True
    )
    assert decoded.ids == ["E-7"]
    assert parse_json('[["E-7", 30, 5000, 1]]', SCHEMA).ids is None  # kept only when asked
    assert decoded.features[0, 0] == 30 and np.isnan(decoded.features[0, 1:]).all()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "not valid JSON"),
        ('{"rows": []}', "expected a list of instances"),
        ("[]", "no instances"),
        ("[[1, 2]]", "instance 0 has 2 values"),
        ('[[1, 2, "x"]]', "instance 0, feature 'overtime': 'x' is not a number"),
        ("[[1, 2, true]]", "instance 0, feature 'overtime': True is not a number"),
        ('[{"age": 1, "salary": 2}]', "instance 0 has unknown features ['salary']"),
        ("[[1, 2, 3], 4]", "instance 1 must be a list of values or an object"),
        ("[[1, 2, 1e39]]", "not a finite float32 number"),
        ("[[1, 2, 3], [1, 1e39, 3], [1e39, 2, 3]]", "instance 1, feature 'income': not a finite"),
        ('[[1, 2, "' + "x" * 50 + '"]]', "'overtime': '" + "x" * 40 + "' is not a number"),
        ('[["E-7", 1, 2, 3], [1, 2, 3]]', "either every instance has an id or none has"),
        ("[[1, 2, " + "9" * 400 + "]]", "instance 0, feature 'overtime': not a finite float32 number"),
        ('[{"age": -' + "9" * 400 + "}]", "instance 0, feature 'age': not a finite float32 number"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"instances": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ('[[["E", "7"], 1, 2, 3]]', "instance 0: the id must be a string or a number, not a list"),
        ('[{"employee": {"a": 1}}]', "instance 0: the id must be a string or a number, not an object"),
    ],
)
@pytest.mark.filterwarnings("error")
def test_rejected_json_names_the_problem(body: str, message: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_json(body, SCHEMA, keep_ids=True)
    assert message in str(raised.value)


# --- Responses ----------------------------------------------------------------------------------------------
def test_csv_response_has_one_line_per_row_in_order() -> None:
    probabilities = np.array([0.25, 0.123456789, 1e-9], dtype=np.float32)
    text = format_csv(probabilities)
    assert text.endswith("\n") and len(text.splitlines()) == 3
    assert [float(v) for v in text.splitlines()] == pytest.approx(probabilities.tolist(), rel=1e-6)


def test_explained_csv_lines_hold_probability_contributions_and_bias() -> None:
    probabilities = np.array([0.5, 0.25], dtype=np.float32)
    contributions = np.arange(8, dtype=np.float32).reshape(2, 4)  # 3 features + bias
    lines = format_csv(probabilities, contributions).splitlines()
    assert [list(map(float, line.split(","))) for line in lines] == [[0.5, 0, 1, 2, 3], [0.25, 4, 5, 6, 7]]


def test_json_response_names_the_contributions() -> None:
    document = json.loads(
        format_json(np.array([0.5], dtype=np.float32), SCHEMA, np.array([[1, 2, 3, 4]], dtype=np.float32))
    )
    assert document == {
        "predictions": [0.5],
        "contribution_names": ["age", "income", "overtime", "bias"],
        "contributions": [[1.0, 2.0, 3.0, 4.0]],
    }
    assert json.loads(format_json(np.array([0.5], dtype=np.float32), SCHEMA)) == {"predictions": [0.5]}


def test_id_response_pairs_each_id_with_its_probability() -> None:
    assert format_id_csv(["E-7", "E-8"], np.array([0.5, 0.25], dtype=np.float32)) == "E-7,0.5\nE-8,0.25\n"
    with pytest.raises(ValueError):  # never a file that silently lacks rows
        format_id_csv(["E-7", "E-8"], np.array([0.5], dtype=np.float32))

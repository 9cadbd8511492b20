"""The training channel reader: the plain reader (no pandas) must agree with the pandas reader it stands in for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xgb_model import data
from xgb_model.data import DataError

from tests.container.conftest import CONTAINER_DIR
from tests.container.synthetic import write_train_csv

HEADER = ["id", "label", "a", "b", "c"]

# Feature fields: plain decimals of every length around the plain reader's 15-character limit, and the forms it
# must leave to pandas (negative zeros, exponents, words, spaces, signs, quotes, and an integer that float32
# rounds differently straight from int64, as pandas converts it, than through float64).
plain_numbers = st.builds(
    lambda sign, digits, point: (
        sign + (digits[:point] + "." + digits[point:] if point is not None else digits)
    ),
    st.sampled_from(["", "-"]),
    st.text("0123456789", min_size=1, max_size=18),
    st.one_of(st.none(), st.integers(0, 18)),
)
odd_fields = st.sampled_from(
    [
        "",
        "-0",
        "-0.0",
        "-.0",
        "0.",
        ".5",
        "-.5",
        "1e3",
        "inf",
        "nan",
        "NaN",
        " 1",
        "1 ",
        "+1",
        "abc",
        "1,5",
        '"1"',
        ".",
        "1152921573326323713",
        "2.7142857142857144",
        "0.30000000000000004",
        "1.700000000000000177635684",
    ]
)
# And Python's shortest repr of doubles, as the ETL writes its ratios (17 significant digits).
reprs = (
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(repr).filter(lambda text: "e" not in text)
)
features = st.one_of(plain_numbers, odd_fields, plain_numbers, reprs)
labels = st.sampled_from(["0", "1", "0", "1", "", "2", "1.0", "yes"])
ids = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=",\n\r"), max_size=6)
rows = st.lists(st.tuples(ids, labels, features, features, features), min_size=0, max_size=12)


def _read_with_pandas(path: Path) -> tuple[np.ndarray, np.ndarray] | DataError:
    try:
        return data._read_file(path, HEADER)
    except DataError as error:
        return error


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, crlf=st.booleans(), blank_line=st.booleans())
def test_the_plain_reader_agrees_with_pandas_on_every_file_it_accepts(
    tmp_path: Path, rows: list[tuple[str, ...]], crlf: bool, blank_line: bool
) -> None:
    lines = [",".join(HEADER), *(",".join(row) for row in rows)]
    if blank_line:
        lines.insert(len(lines) // 2 + 1, "")
    path = tmp_path / "train.csv"
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode("utf-8"))
    plain = data._read_plain(path, len(HEADER))
    if plain is None:
        return
    expected = _read_with_pandas(path)
    assert not isinstance(expected, DataError), f"pandas rejects what the plain reader accepted: {expected}"
    assert plain[0].dtype == expected[0].dtype and plain[1].dtype == expected[1].dtype
    assert plain[0].shape == expected[0].shape
    # Bit for bit: the same NaNs, the same signed zeros, the same roundings.
    assert plain[0].tobytes() == expected[0].tobytes()
    assert np.array_equal(plain[1], expected[1])


def test_the_plain_reader_reads_the_example_file_and_declines_large_or_unusual_files(
    tmp_path: Path, train_frame, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "train.csv"
    write_train_csv(train_frame, path)
    header = path.read_text().splitlines()[0].split(",")
    plain = data._read_plain(path, len(header))
    assert plain is not None
    expected = data._read_file(path, header)
    assert plain[0].tobytes() == expected[0].tobytes() and np.array_equal(plain[1], expected[1])

    path.write_text("id,label,a\n1,0,2.7142857142857144\n")
    assert data._read_plain(path, 3) is not None  # the ETL's ratios: pandas 3.1 rounds them as float() does
    data._plain_row.cache_clear()
    monkeypatch.setattr(data, "_pandas_rounds_every_decimal", lambda: False)
    assert data._read_plain(path, 3) is None  # an older pandas may not: left to it
    data._plain_row.cache_clear()

    for text in [
        'id,label,a\n1,0,"2"\n',
        "id,label,a\n1,0,-0\n",
        "id,label,a\n1,0,2\r3,1,4\n",
        "id,label,a\n1,0,1e3\n",
    ]:
        path.write_text(text)
        assert data._read_plain(path, 3) is None, text
    path.write_bytes(b"id,label,a\n" + b"1,0,2\n" * (data.PLAIN_MAX_BYTES // 6 + 1))
    assert data._read_plain(path, 3) is None


def test_a_bad_value_in_a_small_file_still_gets_the_pandas_message(tmp_path: Path) -> None:
    path = tmp_path / "train" / "train.csv"
    path.parent.mkdir()
    path.write_text("id,label,a,b\n1,0,2,3\n2,1,x,4\n")
    with pytest.raises(DataError, match=r"train\.csv, line 3, column 'a': 'x' is not a number"):
        data.read_channel(path.parent, "train")


def test_a_trial_reads_its_channel_without_importing_pandas(tmp_path: Path, train_frame) -> None:
    path = tmp_path / "train" / "train.csv"
    write_train_csv(train_frame, path)
    code = (
        "import sys; from pathlib import Path; from xgb_model.data import read_channel; "
        f"read_channel(Path({str(path.parent)!r}), 'train'); print('pandas' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CONTAINER_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == "False"

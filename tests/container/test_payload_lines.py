"""Errors in a CSV body name the line a person sees in their file: after a header, after blank lines."""

from __future__ import annotations

import pytest
from xgb_model.model import FeatureSchema
from xgb_model.payload import PayloadError, parse_csv

SCHEMA = FeatureSchema(names=("age", "income", "overtime"), id_column="employee")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("age,income,overtime\n41,5000,yes\n", "line 2, column 3: 'yes' is not a number"),
        ("\n\n41,5000,yes\n", "line 3, column 3: 'yes' is not a number"),
        ("\nage,income,overtime\n41,5000,1\n41,5000\n", "line 4 has 2 columns; expected 3 like line 3"),
        ("7,41,5000,1\n8,41,5000,1e39\n", "line 2, column 4: '1e39' is not a finite float32 number"),
    ],
)
def test_the_error_names_the_line_and_column_of_the_file(body: str, message: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_csv(body, SCHEMA)
    assert str(raised.value) == message
